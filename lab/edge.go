package lab

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"ipsecbot/diag"
	"ipsecbot/diag/edge"
	"ipsecbot/diag/nsx"
	"ipsecbot/diag/peer"
	"ipsecbot/lab/edgesim"
)

// The Edge's other addresses (documentation ranges; the internal subnet is the fixture's).
var (
	uplinkPrefix   = netip.MustParsePrefix("198.51.100.1/24")
	internalPrefix = netip.MustParsePrefix("10.1.1.1/24")
	defaultGateway = netip.MustParseAddr("198.51.100.254")
	// wanPathMTU is the path MTU of the mtu_fragmentation fixture's WAN bridge.
	wanPathMTU = 1300
	// espOverhead is what ESP in UDP adds to a tunnelled packet (the fixture's 1400-byte
	// pings failed, 84-byte ones passed).
	espOverhead = 80
)

// showOutputs renders the Edge's show commands from the scenario's state, in the formats
// lab/edgesim prints and diag/edge parses.
func (c *content) showOutputs() map[string]string {
	return map[string]string{
		edge.CmdServiceIPsec:   edgesim.RenderServiceIPsec(c.serviceIPsec()),
		edge.CmdServiceIPsecSA: edgesim.RenderSA(c.saStatus()),
		edge.CmdServiceIPsecSP: edgesim.RenderSP(c.policies()),
		edge.CmdIPRoute:        edgesim.RenderRoutes(routes()),
		edge.CmdInterface:      edgesim.RenderInterfaces(interfaces()),
		edge.CmdConfigIPsec:    edgesim.RenderConfigIPsec(edgeConfigIPsec(c.ipsecConfig())),
	}
}

// serviceIPsec is `show service ipsec`: a DOWN channel or tunnel carries the documented
// failure message as its Reason where the procedure's table has one.
func (c *content) serviceIPsec() *edge.IPsecStatus {
	st := &edge.IPsecStatus{Running: true, AESNI: true}
	status := func(up bool) (string, string) {
		if up {
			return edge.StatusUp, ""
		}
		return edge.StatusDown, c.failure
	}
	chStatus, chReason := status(c.channelUp)
	for _, ch := range c.edge.Children {
		site := edge.Site{
			Name: fmt.Sprintf("%s_%s-%s_%s", EdgeUplinkIP, ch.LocalTS, PeerIP, ch.RemoteTS),
			Channel: edge.Channel{PeerIP: PeerIP, LocalIP: EdgeUplinkIP,
				Version: fmt.Sprintf("IKEv%d", c.scenario.IKEVersion), Status: chStatus, Reason: chReason},
		}
		tStatus, tReason := status(c.tunnelUp)
		if !c.channelUp {
			tReason = "" // the channel already says why
		}
		site.Tunnels = []edge.Tunnel{{
			PeerSubnet: netip.MustParsePrefix(ch.RemoteTS), LocalSubnet: netip.MustParsePrefix(ch.LocalTS),
			Status: tStatus, Reason: tReason,
		}}
		st.Sites = append(st.Sites, site)
	}
	edgesim.CountSites(st)
	return st
}

// saStatus is `show service ipsec sa`: the edge's `swanctl --list-sas` at the end of the
// fixture (read by the bot's own parser), restated in the statusall shape the Edge prints.
func (c *content) saStatus() *edge.SAStatus {
	st := &edge.SAStatus{}
	sas, _ := peer.ParseListSAs(c.edgeSAs) // what it read before an over-long line, if any
	for _, sa := range sas {
		v, _ := strconv.Atoi(strings.TrimPrefix(sa.Version, "IKEv"))
		ike := edge.IKESA{Name: sa.Name, ID: sa.ID, State: sa.State, Version: v,
			InitiatorSPI: sa.InitiatorSPI, ResponderSPI: sa.ResponderSPI, LocalIsInit: sa.LocalIsInit,
			Local: sa.Local, Remote: sa.Remote, LocalID: sa.LocalID, RemoteID: sa.RemoteID,
			Proposal: strings.ReplaceAll(sa.Proposal, "-", "_"), Rekey: rekeyText(sa.RekeyIn)}
		if sa.Established >= 0 {
			ike.Age = fmt.Sprintf("%d seconds ago", sa.Established)
		}
		if sa.State == "ESTABLISHED" {
			st.Up++
		} else {
			st.Connecting++
		}
		for _, ch := range sa.Children {
			proto := "ESP"
			if ch.UDPEncap {
				proto = "ESP in UDP"
			}
			ike.Children = append(ike.Children, edge.ChildSA{Name: ch.Name, ID: ch.ID, ReqID: ch.ReqID,
				State: ch.State, Mode: ch.Mode, Protocol: proto, Proposal: strings.ReplaceAll(ch.Proposal, "-", "_"),
				SPIIn: ch.SPIIn, SPIOut: ch.SPIOut, BytesIn: ch.InBytes, PacketsIn: ch.InPackets,
				BytesOut: ch.OutBytes, PacketsOut: ch.OutPackets, Rekey: rekeyText(ch.RekeyIn),
				LocalTS: ch.LocalTS, RemoteTS: ch.RemoteTS})
		}
		st.IKESAs = append(st.IKESAs, ike)
	}
	return st
}

// rekeyText is statusall's "rekeying in N seconds" ("" when swanctl printed no rekey time).
func rekeyText(secs int) string {
	if secs < 0 {
		return ""
	}
	return fmt.Sprintf("rekeying in %d seconds", secs)
}

// policies is `show service ipsec sp`: NSX installs the site's policies whether or not the
// tunnel is up (add_spd=on, the default); the SPIs are the installed SA's, when there is one.
func (c *content) policies() []edge.Policy {
	sa, _ := c.installedChild()
	spi := func(hex string) uint32 {
		n, _ := strconv.ParseUint(hex, 16, 32)
		return uint32(n)
	}
	var out []edge.Policy
	for _, ch := range c.edge.Children {
		local, remote := netip.MustParsePrefix(ch.LocalTS), netip.MustParsePrefix(ch.RemoteTS)
		tmpl := func(src, dst netip.Addr, s uint32) []edge.PolicyTemplate {
			return []edge.PolicyTemplate{{Src: src, Dst: dst, Proto: "esp", SPI: s, ReqID: 1, Mode: "tunnel"}}
		}
		out = append(out,
			edge.Policy{Src: local, Dst: remote, Dir: "out", Priority: 375423, Templates: tmpl(EdgeUplinkIP, PeerIP, spi(sa.SPIOut))},
			edge.Policy{Src: remote, Dst: local, Dir: "fwd", Priority: 375423, Templates: tmpl(PeerIP, EdgeUplinkIP, 0)},
			edge.Policy{Src: remote, Dst: local, Dir: "in", Priority: 375423, Templates: tmpl(PeerIP, EdgeUplinkIP, spi(sa.SPIIn))},
		)
	}
	return out
}

func routes() *edge.RouteTable {
	return &edge.RouteTable{Total: 3, Routes: []edge.Route{
		{Code: "S", Prefix: netip.MustParsePrefix("0.0.0.0/0"), AdminDistance: 1, Metric: 0, NextHop: defaultGateway},
		{Code: "C", Prefix: internalPrefix.Masked(), NextHop: internalPrefix.Addr()},
		{Code: "C", Prefix: uplinkPrefix.Masked(), NextHop: uplinkPrefix.Addr()},
	}}
}

func interfaces() []edge.Interface {
	nic := func(name string, index int, p netip.Prefix, hw string) edge.Interface {
		return edge.Interface{Name: name, Up: true, LineUp: true, Index: index, MTU: 1500,
			Flags: []string{"UP", "BROADCAST", "RUNNING", "MULTICAST"}, HWAddr: hw, Addrs: []netip.Prefix{p}}
	}
	return []edge.Interface{
		nic(UplinkNIC, 3, uplinkPrefix, "00:50:56:9d:74:93"),
		nic(InternalNIC, 4, internalPrefix, "00:50:56:9d:5a:21"),
	}
}

// edgeConfigIPsec is `show configuration ipsec`: the API's document in the CLI's JSON shape.
func edgeConfigIPsec(c *nsx.IPsecConfig) *edge.IPsecConfig {
	out := &edge.IPsecConfig{Enabled: c.Enabled}
	if c.Logging != nil {
		out.Logging = &edge.IPsecLogging{Enable: c.Logging.Enable, LogLevel: c.Logging.LogLevel}
	}
	for _, s := range c.Sites {
		psk := ""
		if s.PSK != "" {
			psk = "****"
		}
		out.Sites.Sites = append(out.Sites.Sites, edge.IPsecConfigSite{
			Enabled: s.Enabled, Name: s.Name, Description: s.Description, SiteID: s.SiteID,
			LocalID: s.LocalID, LocalIP: s.LocalIP, PeerID: s.PeerID, PeerIP: s.PeerIP,
			IPsecSessionType: s.IPsecSessionType, EncryptionAlgorithm: s.EncryptionAlgorithm,
			DigestAlgorithm: s.DigestAlgorithm, AuthenticationMode: s.AuthenticationMode, PSK: psk,
			EnablePFS: s.EnablePFS, DHGroup: s.DHGroup, IKEOption: s.IKEOption,
			LocalSubnets: edge.Subnets{Subnets: s.LocalSubnets}, PeerSubnets: edge.Subnets{Subnets: s.PeerSubnets},
		})
	}
	return out
}

// pingCount is how many echo requests the Edge's ping sends by default.
const pingCount = 3

// ping answers the Edge's `ping`, faithful to the fixture's ping.txt: the peer's WAN address
// answers in every scenario (the faults block UDP, kill a daemon, or flap the WAN before
// the capture), except that packets over the WAN's path MTU are lost in mtu_fragmentation;
// hosts behind the peer answer only through an installed tunnel that carries ESP.
func (c *content) ping(dst string, size int, df bool) (sent, received int) {
	a, err := netip.ParseAddr(dst)
	if err != nil {
		return pingCount, 0
	}
	mtuLoss := c.scenario.Label == diag.CauseMTUFragmentation
	ipLen := size + 28
	switch {
	case a == PeerIP:
		if mtuLoss && ipLen > wanPathMTU {
			return pingCount, 0
		}
		return pingCount, pingCount
	case c.peerSubnetContains(a):
		if !c.tunnelUp || c.scenario.Label == diag.CauseESPBlocked || mtuLoss && ipLen+espOverhead > wanPathMTU {
			return pingCount, 0
		}
		return pingCount, pingCount
	}
	return pingCount, 0
}

func (c *content) peerSubnetContains(a netip.Addr) bool {
	for _, ch := range c.edge.Children {
		if p, err := netip.ParsePrefix(ch.RemoteTS); err == nil && p.Contains(a) {
			return true
		}
	}
	return false
}

// centralCLI answers the Manager's central CLI for edge-01: "show edge edge-1 <command>"
// or the bare show command.
func centralCLI(outputs map[string]string, log string) func(string) (string, bool) {
	return func(cmd string) (string, bool) {
		cmd = strings.Join(strings.Fields(cmd), " ")
		if rest, ok := strings.CutPrefix(cmd, "show edge "+EdgeID+" "); ok {
			cmd = "show " + rest
		}
		if cmd == edge.CmdLog {
			return log, true
		}
		out, ok := outputs[cmd]
		return out, ok
	}
}
