package edge

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// RouteTable is `show ip route` (docs/nsx-formats.md §1.5).
type RouteTable struct {
	Total  int // "Total number of routes: N", -1 when not printed
	Routes []Route
}

// Route is one routing table line.
type Route struct {
	Code          string // C connected, S static, B BGP, O OSPF ... (selection marks ">*" dropped)
	Prefix        netip.Prefix
	AdminDistance int
	Metric        int
	NextHop       netip.Addr // invalid for "is directly connected"
	Interface     string     // when printed (the `show ip forwarding` style)
}

var (
	routeTotal = regexp.MustCompile(`(?i)^Total number of routes:\s*(\d+)`)
	// "C       10.110.60.0/22       [0/0]         via 10.110.63.114" and
	// "R>* 0.0.0.0/0 via 10.24.31.253, vNic_3" / "C>* 10.24.28.0/22 is directly connected, vNic_3".
	routeLine = regexp.MustCompile(`^([A-Z][A-Z0-9]{0,2})[>*]*\s+(\S+/\d+)\s*(?:\[(\d+)/(\d+)\])?\s*(?:via\s+([0-9a-fA-F.:]+)|is directly connected)?(?:,\s*(\S+))?`)
)

// ParseRoutes reads `show ip route` (or `show ip forwarding`): headers and code legends are skipped.
func ParseRoutes(out string) (*RouteTable, error) {
	const cmd = CmdIPRoute
	rt := &RouteTable{Total: -1}
	for n, line := range lines(out) {
		t := strings.TrimSpace(line)
		if m := routeTotal.FindStringSubmatch(t); m != nil {
			rt.Total, _ = strconv.Atoi(m[1])
			continue
		}
		m := routeLine.FindStringSubmatch(t)
		if m == nil {
			continue
		}
		p, err := netip.ParsePrefix(m[2])
		if err != nil {
			return nil, formatError(cmd, n+1, "route prefix %q", m[2])
		}
		r := Route{Code: m[1], Prefix: p, Interface: m[6]}
		r.AdminDistance, _ = strconv.Atoi(m[3])
		r.Metric, _ = strconv.Atoi(m[4])
		if m[5] != "" {
			if r.NextHop, err = netip.ParseAddr(m[5]); err != nil {
				return nil, formatError(cmd, n+1, "next hop %q", m[5])
			}
		}
		rt.Routes = append(rt.Routes, r)
	}
	if rt.Total < 0 && len(rt.Routes) == 0 {
		return nil, unreadable(cmd, out, 0, "no routes and no route count")
	}
	return rt, nil
}

// Lookup returns the most specific route containing dst, or nil.
func (rt *RouteTable) Lookup(dst netip.Addr) *Route {
	var best *Route
	for i := range rt.Routes {
		r := &rt.Routes[i]
		if r.Prefix.Contains(dst) && (best == nil || r.Prefix.Bits() > best.Prefix.Bits()) {
			best = r
		}
	}
	return best
}
