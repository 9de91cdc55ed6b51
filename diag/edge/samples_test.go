package edge_test

import (
	"net/netip"

	"ipsecbot/diag/edge"
)

// The typed samples the lab Edge renders; values follow the strongSwan fixtures' addresses.

func sampleStatus() *edge.IPsecStatus {
	return &edge.IPsecStatus{
		Running: true, AESNI: true,
		TotalSites: 2, SitesUp: 1, SitesDown: 1,
		TotalTunnels: 2, TunnelsUp: 1, TunnelsDown: 1,
		Sites: []edge.Site{
			{
				Name:    "192.0.2.1_10.1.1.0/24-192.0.2.2_10.2.2.0/24",
				Channel: edge.Channel{PeerIP: netip.MustParseAddr("192.0.2.2"), LocalIP: netip.MustParseAddr("192.0.2.1"), Version: "IKEv2", Status: "UP"},
				Tunnels: []edge.Tunnel{{PeerSubnet: netip.MustParsePrefix("10.2.2.0/24"), LocalSubnet: netip.MustParsePrefix("10.1.1.0/24"), Status: "UP"}},
			},
			{
				Name:    "192.0.2.1_10.1.1.0/24-198.51.100.7_10.3.3.0/24",
				Channel: edge.Channel{PeerIP: netip.MustParseAddr("198.51.100.7"), LocalIP: netip.MustParseAddr("192.0.2.1"), Version: "IKEv1", Status: "DOWN", Reason: "Authentication Failed"},
				Tunnels: []edge.Tunnel{{PeerSubnet: netip.MustParsePrefix("10.3.3.0/24"), LocalSubnet: netip.MustParsePrefix("10.1.1.0/24"), Status: "DOWN", Reason: "IPSec-SA Proposals or Traffic Selectors did not match."}},
			},
		},
	}
}

func sampleSA() *edge.SAStatus {
	return &edge.SAStatus{Up: 1, IKESAs: []edge.IKESA{{
		Name: "s2s", ID: 1, State: "ESTABLISHED", Age: "3 seconds ago",
		Local: netip.MustParseAddr("192.0.2.1"), Remote: netip.MustParseAddr("192.0.2.2"),
		LocalID: "192.0.2.1", RemoteID: "192.0.2.2",
		Version: 2, InitiatorSPI: "099375f221aecbec", ResponderSPI: "7172077d801d245f", LocalIsInit: true,
		Rekey:    "rekeying in 3 hours",
		Proposal: "AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
		Children: []edge.ChildSA{{
			Name: "s2s-net", ID: 1, State: "INSTALLED", Mode: "TUNNEL", ReqID: 1, Protocol: "ESP",
			SPIIn: "8db7054e", SPIOut: "c225109e", Proposal: "AES_CBC_256/HMAC_SHA2_256_128",
			BytesIn: 840, PacketsIn: 10, BytesOut: 840, PacketsOut: 10, Rekey: "rekeying in 58 minutes",
			LocalTS:  []netip.Prefix{netip.MustParsePrefix("10.1.1.0/24")},
			RemoteTS: []netip.Prefix{netip.MustParsePrefix("10.2.2.0/24")},
		}},
	}}}
}

func samplePolicies() []edge.Policy {
	tmplOut := edge.PolicyTemplate{Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("192.0.2.2"), Proto: "esp", SPI: 0xc225109e, ReqID: 1, Mode: "tunnel"}
	tmplIn := edge.PolicyTemplate{Src: netip.MustParseAddr("192.0.2.2"), Dst: netip.MustParseAddr("192.0.2.1"), Proto: "esp", ReqID: 1, Mode: "tunnel"}
	return []edge.Policy{
		{Src: netip.MustParsePrefix("10.1.1.0/24"), Dst: netip.MustParsePrefix("10.2.2.0/24"), Dir: "out", Action: "allow", Priority: 375423, Templates: []edge.PolicyTemplate{tmplOut}},
		{Src: netip.MustParsePrefix("10.2.2.0/24"), Dst: netip.MustParsePrefix("10.1.1.0/24"), Dir: "fwd", Action: "allow", Priority: 375423, Templates: []edge.PolicyTemplate{tmplIn}},
		{Src: netip.MustParsePrefix("10.2.2.0/24"), Dst: netip.MustParsePrefix("10.1.1.0/24"), Dir: "in", Action: "allow", Priority: 375423, Templates: []edge.PolicyTemplate{tmplIn}},
	}
}

func sampleRoutes() *edge.RouteTable {
	return &edge.RouteTable{Total: 3, Routes: []edge.Route{
		{Code: "S", Prefix: netip.MustParsePrefix("0.0.0.0/0"), AdminDistance: 1, Metric: 1, NextHop: netip.MustParseAddr("192.0.2.254")},
		{Code: "C", Prefix: netip.MustParsePrefix("10.1.1.0/24"), NextHop: netip.MustParseAddr("10.1.1.1")},
		{Code: "C", Prefix: netip.MustParsePrefix("192.0.2.0/24"), NextHop: netip.MustParseAddr("192.0.2.1")},
	}}
}

func sampleInterfaces() []edge.Interface {
	return []edge.Interface{
		{Name: "vNic_0", Up: true, LineUp: true, Index: 3, MTU: 1500, Flags: []string{"UP", "BROADCAST", "RUNNING", "MULTICAST"},
			HWAddr: "00:50:56:9d:74:93", Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24"), netip.MustParsePrefix("fe80::250:56ff:fe9d:7493/64")},
			InPackets: 22451, InBytes: 4017743, InDropped: 1535, OutPackets: 44431, OutBytes: 7692037},
		{Name: "vNic_1", Up: true, LineUp: true, Index: 4, MTU: 1500, Flags: []string{"UP", "BROADCAST", "RUNNING", "MULTICAST"},
			HWAddr: "00:50:56:9d:3c:01", Addrs: []netip.Prefix{netip.MustParsePrefix("10.1.1.1/24")}},
	}
}

func sampleConfig() *edge.IPsecConfig {
	return &edge.IPsecConfig{
		Enabled: true,
		Logging: &edge.IPsecLogging{Enable: true, LogLevel: "warning"},
		Sites: edge.IPsecConfigSites{Sites: []edge.IPsecConfigSite{{
			Enabled: true, Name: "branch-fw", SiteID: "ipsecsite-1",
			LocalID: "192.0.2.1", LocalIP: "192.0.2.1", PeerID: "192.0.2.2", PeerIP: "192.0.2.2",
			IPsecSessionType: "policybasedsession", EncryptionAlgorithm: "aes256", DigestAlgorithm: "sha-256",
			AuthenticationMode: "psk", PSK: "****", EnablePFS: true, DHGroup: "dh14", IKEOption: "ikev2",
			LocalSubnets: edge.Subnets{Subnets: []string{"10.1.1.0/24"}},
			PeerSubnets:  edge.Subnets{Subnets: []string{"10.2.2.0/24"}},
		}}},
	}
}

// sampleLog is `show log` in the syslog shape (charon lines from the ikev2-psk_mismatch fixture's wording).
const sampleLog = `2026-11-27T04:18:32.747Z edge-01 charon[2211]: 07[IKE] <s2s|1> initiating IKE_SA s2s[1] to 192.0.2.2
2026-11-27T04:18:32.801Z edge-01 charon[2211]: 07[ENC] <s2s|1> parsed IKE_AUTH response 1 [ N(AUTH_FAILED) ]
2026-11-27T04:18:32.801Z edge-01 charon[2211]: 07[IKE] <s2s|1> received AUTHENTICATION_FAILED notify error
Nov 27 04:18:40 edge-01 kernel: [ 1234.5678] vNic_0: link up
`
