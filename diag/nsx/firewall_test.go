package nsx_test

import (
	"net/netip"
	"testing"

	"ipsecbot/diag/nsx"
)

func TestFirewallConfig_Allows(t *testing.T) {
	fw, err := nsx.ParseFirewallConfig(open(t, "firewall-config.xml"))
	if err != nil {
		t.Fatal(err)
	}
	edge, peer, other := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("203.0.113.2"), netip.MustParseAddr("192.0.2.9")
	lan := netip.MustParseAddr("10.1.1.10")
	tests := []struct {
		name       string
		src, dst   netip.Addr
		proto      string
		port       int
		wantAllow  bool
		wantRuleID string
	}{
		{"ike-500-from-peer", peer, edge, "udp", 500, true, "131080"},
		{"natt-4500-from-peer", peer, edge, "udp", 4500, true, "131080"},
		{"esp-from-peer-disabled-rule-skipped", peer, edge, "esp", 0, false, "131082"},
		{"esp-by-number", peer, edge, "50", 0, false, "131082"},
		{"ike-from-other-denied", other, edge, "udp", 500, false, "131082"},
		{"excluded-lan-falls-to-default", lan, edge, "tcp", 22, false, "131073"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, id := fw.Allows(tt.src, tt.dst, tt.proto, tt.port)
			if ok != tt.wantAllow || id != tt.wantRuleID {
				t.Errorf("Allows = %v, %q; want %v, %q", ok, id, tt.wantAllow, tt.wantRuleID)
			}
		})
	}
}

func TestFirewallConfig_AllowsRangesDefaultsAndDisabled(t *testing.T) {
	no := false
	a, b := netip.MustParseAddr("203.0.113.2"), netip.MustParseAddr("198.51.100.1")
	fw := &nsx.FirewallConfig{
		DefaultPolicy: &nsx.FirewallPolicy{Action: "accept"},
		Rules: []nsx.FirewallRule{
			{RuleTag: "5", Action: "deny", Enabled: &no},
			{Action: "deny", Source: &nsx.FirewallEndpoint{IPAddresses: []string{"203.0.113.1-203.0.113.3"}},
				Application: &nsx.FirewallApplication{Services: []nsx.FirewallService{{Protocol: "udp", Ports: []string{"400-600"}}}}},
			{Action: "accept", Destination: &nsx.FirewallEndpoint{GroupingObjectIDs: []string{"ipset-1"}}},
		},
	}
	if ok, id := fw.Allows(a, b, "udp", 500); ok || id != "#2" {
		t.Errorf("range rule: %v %q", ok, id)
	}
	if ok, id := fw.Allows(a, b, "udp", 4500); !ok || id != nsx.RuleDefaultPolicy {
		t.Errorf("default accept: %v %q", ok, id)
	}
	fw.DefaultPolicy = nil
	if ok, id := fw.Allows(a, b, "esp", 0); ok || id != nsx.RuleDefaultPolicy {
		t.Errorf("absent default policy is deny: %v %q", ok, id)
	}
	fw.Enabled = &no
	if ok, id := fw.Allows(a, b, "esp", 0); !ok || id != nsx.RuleFirewallDisabled {
		t.Errorf("disabled firewall: %v %q", ok, id)
	}
}
