package main

import (
	"net/netip"
	"testing"

	"ipsecbot/config"
)

// Ensure each edge's SSH and HA addresses send as that edge, and auto_diagnose is the edge's
// own setting over the watch section's.
func TestSyslogSendersAndAutoDiagnose(t *testing.T) {
	off := false
	cfg := &config.Config{
		Watch: config.Watch{AutoDiagnose: true},
		Edges: []config.Edge{
			{Name: "edge-01", SSH: &config.SSH{Address: "192.0.2.1:22"}, Peers: []config.Peer{{Name: "branch", Address: "198.51.100.20"}}},
			{Name: "edge-02", SSH: &config.SSH{HAAddresses: []string{"192.0.2.11:22", "[2001:db8::12]:22"}}, AutoDiagnose: &off},
			{Name: "edge-03"},
		},
	}
	got, err := syslogSenders(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"192.0.2.1": "edge-01", "192.0.2.11": "edge-02", "2001:db8::12": "edge-02"}
	if len(got) != len(want) {
		t.Errorf("senders = %v, want %v", got, want)
	}
	for a, e := range want {
		if got[netip.MustParseAddr(a)] != e {
			t.Errorf("sender %s = %q, want %s", a, got[netip.MustParseAddr(a)], e)
		}
	}
	if !cfg.AutoDiagnose("edge-01") || cfg.AutoDiagnose("edge-02") || !cfg.AutoDiagnose("edge-03") {
		t.Error("auto_diagnose: want the watch default, overridden per edge")
	}
	if peerOfSite(cfg, "edge-01", "198.51.100.20") != "branch" || peerOfSite(cfg, "edge-01", "ipsecsite-9") != "" {
		t.Error("a watch site maps to its peer by address, else to none")
	}
}
