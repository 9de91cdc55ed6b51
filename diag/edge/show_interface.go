package edge

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Interface is one block of `show interface` (docs/nsx-formats.md §1.4).
type Interface struct {
	Name       string // vNic_0, VDR, br-sub, lo
	Up         bool   // "is up"
	LineUp     bool   // "line protocol is up"
	Index      int
	MTU        int
	Flags      []string // UP, BROADCAST, RUNNING, ...
	HWAddr     string
	Addrs      []netip.Prefix // inet and inet6
	InPackets  int64
	InBytes    int64
	InDropped  int64
	InErrors   int64
	OutPackets int64
	OutBytes   int64
	OutDropped int64
	OutErrors  int64
}

var (
	ifHeader = regexp.MustCompile(`^Interface (\S+) is (up|down|administratively down), line protocol is (up|down)`)
	ifIndex  = regexp.MustCompile(`^index (\d+) metric \d+ mtu (\d+)(?: <([^>]*)>)?`)
	ifCount  = regexp.MustCompile(`^(input|output) (packets|errors) (\d+)(?:, bytes (\d+), dropped (\d+))?`)
)

// ParseInterfaces reads `show interface` or `show interface vNic_N`.
func ParseInterfaces(out string) ([]Interface, error) {
	const cmd = CmdInterface
	var ifs []Interface
	for n, line := range lines(out) {
		t := strings.TrimSpace(line)
		if m := ifHeader.FindStringSubmatch(t); m != nil {
			ifs = append(ifs, Interface{Name: m[1], Up: m[2] == "up", LineUp: m[3] == "up"})
			continue
		}
		if len(ifs) == 0 || t == "" {
			continue
		}
		cur := &ifs[len(ifs)-1]
		switch {
		case ifIndex.MatchString(t):
			m := ifIndex.FindStringSubmatch(t)
			cur.Index, _ = strconv.Atoi(m[1])
			cur.MTU, _ = strconv.Atoi(m[2])
			if m[3] != "" {
				cur.Flags = strings.Split(m[3], ",")
			}
		case strings.HasPrefix(t, "HWaddr:"):
			cur.HWAddr = strings.TrimSpace(strings.TrimPrefix(t, "HWaddr:"))
		case strings.HasPrefix(t, "inet ") || strings.HasPrefix(t, "inet6 "):
			f := strings.Fields(t)
			p, err := parsePrefixOrAddr(f[1])
			if err != nil {
				return nil, formatError(cmd, n+1, "address %q", f[1])
			}
			cur.Addrs = append(cur.Addrs, p)
		case ifCount.MatchString(t):
			m := ifCount.FindStringSubmatch(t)
			v, _ := strconv.ParseInt(m[3], 10, 64)
			b, _ := strconv.ParseInt(m[4], 10, 64)
			d, _ := strconv.ParseInt(m[5], 10, 64)
			switch m[1] + " " + m[2] {
			case "input packets":
				cur.InPackets, cur.InBytes, cur.InDropped = v, b, d
			case "input errors":
				cur.InErrors = v
			case "output packets":
				cur.OutPackets, cur.OutBytes, cur.OutDropped = v, b, d
			case "output errors":
				cur.OutErrors = v
			}
		}
	}
	if len(ifs) == 0 {
		return nil, unreadable(cmd, out, 0, "no interface found")
	}
	return ifs, nil
}

// IPv4 returns the interface's first IPv4 address, if any.
func (i Interface) IPv4() (netip.Prefix, bool) {
	for _, a := range i.Addrs {
		if a.Addr().Is4() {
			return a, true
		}
	}
	return netip.Prefix{}, false
}
