package lab

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"ipsecbot/config"
	"ipsecbot/diag/edge"
	"ipsecbot/diag/nsx"
	"ipsecbot/lab/nsxsim"
)

// The lab's identities.
const (
	EdgeName    = "edge-01"
	EdgeID      = "edge-1"
	SiteID      = "ipsecsite-1"
	UplinkNIC   = "vNic_0"
	InternalNIC = "vNic_1"
	// syslogServer is where the Edge's logs go (a documentation address).
	syslogServer = "198.51.100.50"
)

// edgeContent is what the lab's Manager serves about edge-01.
func (c *content) edgeContent(now time.Time, cli func(string) (string, bool)) (nsxsim.EdgeContent, error) {
	bundle, err := nsxsim.Bundle(map[string][]byte{"var/log/messages": []byte(c.edgeLog)}, now)
	if err != nil {
		return nsxsim.EdgeContent{}, err
	}
	return nsxsim.EdgeContent{
		ID:             EdgeID,
		Name:           EdgeName,
		Statistics:     c.statistics(now),
		IPsec:          c.ipsecConfig(),
		Firewall:       firewallConfig(),
		Syslog:         c.syslogConfig(),
		PeerConfigText: map[string]string{SiteID: c.peerConfigText()},
		TechSupport:    bundle,
		CLI:            cli,
	}, nil
}

// statistics is ipsec/statistics: the channel and tunnel state at the end of the fixture,
// the documented failure message where the procedure's table has one, and the ESP counters
// the edge's own SA listing shows. Nothing else is made up.
func (c *content) statistics(now time.Time) *nsx.Statistics {
	ike := &nsx.IKEStatus{
		ChannelStatus:     upDown(c.channelUp),
		LocalIPAddress:    EdgeUplinkIP.String(),
		PeerID:            c.edge.RemoteID,
		PeerIPAddress:     PeerIP.String(),
		ChannelIKEVersion: fmt.Sprintf("IKEv%d", c.scenario.IKEVersion),
	}
	if c.channelUp {
		ike.ChannelState = "STATE_MAIN_I4 (ISAKMP SA established)"
	}
	site := nsx.SiteStatistics{SiteID: SiteID, IKEStatus: ike}
	for _, ch := range c.edge.Children {
		ike.LocalSubnets = append(ike.LocalSubnets, ch.LocalTS)
		ike.PeerSubnets = append(ike.PeerSubnets, ch.RemoteTS)
		t := nsx.TunnelStats{
			TunnelStatus:   upDown(c.tunnelUp),
			LocalSubnet:    ch.LocalTS,
			PeerSubnet:     ch.RemoteTS,
			FailureMessage: c.failure,
		}
		if c.tunnelUp {
			t.TunnelState = "STATE_QUICK_I2 (sent QI2, IPsec SA established)"
			if sa, ok := c.installedChild(); ok {
				t.EncryptionAlgorithm, t.AuthenticationAlgorithm = nsxAlgorithms(sa.Proposal)
				t.LocalSPI, t.PeerSPI = sa.SPIIn, sa.SPIOut
				t.PacketsIn, t.RxBytesOnLocalSubnet = nsx.Counter(sa.PacketsIn), nsx.Counter(sa.BytesIn)
				t.PacketsOut, t.TxBytesFromLocalSubnet = nsx.Counter(sa.PacketsOut), nsx.Counter(sa.BytesOut)
			}
		}
		site.Tunnels = append(site.Tunnels, t)
	}
	return &nsx.Statistics{Sites: []nsx.SiteStatistics{site}, TimeStamp: nsx.Counter(now.Unix())}
}

func upDown(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

// installedChild is the Edge's first installed CHILD_SA at the end of the fixture, if any.
func (c *content) installedChild() (edge.ChildSA, bool) {
	for _, ike := range c.saStatus().IKESAs {
		for _, ch := range ike.Children {
			if ch.State == "INSTALLED" {
				return ch, true
			}
		}
	}
	return edge.ChildSA{}, false
}

var keySize = regexp.MustCompile(`_\d+$`)

// nsxAlgorithms names a CHILD_SA proposal's encryption and integrity the way the Manager's
// statistics do: "AES_CBC_256/HMAC_SHA2_256_128" is "aes-cbc" and "hmac-sha256".
func nsxAlgorithms(proposal string) (enc, integ string) {
	algs := strings.Split(proposal, "/")
	enc = strings.ReplaceAll(strings.ToLower(keySize.ReplaceAllString(algs[0], "")), "_", "-")
	if len(algs) > 1 {
		integ = integName(algs[1])
	}
	return enc, integ
}

func integName(s string) string {
	switch {
	case strings.HasPrefix(s, "HMAC_SHA2_256"):
		return "hmac-sha256"
	case strings.HasPrefix(s, "HMAC_SHA1"):
		return "hmac-sha1"
	}
	return strings.ToLower(s)
}

// proposal is a strongSwan proposal in NSX's words.
type proposal struct {
	encryption, digest, dhGroup string
	pfs                         bool
}

// nsxProposal maps "aes256-sha256-modp2048" to NSX's encryptionAlgorithm, digestAlgorithm
// and dhGroup values (docs/nsx-formats.md §2.4).
func nsxProposal(p string) proposal {
	var out proposal
	for _, tok := range strings.Split(p, "-") {
		switch {
		case tok == "aes256":
			out.encryption = "aes256"
		case tok == "aes128" || tok == "aes":
			out.encryption = "aes"
		case tok == "3des":
			out.encryption = "3des"
		case strings.HasPrefix(tok, "aes") && strings.Contains(tok, "gcm"):
			out.encryption = "aes-gcm"
		case tok == "sha256":
			out.digest = "sha-256"
		case tok == "sha1":
			out.digest = "sha1"
		case strings.HasPrefix(tok, "modp"):
			out.pfs = true
			out.dhGroup = map[string]string{"modp1024": "dh2", "modp1536": "dh5", "modp2048": "dh14",
				"modp3072": "dh15", "modp4096": "dh16"}[tok]
		}
	}
	return out
}

// ipsecConfig is ipsec/config: the Edge's site as the fixture's edgeA was configured.
func (c *content) ipsecConfig() *nsx.IPsecConfig {
	ike := nsxProposal(c.edge.Proposals)
	site := nsx.IPsecSite{
		Enabled:             true,
		Name:                c.edge.Name,
		LocalID:             c.edge.LocalID,
		LocalIP:             EdgeUplinkIP.String(),
		PeerID:              c.edge.RemoteID,
		PeerIP:              c.edge.RemoteAddrs,
		IPsecSessionType:    "policybasedsession",
		EncryptionAlgorithm: ike.encryption,
		DigestAlgorithm:     ike.digest,
		DHGroup:             ike.dhGroup,
		IKEOption:           fmt.Sprintf("ikev%d", c.edge.Version),
		SiteID:              SiteID,
		AuthenticationMode:  "psk",
	}
	var local, peer []string
	for _, ch := range c.edge.Children {
		site.LocalSubnets = append(site.LocalSubnets, ch.LocalTS)
		site.PeerSubnets = append(site.PeerSubnets, ch.RemoteTS)
		local, peer = append(local, ch.LocalTS), append(peer, ch.RemoteTS)
		site.EnablePFS = site.EnablePFS || nsxProposal(ch.ESPProposals).pfs
	}
	site.Description = fmt.Sprintf("%s VPN to %s %s == %s", c.edge.LocalAuth, c.edge.RemoteAddrs,
		strings.Join(local, ","), strings.Join(peer, ","))
	cfg := &nsx.IPsecConfig{
		Version: "1", Enabled: true,
		Logging: &nsx.IPsecLogging{Enable: true, LogLevel: "info"},
	}
	if c.edge.LocalAuth == "pubkey" {
		site.AuthenticationMode = "x.509"
		cfg.Global.ServiceCertificate = "certificate-1"
		cfg.Global.CACertificates = []string{"certificate-2"}
	} else {
		site.PSK = nsx.Secret(c.edge.PSK) // encoded as NSX's mask, never in clear
	}
	cfg.Sites = []nsx.IPsecSite{site}
	return cfg
}

// peerConfigText is the peerconfig text template for the site (docs/nsx-formats.md §2.6), with
// the fixture's timers.
func (c *content) peerConfigText() string {
	ike := nsxProposal(c.edge.Proposals)
	esp := proposal{}
	if len(c.edge.Children) > 0 {
		esp = nsxProposal(c.edge.Children[0].ESPProposals)
	}
	auth := "psk"
	if c.edge.LocalAuth == "pubkey" {
		auth = "x.509"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# IPsec site Id : %s\n# IPsec site name : %s\n# IPsec site vpn type : Policy-based VPN\n# NSX Edge Id : %s\n", SiteID, c.edge.Name, EdgeID)
	fmt.Fprintf(&b, "# Phase 1\nConnection initiation mode : initiator\nIKE version : ikev%d\nAuthentication method : %s\n", c.edge.Version, auth)
	fmt.Fprintf(&b, "Authentication algorithm : %s\nEncryption algorithm : %s\nSA life time : %d seconds\n", ike.digest, ike.encryption, int(c.edge.RekeyTime.Seconds()))
	fmt.Fprintf(&b, "Phase 1 negotiation mode : main\nDH group : %s\n", strings.ToUpper(ike.dhGroup))
	childLife := 3600
	if len(c.edge.Children) > 0 && c.edge.Children[0].RekeyTime > 0 {
		childLife = int(c.edge.Children[0].RekeyTime.Seconds())
	}
	fmt.Fprintf(&b, "# Phase 2\nProtocol : ESP\nSa life time : %d seconds\nEncapsulation mode : Tunnel mode\n", childLife)
	fmt.Fprintf(&b, "Enable perfect forward secrecy : %t\nPerfect forward secrecy DH group: %s\n", esp.pfs, strings.ToUpper(esp.dhGroup))
	fmt.Fprintf(&b, "# IPsec Dead Peer Detection (DPD) settings\nDPD enabled : %t\n", c.edge.DPDDelay > 0)
	if c.edge.DPDDelay > 0 {
		fmt.Fprintf(&b, "DPD interval : %d seconds\n", int(c.edge.DPDDelay.Seconds()))
	}
	if c.edge.DPDTimeout > 0 {
		fmt.Fprintf(&b, "DPD timeout : %d seconds\n", int(c.edge.DPDTimeout.Seconds()))
	}
	return b.String()
}

// firewallConfig lets IKE (UDP 500, 4500) and ESP through between any hosts, then denies the
// rest. For peer_unreachable too: the fixture's block was on the peer, outside the Edge.
func firewallConfig() *nsx.FirewallConfig {
	yes := true
	return &nsx.FirewallConfig{
		Version:       "1",
		Enabled:       &yes,
		DefaultPolicy: &nsx.FirewallPolicy{Action: "deny", LoggingEnabled: false},
		Rules: []nsx.FirewallRule{
			{ID: "131073", Name: "firewall", RuleType: "internal_high", Action: "accept",
				Source: &nsx.FirewallEndpoint{VnicGroupIDs: []string{"vse"}}},
			{ID: "131074", Name: "ipsec", RuleType: "user", Action: "accept", Enabled: &yes,
				Application: &nsx.FirewallApplication{Services: []nsx.FirewallService{
					{Protocol: "udp", Ports: []string{"500"}},
					{Protocol: "udp", Ports: []string{"4500"}},
					{Protocol: "esp"},
				}}},
			{ID: "131075", Name: "default rule for ingress traffic", RuleType: "default_policy", Action: "deny"},
		},
	}
}

// syslogConfig sends the Edge's logs to a remote server, except in the synthesized
// scenario, which exercises the procedure's warning about the Edge's small disk.
func (c *content) syslogConfig() *nsx.SyslogConfig {
	if !c.syslogConfigured {
		return &nsx.SyslogConfig{}
	}
	return &nsx.SyslogConfig{Protocol: "udp", ServerAddresses: []string{syslogServer}}
}

// haActiveIndex is the appliance a lab HA pair's Manager reports active.
const haActiveIndex = 1

// haDocuments are the health summary and status of the lab's HA pair: appliance 1 active,
// appliance 0 standby.
func haDocuments() (*nsx.EdgeHealthSummary, *nsx.EdgeStatus) {
	active := haActiveIndex
	state := func(i int) string {
		if i == active {
			return "active"
		}
		return "standby"
	}
	h := &nsx.EdgeHealthSummary{ID: EdgeID, Name: EdgeName, EdgeType: "gatewayServices",
		PublishStatus: "APPLIED", HaVnicInUse: "vNic_1"}
	s := &nsx.EdgeStatus{SystemStatus: "good", ActiveVseHaIndex: &active, EdgeStatus: "GREEN", PublishStatus: "APPLIED",
		Features: []nsx.FeatureStatus{{Service: "ipsec", Configured: true, ServerStatus: "up"}}}
	for i := range config.HAAppliances {
		id, name := fmt.Sprintf("vm-%d", 101+i), fmt.Sprintf("%s-%d", EdgeName, i)
		h.VMs = append(h.VMs, nsx.VMHealthSummary{ID: id, Name: name, HaAdminState: "up", HaState: state(i),
			MpConnectivityStatus: "UP", HaIndex: i})
		s.VMs = append(s.VMs, nsx.EdgeVMStatus{EdgeVMStatus: "GREEN", HaState: state(i), Index: i, ID: id, Name: name})
	}
	return h, s
}
