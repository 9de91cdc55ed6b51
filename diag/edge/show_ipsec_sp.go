package edge

import (
	"net/netip"
	"strconv"
	"strings"
)

// Policy is one security policy of `show service ipsec sp`.
//
// [UNVERIFIED] No public sample of this output exists (docs/nsx-formats.md §1.3). We assume the
// Linux `ip xfrm policy` text of the ESG's XFRM data plane:
//
//	src 10.1.1.0/24 dst 10.2.2.0/24
//		dir out priority 375423 ptype main
//		tmpl src 192.0.2.1 dst 192.0.2.2
//			proto esp spi 0xc225109e reqid 1 mode tunnel
//
// A policy starts at an unindented "src" line; unknown words are skipped.
type Policy struct {
	Src, Dst  netip.Prefix
	Proto     string // upper-layer selector ("udp"), empty for any
	Dir       string // in, out, fwd
	Socket    bool   // a per-socket policy ("socket in"), not a tunnel policy
	Action    string // "allow" unless the Edge prints another ("block")
	Priority  int
	Templates []PolicyTemplate
}

// PolicyTemplate is one "tmpl" of a policy: which SA the traffic must use.
type PolicyTemplate struct {
	Src, Dst netip.Addr // tunnel endpoints (invalid in transport mode)
	Proto    string     // esp, ah
	SPI      uint32
	ReqID    int
	Mode     string // tunnel, transport
}

// ParseSP reads `show service ipsec sp`. Empty output means no policies.
func ParseSP(out string) ([]Policy, error) {
	const cmd = CmdServiceIPsecSP
	var pols []Policy
	for n, line := range lines(out) {
		lineNo := n + 1
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "src" && line[0] != ' ' && line[0] != '\t' {
			p := Policy{Action: "allow"}
			for i := 0; i+1 < len(f); i += 2 {
				var err error
				switch f[i] {
				case "src":
					p.Src, err = parsePrefixOrAddr(f[i+1])
				case "dst":
					p.Dst, err = parsePrefixOrAddr(f[i+1])
				case "proto":
					p.Proto = f[i+1]
				}
				if err != nil {
					return nil, formatError(cmd, lineNo, "selector %q", f[i+1])
				}
			}
			pols = append(pols, p)
			continue
		}
		if len(pols) == 0 {
			if e := EdgeError(out); e != "" {
				return nil, formatError(cmd, 0, "edge answered %q", e)
			}
			return nil, formatError(cmd, lineNo, "expected a policy's src line, got %q", strings.TrimSpace(line))
		}
		p := &pols[len(pols)-1]
		switch f[0] {
		case "dir", "socket":
			p.Socket = f[0] == "socket"
			if len(f) > 1 {
				p.Dir = f[1]
			}
			for i := 2; i+1 < len(f); i++ {
				switch f[i] {
				case "priority":
					p.Priority, _ = strconv.Atoi(f[i+1])
				case "action":
					p.Action = f[i+1]
				}
			}
		case "tmpl":
			var t PolicyTemplate
			for i := 1; i+1 < len(f); i += 2 {
				a, err := netip.ParseAddr(f[i+1])
				if err != nil {
					return nil, formatError(cmd, lineNo, "template address %q", f[i+1])
				}
				if f[i] == "src" {
					t.Src = a
				} else if f[i] == "dst" {
					t.Dst = a
				}
			}
			p.Templates = append(p.Templates, t)
		case "proto":
			if len(p.Templates) == 0 {
				p.Templates = append(p.Templates, PolicyTemplate{})
			}
			t := &p.Templates[len(p.Templates)-1]
			for i := 0; i+1 < len(f); i += 2 {
				switch f[i] {
				case "proto":
					t.Proto = f[i+1]
				case "spi":
					v, err := strconv.ParseUint(strings.TrimPrefix(f[i+1], "0x"), 16, 32)
					if err != nil {
						return nil, formatError(cmd, lineNo, "spi %q", f[i+1])
					}
					t.SPI = uint32(v)
				case "reqid":
					t.ReqID, _ = strconv.Atoi(f[i+1])
				case "mode":
					t.Mode = f[i+1]
				}
			}
		}
	}
	return pols, nil
}

// parsePrefixOrAddr reads a CIDR or a bare address (a host prefix).
func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
