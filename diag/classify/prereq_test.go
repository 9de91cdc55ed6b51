package classify

import (
	"net/netip"
	"testing"

	"ipsecbot/diag"
)

// Ensure the prerequisite facts are judged from their fields: blocked ESP is esp_blocked,
// blocked IKE ports peer_unreachable; a lost don't-fragment ping that a small ping passes is
// mtu_fragmentation, a lost small ping peer_unreachable, answered pings point nowhere. The
// sentence people read is rendered from the same fields.
func TestPrereqFacts_JudgedFromFields(t *testing.T) {
	edge, peer := netip.MustParseAddr("203.0.113.2"), netip.MustParseAddr("198.51.100.1")
	ping := func(payload, sent, recv int, df bool) Ping {
		return Ping{Payload: payload, DontFragment: df, Sent: sent, Received: recv}
	}
	large := func(sent, recv int) *Ping { p := ping(1400, sent, recv, true); return &p }
	for _, tc := range []struct {
		name   string
		fact   Fact
		cause  diag.Cause
		weight float64
		text   string
	}{
		{"esp blocked", FirewallBlocked{Proto: "esp", From: edge, To: peer, Rule: "131074", Ref: "api/firewall-config:x"}.Fact(),
			diag.CauseESPBlocked, weightFirewallBlocked, "ESP from 203.0.113.2 to 198.51.100.1 is not allowed by the Edge firewall (rule 131074)"},
		{"ike blocked", FirewallBlocked{Proto: "udp", Port: 500, From: peer, To: edge}.Fact(),
			diag.CausePeerUnreachable, weightFirewallBlocked, "UDP 500 from 198.51.100.1 to 203.0.113.2 is not allowed by the Edge firewall (rule -)"},
		{"pmtu black hole", MTUProbe{Peer: peer, Small: ping(56, 3, 3, false), Large: large(3, 0)}.Fact(),
			diag.CauseMTUFragmentation, weightMTU, "ping 198.51.100.1 from the Edge: 56-byte payload 3/3 answered; 1400-byte payload with don't-fragment 0/3 answered"},
		{"peer silent", MTUProbe{Peer: peer, Small: ping(56, 3, 0, false), Large: large(3, 0)}.Fact(),
			diag.CausePeerUnreachable, weightPingUnanswered, "ping 198.51.100.1 from the Edge: 56-byte payload 0/3 answered; 1400-byte payload with don't-fragment 0/3 answered"},
		{"large not run", MTUProbe{Peer: peer, Small: ping(56, 3, 3, false)}.Fact(),
			"", 0, "ping 198.51.100.1 from the Edge: 56-byte payload 3/3 answered"},
		{"all answered", MTUProbe{Peer: peer, Small: ping(56, 3, 3, false), Large: large(3, 2)}.Fact(),
			"", 0, "ping 198.51.100.1 from the Edge: 56-byte payload 3/3 answered; 1400-byte payload with don't-fragment 2/3 answered"},
	} {
		if tc.fact.Cause != tc.cause || tc.fact.Weight != tc.weight || tc.fact.Evidence.Text != tc.text || tc.fact.Evidence.Source != diag.SourcePrereq {
			t.Errorf("%s: %+v; want %q %.1f %q", tc.name, tc.fact, tc.cause, tc.weight, tc.text)
		}
	}
}

// Ensure the classifier takes the prerequisite facts as they are: an MTU probe alone names
// mtu_fragmentation with its weight, cites its ref relative to RefDir, and a probe that points
// nowhere adds no candidate.
func TestClassify_PrereqFacts(t *testing.T) {
	peer := netip.MustParseAddr("198.51.100.1")
	probe := MTUProbe{Peer: peer, Small: Ping{Payload: 56, Sent: 3, Received: 3},
		Large: &Ping{Payload: 1400, DontFragment: true, Sent: 3}, Ref: diag.LineRef("/r/INC-1/show/ping.txt", 2).String()}
	v, err := Classify(t.Context(), Input{Pings: []MTUProbe{probe}, RefDir: "/r/INC-1"})
	if err != nil || v.Cause != diag.CauseMTUFragmentation || v.Confidence != weightMTU {
		t.Fatalf("%+v %v", v, err)
	}
	if len(v.Evidence) != 1 || v.Evidence[0].Ref != "show/ping.txt:2" {
		t.Errorf("evidence %+v, want show/ping.txt:2", v.Evidence)
	}
	probe.Large.Received = 3
	if v, _ := Classify(t.Context(), Input{Pings: []MTUProbe{probe}}); v.Cause != diag.CauseUnknown || len(v.AlsoSeen) != 0 {
		t.Errorf("answered pings: %s %+v", v.Cause, v.AlsoSeen)
	}
}
