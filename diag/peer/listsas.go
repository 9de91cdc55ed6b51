package peer

import (
	"bufio"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"ipsecbot/diag/interop"
)

// IKESA is one IKE SA of `swanctl --list-sas` (docs.strongswan.org, swanctlListSas):
//
//	s2s: #1, ESTABLISHED, IKEv2, 099375f221aecbec_i* 7172077d801d245f_r
//	  local  '192.0.2.1' @ 192.0.2.1[4500]
//	  remote '192.0.2.2' @ 192.0.2.2[4500]
//	  AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048
//	  established 3s ago, rekeying in 13795s
//	  s2s-net: #1, reqid 1, INSTALLED, TUNNEL-in-UDP, ESP:AES_CBC-256/HMAC_SHA2_256_128
//	    in  8db7054e,    840 bytes,    10 packets,     1s ago
//	    out c225109e,    840 bytes,    10 packets,     1s ago
type IKESA struct {
	Name         string
	ID           int    // the unique id after "#"
	State        string // CONNECTING, ESTABLISHED, REKEYING, DELETING ...
	Version      string
	InitiatorSPI string // 16 hex digits
	ResponderSPI string
	LocalIsInit  bool // the "*" marks this side's SPI
	Local        netip.Addr
	Remote       netip.Addr
	LocalID      string
	RemoteID     string
	Established  int // seconds ago; -1 when not printed
	RekeyIn      int // seconds; -1 when not printed
	Proposal     string
	Children     []ChildSA
}

// ChildSA is one CHILD_SA under an IKE SA.
type ChildSA struct {
	Name       string
	ID         int
	ReqID      int
	State      string // INSTALLED, REKEYED, ...
	Mode       string // TUNNEL, TRANSPORT
	UDPEncap   bool   // "-in-UDP": ESP in UDP (NAT-T)
	Proposal   string // after "ESP:"
	SPIIn      string // 8 hex digits
	SPIOut     string
	InBytes    int64
	InPackets  int64
	OutBytes   int64
	OutPackets int64
	RekeyIn    int // seconds; -1 when not printed
	LocalTS    []netip.Prefix
	RemoteTS   []netip.Prefix
}

// ParseListSAs reads `swanctl --list-sas` output; an empty output means no SA (no error).
// Lines it does not know are skipped, so a newer swanctl that prints more keeps working.
func ParseListSAs(text string) ([]IKESA, error) {
	var sas []IKESA
	var cur *IKESA
	var child *ChildSA
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r ")
		trim := strings.TrimSpace(line)
		if trim == "" {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		switch {
		case indent == 0:
			name, rest, ok := strings.Cut(trim, ": #")
			if !ok {
				continue
			}
			sas = append(sas, ikeHeader(name, rest))
			cur, child = &sas[len(sas)-1], nil
		case cur == nil:
		case indent <= 2 && strings.Contains(trim, ": #"):
			name, rest, _ := strings.Cut(trim, ": #")
			cur.Children = append(cur.Children, childHeader(name, rest))
			child = &cur.Children[len(cur.Children)-1]
		case child == nil && indent <= 2:
			readIKELine(cur, trim)
		case child != nil:
			readChildLine(child, trim)
		}
	}
	if err := sc.Err(); err != nil {
		return sas, fmt.Errorf("swanctl --list-sas: %w", err)
	}
	return sas, nil
}

// ikeHeader reads "1, ESTABLISHED, IKEv2, 099375f221aecbec_i* 7172077d801d245f_r".
func ikeHeader(name, rest string) IKESA {
	sa := IKESA{Name: name, Established: -1, RekeyIn: -1}
	f := strings.Split(rest, ",")
	sa.ID, _ = strconv.Atoi(strings.TrimSpace(f[0]))
	if len(f) > 1 {
		sa.State = strings.TrimSpace(f[1])
	}
	if len(f) > 2 {
		sa.Version = strings.TrimSpace(f[2])
	}
	if len(f) > 3 {
		for _, spi := range strings.Fields(f[3]) {
			ours := strings.HasSuffix(spi, "*")
			spi = strings.TrimSuffix(spi, "*")
			if v, ok := strings.CutSuffix(spi, "_i"); ok {
				sa.InitiatorSPI, sa.LocalIsInit = v, ours
			} else if v, ok := strings.CutSuffix(spi, "_r"); ok {
				sa.ResponderSPI = v
			}
		}
	}
	return sa
}

// childHeader reads "1, reqid 1, INSTALLED, TUNNEL-in-UDP, ESP:AES_CBC-256/HMAC_SHA2_256_128".
func childHeader(name, rest string) ChildSA {
	c := ChildSA{Name: name, RekeyIn: -1}
	for i, f := range strings.Split(rest, ",") {
		f = strings.TrimSpace(f)
		switch {
		case i == 0:
			c.ID, _ = strconv.Atoi(f)
		case strings.HasPrefix(f, "reqid "):
			c.ReqID, _ = strconv.Atoi(strings.TrimPrefix(f, "reqid "))
		case strings.HasPrefix(f, "ESP:"), strings.HasPrefix(f, "AH:"):
			_, c.Proposal, _ = strings.Cut(f, ":")
		case strings.HasPrefix(f, "TUNNEL"), strings.HasPrefix(f, "TRANSPORT"):
			c.Mode, _, _ = strings.Cut(f, "-")
			c.UDPEncap = strings.HasSuffix(f, "-in-UDP")
		case f == strings.ToUpper(f) && c.State == "" && !strings.Contains(f, " "):
			c.State = f
		}
	}
	return c
}

// readIKELine reads a line under an IKE SA header: an endpoint, the age, the proposal.
func readIKELine(sa *IKESA, line string) {
	switch {
	case strings.HasPrefix(line, "local "), strings.HasPrefix(line, "remote "):
		// local  '192.0.2.1' @ 192.0.2.1[4500]
		side, rest, _ := strings.Cut(line, " ")
		id, at, ok := strings.Cut(strings.TrimSpace(rest), " @ ")
		if !ok {
			return
		}
		host, _, _ := strings.Cut(at, "[")
		addr, _ := netip.ParseAddr(host)
		if side == "local" {
			sa.Local, sa.LocalID = addr, strings.Trim(id, "'")
		} else {
			sa.Remote, sa.RemoteID = addr, strings.Trim(id, "'")
		}
	case strings.HasPrefix(line, "established "):
		sa.Established = secondsAfter(line, "established ")
		sa.RekeyIn = secondsAfter(line, "rekeying in ")
	case strings.Contains(line, "/") && !strings.Contains(line, " "):
		sa.Proposal = line
	}
}

// readChildLine reads a line under a CHILD_SA header: its age, traffic or selectors.
func readChildLine(c *ChildSA, line string) {
	switch {
	case strings.HasPrefix(line, "installed "):
		c.RekeyIn = secondsAfter(line, "rekeying in ")
	case strings.HasPrefix(line, "in "), strings.HasPrefix(line, "out "):
		// in  8db7054e,    840 bytes,    10 packets,     1s ago
		dir, rest, _ := strings.Cut(line, " ")
		spi, _, _ := strings.Cut(strings.TrimSpace(rest), ",")
		b, n := count(line, " bytes"), count(line, " packets")
		if dir == "in" {
			c.SPIIn, c.InBytes, c.InPackets = spi, b, n
		} else {
			c.SPIOut, c.OutBytes, c.OutPackets = spi, b, n
		}
	case strings.HasPrefix(line, "local "), strings.HasPrefix(line, "remote "):
		side, rest, _ := strings.Cut(line, " ")
		for _, f := range strings.Fields(rest) {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				continue
			}
			if side == "local" {
				c.LocalTS = append(c.LocalTS, p)
			} else {
				c.RemoteTS = append(c.RemoteTS, p)
			}
		}
	}
}

// secondsAfter reads the number of seconds right after prefix in a line ("rekeying in
// 13795s"); -1 when the line has none.
func secondsAfter(line, prefix string) int {
	_, after, ok := strings.Cut(line, prefix)
	if !ok {
		return -1
	}
	end := strings.IndexFunc(after, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(after)
	}
	n, err := strconv.Atoi(after[:end])
	if err != nil {
		return -1
	}
	return n
}

// count reads the "N<unit>" field of an in/out line ("840 bytes", "10 packets"); 0 when absent.
func count(line, unit string) int64 {
	for _, f := range strings.Split(line, ",") {
		f = strings.TrimSpace(f)
		if n, ok := strings.CutSuffix(f, unit); ok {
			v, _ := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
			return v
		}
	}
	return 0
}

// Negotiated returns the algorithms of the first established SA of the named connection
// (any connection when name is empty) as Settings: what the peer accepted on the wire.
func Negotiated(sas []IKESA, name string) *interop.Settings {
	for _, sa := range sas {
		if (name != "" && sa.Name != name) || sa.State != "ESTABLISHED" || sa.Proposal == "" {
			continue
		}
		s := &interop.Settings{Source: "swanctl --list-sas"}
		s.Encryption, s.Digest, s.DHGroup = interop.ParseProposal(sa.Proposal)
		for _, c := range sa.Children {
			if c.Proposal != "" {
				var pfs []string
				s.ESPEncrypt, s.ESPDigest, pfs = interop.ParseProposal(c.Proposal)
				// A CHILD_SA made inside IKE_AUTH never carries a KE, so the absence of a
				// group says nothing about PFS; only a group seen on the wire does.
				if len(pfs) > 0 {
					on := true
					s.PFS, s.PFSGroup = &on, pfs
				}
				break
			}
		}
		return s
	}
	return nil
}

// Summary says in one line what the SAs are: "1 IKE SA (ESTABLISHED), 1 CHILD SA INSTALLED".
func Summary(sas []IKESA) string {
	if len(sas) == 0 {
		return "no IKE SA"
	}
	var states []string
	children, installed := 0, 0
	for _, sa := range sas {
		states = append(states, sa.State)
		for _, c := range sa.Children {
			children++
			if c.State == "INSTALLED" {
				installed++
			}
		}
	}
	return fmt.Sprintf("%d IKE SA (%s), %d CHILD SA, %d installed", len(sas), strings.Join(states, ", "), children, installed)
}
