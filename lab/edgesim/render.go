package edgesim

import (
	"encoding/json"
	"fmt"
	"strings"

	"ipsecbot/diag/edge"
)

// The Render* helpers print the Edge's show outputs from the typed values diag/edge's parsers
// produce, so a format is written down once: diag/edge parses what these print (round trip).

// RenderServiceIPsec prints `show service ipsec` (docs/nsx-formats.md §1.2). A channel or tunnel
// with a Reason prints "Status: DOWN Reason: <text>".
func RenderServiceIPsec(st *edge.IPsecStatus) string {
	var b strings.Builder
	b.WriteString(strings.Repeat("-", 71) + "\n")
	b.WriteString("vShield Edge IPSec Service Status:\n")
	if !st.Running {
		b.WriteString("IPSec Server is not running.\n")
		return b.String()
	}
	b.WriteString("IPSec Server is running.\n")
	if st.AESNI {
		b.WriteString("AESNI is enabled.\n")
	} else {
		b.WriteString("AESNI is disabled.\n")
	}
	fmt.Fprintf(&b, "Total Sites: %d, %d UP, %d Down\n", st.TotalSites, st.SitesUp, st.SitesDown)
	fmt.Fprintf(&b, "Total Tunnels: %d, %d UP, %d Down\n", st.TotalTunnels, st.TunnelsUp, st.TunnelsDown)
	b.WriteString(strings.Repeat("-", 34) + "\n")
	for _, s := range st.Sites {
		fmt.Fprintf(&b, "Site:  %s\n", s.Name)
		c := s.Channel
		fmt.Fprintf(&b, "Channel: PeerIp: %s    LocalIP: %s  Version: %s  Status: %s%s\n", c.PeerIP, c.LocalIP, c.Version, c.Status, reason(c.Reason))
		for _, t := range s.Tunnels {
			fmt.Fprintf(&b, "Tunnel: PeerSubnet: %s    LocalSubnet: %s   Status: %s%s\n", t.PeerSubnet, t.LocalSubnet, t.Status, reason(t.Reason))
		}
		b.WriteString(strings.Repeat("-", 34) + "\n")
	}
	return b.String()
}

func reason(r string) string {
	if r == "" {
		return ""
	}
	return " Reason: " + r
}

// CountSites fills the header totals of st from its sites.
func CountSites(st *edge.IPsecStatus) {
	st.TotalSites, st.SitesUp, st.SitesDown = len(st.Sites), 0, 0
	st.TotalTunnels, st.TunnelsUp, st.TunnelsDown = 0, 0, 0
	for _, s := range st.Sites {
		if s.Channel.Up() {
			st.SitesUp++
		} else {
			st.SitesDown++
		}
		for _, t := range s.Tunnels {
			st.TotalTunnels++
			if t.Up() {
				st.TunnelsUp++
			} else {
				st.TunnelsDown++
			}
		}
	}
}

// RenderSA prints `show service ipsec sa` in the strongSwan statusall shape diag/edge assumes.
func RenderSA(st *edge.SAStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Security Associations (%d up, %d connecting):\n", st.Up, st.Connecting)
	if len(st.IKESAs) == 0 {
		b.WriteString("  none\n")
	}
	for _, s := range st.IKESAs {
		k := fmt.Sprintf("%s[%d]", s.Name, s.ID)
		if s.Name != "" {
			age := ""
			if s.Age != "" {
				age = " " + s.Age
			}
			fmt.Fprintf(&b, "%14s: %s%s, %s[%s]...%s[%s]\n", k, s.State, age, s.Local, s.LocalID, s.Remote, s.RemoteID)
			if s.Version != 0 {
				ini, rsp := "", ""
				if s.LocalIsInit {
					ini = "*"
				} else {
					rsp = "*"
				}
				rekey := ""
				if s.Rekey != "" {
					rekey = ", " + s.Rekey
				}
				fmt.Fprintf(&b, "%14s: IKEv%d SPIs: %s_i%s %s_r%s%s\n", k, s.Version, s.InitiatorSPI, ini, s.ResponderSPI, rsp, rekey)
			}
			if s.Proposal != "" {
				fmt.Fprintf(&b, "%14s: IKE proposal: %s\n", k, s.Proposal)
			}
		}
		for _, c := range s.Children {
			ck := fmt.Sprintf("%s{%d}", c.Name, c.ID)
			line := fmt.Sprintf("%14s:  %s, %s", ck, c.State, c.Mode)
			if c.ReqID != 0 {
				line += fmt.Sprintf(", reqid %d", c.ReqID)
			}
			if c.SPIIn != "" {
				line += fmt.Sprintf(", %s SPIs: %s_i %s_o", c.Protocol, c.SPIIn, c.SPIOut)
			}
			b.WriteString(line + "\n")
			if c.Proposal != "" {
				rekey := ""
				if c.Rekey != "" {
					rekey = ", " + c.Rekey
				}
				fmt.Fprintf(&b, "%14s:   %s, %s, %s%s\n", ck, c.Proposal, traffic(c.BytesIn, c.PacketsIn, "i"), traffic(c.BytesOut, c.PacketsOut, "o"), rekey)
			}
			if len(c.LocalTS)+len(c.RemoteTS) > 0 {
				fmt.Fprintf(&b, "%14s:   %s === %s\n", ck, joinPrefixes(c.LocalTS), joinPrefixes(c.RemoteTS))
			}
		}
	}
	return b.String()
}

func traffic(bytes, pkts int64, dir string) string {
	if pkts == 0 {
		return fmt.Sprintf("%d bytes_%s", bytes, dir)
	}
	return fmt.Sprintf("%d bytes_%s (%d pkts, 1s ago)", bytes, dir, pkts)
}

func joinPrefixes[T fmt.Stringer](ps []T) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}

// RenderSP prints `show service ipsec sp` in the `ip xfrm policy` shape diag/edge assumes.
func RenderSP(pols []edge.Policy) string {
	var b strings.Builder
	for _, p := range pols {
		fmt.Fprintf(&b, "src %s dst %s", p.Src, p.Dst)
		if p.Proto != "" {
			fmt.Fprintf(&b, " proto %s", p.Proto)
		}
		b.WriteString(" \n")
		dir := "dir"
		if p.Socket {
			dir = "socket"
		}
		action := ""
		if p.Action != "" && p.Action != "allow" {
			action = " action " + p.Action
		}
		fmt.Fprintf(&b, "\t%s %s%s priority %d ptype main \n", dir, p.Dir, action, p.Priority)
		for _, t := range p.Templates {
			fmt.Fprintf(&b, "\ttmpl src %s dst %s\n", t.Src, t.Dst)
			fmt.Fprintf(&b, "\t\tproto %s spi 0x%08x reqid %d mode %s\n", t.Proto, t.SPI, t.ReqID, t.Mode)
		}
	}
	return b.String()
}

// RenderRoutes prints `show ip route` (docs/nsx-formats.md §1.5).
func RenderRoutes(rt *edge.RouteTable) string {
	var b strings.Builder
	b.WriteString("\nCodes: O - OSPF derived, i - IS-IS derived, B - BGP derived,\n" +
		"C - connected, S - static, L1 - IS-IS level-1, L2 - IS-IS level-2,\n" +
		"IA - OSPF inter area, E1 - OSPF external type 1, E2 - OSPF external type 2,\n" +
		"N1 - OSPF NSSA external type 1, N2 - OSPF NSSA external type 2\n\n")
	fmt.Fprintf(&b, "Total number of routes: %d\n\n", len(rt.Routes))
	for _, r := range rt.Routes {
		fmt.Fprintf(&b, "%-7s %-20s [%d/%d]         via %s\n", r.Code, r.Prefix, r.AdminDistance, r.Metric, r.NextHop)
	}
	return b.String()
}

// RenderInterfaces prints `show interface` (docs/nsx-formats.md §1.4).
func RenderInterfaces(ifs []edge.Interface) string {
	var b strings.Builder
	updown := func(up bool) string {
		if up {
			return "up"
		}
		return "down"
	}
	for i, f := range ifs {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Interface %s is %s, line protocol is %s\n", f.Name, updown(f.Up), updown(f.LineUp))
		fmt.Fprintf(&b, "  index %d metric 1 mtu %d <%s>\n", f.Index, f.MTU, strings.Join(f.Flags, ","))
		if f.HWAddr != "" {
			fmt.Fprintf(&b, "  HWaddr: %s\n", f.HWAddr)
		}
		for _, a := range f.Addrs {
			kind := "inet"
			if a.Addr().Is6() {
				kind = "inet6"
			}
			fmt.Fprintf(&b, "  %s %s\n", kind, a)
		}
		b.WriteString("  proxy_arp: disabled\n  Auto-duplex (Full), Auto-speed (2157Mb/s)\n")
		fmt.Fprintf(&b, "    input packets %d, bytes %d, dropped %d, multicast packets 0\n", f.InPackets, f.InBytes, f.InDropped)
		fmt.Fprintf(&b, "    input errors %d, length 0, overrun 0, CRC 0, frame 0, fifo 0, missed 0\n", f.InErrors)
		fmt.Fprintf(&b, "    output packets %d, bytes %d, dropped %d\n", f.OutPackets, f.OutBytes, f.OutDropped)
		fmt.Fprintf(&b, "    output errors %d, aborted 0, carrier 0, fifo 0, heartbeat 0, window 0\n", f.OutErrors)
		b.WriteString("    collisions 0\n")
	}
	return b.String()
}

// RenderConfigIPsec prints `show configuration ipsec`: a header line and the JSON document, with
// every PSK masked as the Edge does.
func RenderConfigIPsec(c *edge.IPsecConfig) string {
	masked := *c
	masked.Sites.Sites = append([]edge.IPsecConfigSite(nil), c.Sites.Sites...)
	for i := range masked.Sites.Sites {
		if masked.Sites.Sites[i].PSK != "" {
			masked.Sites.Sites[i].PSK = "****"
		}
	}
	if c.Global != nil {
		g := *c.Global
		if g.PSK != "" {
			g.PSK = "****"
		}
		masked.Global = &g
	}
	js, err := json.MarshalIndent(map[string]any{"ipsec": masked}, "", "   ")
	if err != nil {
		panic(err) // plain structs of strings and bools always marshal
	}
	return strings.Repeat("-", 71) + "\nvShield Edge IPSec Config:\n" + string(js) + "\n"
}

// RenderLogLine prints one `show log` line in syslog form:
// "2026-11-27T04:18:32.747Z host charon[pid]: 07[IKE] <conn|1> message".
func RenderLogLine(l edge.LogLine) string {
	var b strings.Builder
	b.WriteString(l.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	fmt.Fprintf(&b, " %s %s", l.Host, l.Program)
	if l.PID > 0 {
		fmt.Fprintf(&b, "[%d]", l.PID)
	}
	b.WriteString(": ")
	if l.Thread >= 0 && l.Group != "" {
		fmt.Fprintf(&b, "%02d[%s] ", l.Thread, l.Group)
		if l.Conn != "" {
			fmt.Fprintf(&b, "<%s> ", l.Conn)
		}
	}
	b.WriteString(l.Message)
	return b.String()
}

// renderStorage prints `show system storage` as df does in 1K blocks.
// [UNVERIFIED] diag/edge's ParseStorage reads this df shape.
func renderStorage(free int64) string {
	const size = 4062912
	avail := free / 1024
	used := max(size-avail, 0)
	return "Filesystem     1K-blocks    Used Available Use% Mounted on\n" +
		fmt.Sprintf("/dev/sda2      %9d %7d %9d %3d%% /\n", size, used, avail, used*100/size)
}

// renderPing prints a Linux ping's summary.
func renderPing(dst string, size, sent, recv int) string {
	loss := 0
	if sent > 0 {
		loss = (sent - recv) * 100 / sent
	}
	var b strings.Builder
	fmt.Fprintf(&b, "PING %s (%s) %d(%d) bytes of data.\n", dst, dst, size, size+28)
	for i := range recv {
		fmt.Fprintf(&b, "%d bytes from %s: icmp_seq=%d ttl=64 time=0.4 ms\n", size+8, dst, i+1)
	}
	fmt.Fprintf(&b, "\n--- %s ping statistics ---\n%d packets transmitted, %d received, %d%% packet loss, time %dms\n", dst, sent, recv, loss, sent*1000)
	return b.String()
}
