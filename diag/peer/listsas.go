package peer

import (
	"bufio"
	"fmt"
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
	Name     string
	State    string // CONNECTING, ESTABLISHED, REKEYING, DELETING ...
	Version  string
	Proposal string
	Children []ChildSA
}

// ChildSA is one CHILD_SA under an IKE SA.
type ChildSA struct {
	Name       string
	State      string // INSTALLED, REKEYED, ...
	Proposal   string // after "ESP:"
	InPackets  int64
	OutPackets int64
}

// ParseListSAs reads `swanctl --list-sas` output; an empty output means no SA (no error).
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
			f := strings.Split(rest, ",")
			sa := IKESA{Name: name}
			if len(f) > 1 {
				sa.State = strings.TrimSpace(f[1])
			}
			if len(f) > 2 {
				sa.Version = strings.TrimSpace(f[2])
			}
			sas = append(sas, sa)
			cur, child = &sas[len(sas)-1], nil
		case cur == nil:
		case indent <= 2 && strings.Contains(trim, ": #"):
			name, rest, _ := strings.Cut(trim, ": #")
			c := ChildSA{Name: name}
			for i, f := range strings.Split(rest, ",") {
				f = strings.TrimSpace(f)
				switch {
				case i == 0, strings.HasPrefix(f, "reqid"):
				case strings.HasPrefix(f, "ESP:"), strings.HasPrefix(f, "AH:"):
					_, c.Proposal, _ = strings.Cut(f, ":")
				case f == strings.ToUpper(f) && c.State == "" && !strings.HasPrefix(f, "TUNNEL") && !strings.HasPrefix(f, "TRANSPORT") && !strings.Contains(f, " "):
					c.State = f
				}
			}
			cur.Children = append(cur.Children, c)
			child = &cur.Children[len(cur.Children)-1]
		case indent <= 2 && strings.Contains(trim, "/") && !strings.Contains(trim, " "):
			cur.Proposal = trim
		case child != nil && (strings.HasPrefix(trim, "in ") || strings.HasPrefix(trim, "out ")):
			n := packets(trim)
			if strings.HasPrefix(trim, "in ") {
				child.InPackets = n
			} else {
				child.OutPackets = n
			}
		}
	}
	if err := sc.Err(); err != nil {
		return sas, fmt.Errorf("swanctl --list-sas: %w", err)
	}
	return sas, nil
}

// packets reads the "N packets" field of an in/out line.
func packets(line string) int64 {
	for _, f := range strings.Split(line, ",") {
		f = strings.TrimSpace(f)
		if n, ok := strings.CutSuffix(f, " packets"); ok {
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
