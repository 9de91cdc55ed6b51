package edge

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// SAStatus is `show service ipsec sa`.
//
// [UNVERIFIED] No public sample of this output exists (docs/nsx-formats.md §1.3). We assume the
// strongSwan `ipsec statusall` "Security Associations" section the 6.4 ESG's charon prints:
//
//	Security Associations (1 up, 0 connecting):
//	         s2s[1]: ESTABLISHED 3 seconds ago, 192.0.2.1[192.0.2.1]...192.0.2.2[192.0.2.2]
//	         s2s[1]: IKEv2 SPIs: 099375f221aecbec_i* 7172077d801d245f_r, rekeying in 3 hours
//	         s2s[1]: IKE proposal: AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048
//	     s2s-net{1}:  INSTALLED, TUNNEL, reqid 1, ESP SPIs: 8db7054e_i c225109e_o
//	     s2s-net{1}:   AES_CBC_256/HMAC_SHA2_256_128, 840 bytes_i (10 pkts, 1s ago), 840 bytes_o (10 pkts, 1s ago), rekeying in 58 minutes
//	     s2s-net{1}:   10.1.1.0/24 === 10.2.2.0/24
//
// The parser reads lines keyed "name[N]:" (IKE SA) and "name{N}:" (child SA) and ignores the
// rest, so a swanctl-like or longer statusall text still parses.
type SAStatus struct {
	Up, Connecting int // from the section header, when present
	IKESAs         []IKESA
}

// IKESA is one IKE SA (a channel).
type IKESA struct {
	Name          string
	ID            int    // the unique id in brackets
	State         string // ESTABLISHED, CONNECTING, REKEYING, DELETING, ...
	Age           string // "3 seconds ago"
	Local, Remote netip.Addr
	LocalID       string
	RemoteID      string
	Version       int    // 1 or 2, 0 if not printed
	InitiatorSPI  string // 16 hex digits
	ResponderSPI  string
	LocalIsInit   bool   // the "*" marks our side
	Rekey         string // "rekeying in 3 hours", "rekeying disabled"
	Proposal      string // "AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"
	Children      []ChildSA
}

// ChildSA is one CHILD_SA (a tunnel's IPsec SA pair).
type ChildSA struct {
	Name       string
	ID         int
	State      string // INSTALLED, REKEYED, ROUTED, ...
	Mode       string // TUNNEL, TRANSPORT
	ReqID      int
	Protocol   string // ESP, AH; "ESP in UDP" for NAT-T
	SPIIn      string // 8 hex digits
	SPIOut     string
	Proposal   string
	BytesIn    int64
	PacketsIn  int64
	BytesOut   int64
	PacketsOut int64
	Rekey      string
	LocalTS    []netip.Prefix
	RemoteTS   []netip.Prefix
}

// Carries reports whether the SA is installed and its selectors hold local on the Edge's side
// and remote on the peer's: the SA a packet between the two travels in.
func (c ChildSA) Carries(local, remote netip.Addr) bool {
	return c.State == "INSTALLED" && holds(c.LocalTS, local) && holds(c.RemoteTS, remote)
}

func holds(ts []netip.Prefix, a netip.Addr) bool {
	for _, p := range ts {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

var (
	saHeader   = regexp.MustCompile(`^Security Associations \((\d+) up, (\d+) connecting\)`)
	saLine     = regexp.MustCompile(`^\s*([^\s\[\]{}]+)([\[{])(\d+)[\]}]:\s*(.*)$`)
	ikeState   = regexp.MustCompile(`^([A-Z_]+)(?: (.+? ago))?, ([^\[\s]+)\[([^\]]*)\]\.\.\.([^\[\s]+)\[([^\]]*)\]`)
	ikeSPIs    = regexp.MustCompile(`^IKEv(\d) SPIs: ([0-9a-f]+)_i(\*?) ([0-9a-f]+)_r(\*?)(?:, (.*))?$`)
	childState = regexp.MustCompile(`^([A-Z_]+), ([A-Z_-]+)(?:, reqid (\d+))?(?:, ([A-Za-z ]+?) SPIs: ([0-9a-f]+)_i(?: \([^)]*\))? ([0-9a-f]+)_o)?`)
	childBytes = regexp.MustCompile(`(\d+) bytes_([io])(?: \((\d+) pkts?)?`)
	childRekey = regexp.MustCompile(`(rekeying (?:in [^,]+|disabled)|expires in [^,]+)`)
)

// ParseSA reads `show service ipsec sa`.
func ParseSA(out string) (*SAStatus, error) {
	const cmd = CmdServiceIPsecSA
	st := &SAStatus{}
	ikeByKey := map[string]int{} // name[N] -> index in st.IKESAs
	var lastIKE = -1
	recognised := false
	for n, line := range lines(out) {
		lineNo := n + 1
		t := strings.TrimSpace(line)
		if m := saHeader.FindStringSubmatch(t); m != nil {
			recognised = true
			st.Up, _ = strconv.Atoi(m[1])
			st.Connecting, _ = strconv.Atoi(m[2])
			continue
		}
		m := saLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name, bracket, rest := m[1], m[2], strings.TrimSpace(m[4])
		id, _ := strconv.Atoi(m[3])
		if bracket == "[" {
			recognised = true
			key := name + "[" + m[3] + "]"
			i, ok := ikeByKey[key]
			if !ok {
				st.IKESAs = append(st.IKESAs, IKESA{Name: name, ID: id})
				i = len(st.IKESAs) - 1
				ikeByKey[key] = i
			}
			lastIKE = i
			if err := parseIKELine(&st.IKESAs[i], rest); err != nil {
				return nil, formatError(cmd, lineNo, "%v", err)
			}
			continue
		}
		if lastIKE < 0 {
			// A child with no IKE SA above it (e.g. a ROUTED trap policy): keep it under a nameless IKE SA.
			st.IKESAs = append(st.IKESAs, IKESA{})
			lastIKE = len(st.IKESAs) - 1
		}
		recognised = true
		ike := &st.IKESAs[lastIKE]
		var ch *ChildSA
		for j := range ike.Children {
			if ike.Children[j].Name == name && ike.Children[j].ID == id {
				ch = &ike.Children[j]
			}
		}
		if ch == nil {
			ike.Children = append(ike.Children, ChildSA{Name: name, ID: id})
			ch = &ike.Children[len(ike.Children)-1]
		}
		if err := parseChildLine(ch, rest); err != nil {
			return nil, formatError(cmd, lineNo, "%v", err)
		}
	}
	if !recognised {
		if e := EdgeError(out); e != "" {
			return nil, formatError(cmd, 0, "edge answered %q", e)
		}
		if strings.TrimSpace(cleanOutput(out)) != "" {
			return nil, formatError(cmd, 0, "no security associations section")
		}
	}
	return st, nil
}

type fieldError string

func (e fieldError) Error() string { return string(e) }

func parseIKELine(ike *IKESA, rest string) error {
	if m := ikeState.FindStringSubmatch(rest); m != nil {
		ike.State, ike.Age = m[1], m[2]
		var err error
		if ike.Local, err = netip.ParseAddr(m[3]); err != nil {
			return fieldError("IKE SA local address " + strconv.Quote(m[3]))
		}
		if ike.Remote, err = netip.ParseAddr(m[5]); err != nil {
			return fieldError("IKE SA remote address " + strconv.Quote(m[5]))
		}
		ike.LocalID, ike.RemoteID = m[4], m[6]
		return nil
	}
	if m := ikeSPIs.FindStringSubmatch(rest); m != nil {
		ike.Version, _ = strconv.Atoi(m[1])
		ike.InitiatorSPI, ike.ResponderSPI = m[2], m[4]
		ike.LocalIsInit = m[3] == "*"
		ike.Rekey = m[6]
		return nil
	}
	if p, ok := strings.CutPrefix(rest, "IKE proposal: "); ok {
		ike.Proposal = p
		return nil
	}
	// Other lines (remote host behind NAT, auth rounds, tasks) are not needed.
	return nil
}

func parseChildLine(ch *ChildSA, rest string) error {
	if m := childState.FindStringSubmatch(rest); m != nil && !strings.Contains(rest, "===") {
		ch.State, ch.Mode = m[1], m[2]
		ch.ReqID, _ = strconv.Atoi(m[3])
		ch.Protocol, ch.SPIIn, ch.SPIOut = m[4], m[5], m[6]
		return nil
	}
	if l, r, ok := strings.Cut(rest, "==="); ok {
		var err error
		if ch.LocalTS, err = parsePrefixes(l); err != nil {
			return err
		}
		ch.RemoteTS, err = parsePrefixes(r)
		return err
	}
	if ms := childBytes.FindAllStringSubmatch(rest, -1); ms != nil {
		if p, _, ok := strings.Cut(rest, ","); ok {
			ch.Proposal = strings.TrimSpace(p)
		}
		for _, m := range ms {
			b, _ := strconv.ParseInt(m[1], 10, 64)
			p, _ := strconv.ParseInt(m[3], 10, 64)
			if m[2] == "i" {
				ch.BytesIn, ch.PacketsIn = b, p
			} else {
				ch.BytesOut, ch.PacketsOut = b, p
			}
		}
		if r := childRekey.FindString(rest); r != "" {
			ch.Rekey = r
		}
	}
	return nil
}

// parsePrefixes reads a space-separated list of traffic selectors; a bare address is a host prefix,
// and a "[proto/port]" suffix is dropped.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Fields(s) {
		f, _, _ = strings.Cut(f, "[")
		if f == "" || f == "dynamic" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fieldError("traffic selector " + strconv.Quote(f))
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	return out, nil
}
