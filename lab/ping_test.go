package lab

import "testing"

// Ensure the Edge's ping is faithful to the fixtures' ping.txt: the peer's WAN address
// answers everywhere; packets over the WAN's 1300-byte path MTU are lost only in
// mtu_fragmentation; hosts behind the peer answer only through a tunnel that carries ESP.
func TestPing_FaithfulToFixtures(t *testing.T) {
	cases := []struct {
		scenario string
		dst      string
		size     int
		df       bool
		want     int
	}{
		{"mtu_fragmentation", "203.0.113.2", 56, true, pingCount},
		{"mtu_fragmentation", "203.0.113.2", 1372, true, 0},
		{"mtu_fragmentation", "10.2.2.10", 56, true, pingCount},
		{"mtu_fragmentation", "10.2.2.10", 1372, true, 0},
		{"healthy", "203.0.113.2", 1372, true, pingCount},
		{"healthy", "10.2.2.10", 1372, true, pingCount},
		{"peer_unreachable", "203.0.113.2", 56, false, pingCount}, // only UDP 500/4500 was blocked
		{"peer_unreachable", "10.2.2.10", 56, false, 0},
		{"esp_blocked", "10.2.2.10", 56, false, 0},
		{"flapping", "10.2.2.10", 56, false, pingCount}, // after the last flap
		{"healthy", "192.0.2.77", 56, false, 0},
		{"healthy", "not-an-ip", 56, false, 0},
	}
	for _, tc := range cases {
		sc, _ := LookupScenario(tc.scenario)
		c, err := loadContent(sc, "edge-01-0")
		if err != nil {
			t.Fatal(err)
		}
		sent, got := c.ping(tc.dst, tc.size, tc.df)
		if sent != pingCount || got != tc.want {
			t.Errorf("%s: ping %s size %d df=%v: %d/%d, want %d/%d", tc.scenario, tc.dst, tc.size, tc.df, got, sent, tc.want, pingCount)
		}
	}
}

func BenchmarkLoadContent(b *testing.B) {
	sc, _ := LookupScenario("flapping") // the largest fixture
	for b.Loop() {
		if _, err := loadContent(sc, "edge-01-0"); err != nil {
			b.Fatal(err)
		}
	}
}
