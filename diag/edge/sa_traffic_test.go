package edge_test

import (
	"net/netip"
	"testing"

	"ipsecbot/diag/edge"
	"ipsecbot/lab/edgesim"
)

// readSA renders st as the Edge prints it and parses it back: the figure is computed from
// what the parser reads, never from the typed value.
func readSA(t testing.TB, st *edge.SAStatus) *edge.SAStatus {
	t.Helper()
	got, err := edge.ParseSA(edgesim.RenderSA(st))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// Ensure ESPSince counts the growth of the peer's child SAs between two readings, counts a
// rekeyed (new) SA whole, ignores other peers' SAs, and says when the peer has no child SA.
func TestESPSince(t *testing.T) {
	peer := netip.MustParseAddr("192.0.2.2")
	base := sampleSA()
	grown := sampleSA()
	ch := &grown.IKESAs[0].Children[0]
	ch.PacketsIn, ch.BytesIn, ch.PacketsOut, ch.BytesOut = 130, 10920, 128, 10752

	rekeyed := sampleSA()
	rekeyed.IKESAs[0].Children = append(rekeyed.IKESAs[0].Children, rekeyed.IKESAs[0].Children[0])
	nc := &rekeyed.IKESAs[0].Children[1]
	nc.ID, nc.SPIIn, nc.SPIOut, nc.PacketsIn, nc.BytesIn, nc.PacketsOut, nc.BytesOut = 2, "aa000001", "bb000001", 4, 336, 3, 252

	other := sampleSA()
	other.IKESAs[0].Remote = netip.MustParseAddr("198.51.100.9")

	for _, tc := range []struct {
		name      string
		base, cur *edge.SAStatus
		want      edge.ESPCount
		ok        bool
	}{
		{"no growth", base, base, edge.ESPCount{}, true},
		{"grown", base, grown, edge.ESPCount{PacketsIn: 120, PacketsOut: 118, BytesIn: 10080, BytesOut: 9912}, true},
		{"a rekey's new SA counts whole", base, rekeyed, edge.ESPCount{PacketsIn: 4, PacketsOut: 3, BytesIn: 336, BytesOut: 252}, true},
		{"counters went back: all of it", grown, base, edge.ESPCount{PacketsIn: 10, PacketsOut: 10, BytesIn: 840, BytesOut: 840}, true},
		{"no base reading", &edge.SAStatus{}, base, edge.ESPCount{PacketsIn: 10, PacketsOut: 10, BytesIn: 840, BytesOut: 840}, true},
		{"another peer's SA", base, other, edge.ESPCount{}, false},
		{"no SA at all", base, &edge.SAStatus{}, edge.ESPCount{}, false},
	} {
		got, ok := edge.ESPSince(readSA(t, tc.base), readSA(t, tc.cur), peer)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: got %+v %v, want %+v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	if s := (edge.ESPCount{PacketsIn: 120, PacketsOut: 118}).String(); s != "120 in / 118 out" {
		t.Errorf("String: %q", s)
	}
}

// FuzzESPSince reads two texts of `show service ipsec sa`: whatever they hold, the count
// between them is never negative.
func FuzzESPSince(f *testing.F) {
	grown := sampleSA()
	grown.IKESAs[0].Children[0].PacketsIn = 99
	f.Add(edgesim.RenderSA(sampleSA()), edgesim.RenderSA(grown))
	f.Add(edgesim.RenderSA(grown), edgesim.RenderSA(sampleSA()))
	f.Add(statusallSample, statusallSample)
	f.Add("Security Associations (0 up, 0 connecting):\n  none\n", edgesim.RenderSA(sampleSA()))
	peers := []netip.Addr{netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("10.10.0.10")}
	f.Fuzz(func(t *testing.T, a, b string) {
		base, err := edge.ParseSA(a)
		if err != nil {
			base = nil
		}
		cur, err := edge.ParseSA(b)
		if err != nil {
			return
		}
		for _, p := range peers {
			c, _ := edge.ESPSince(base, cur, p)
			if c.PacketsIn < 0 || c.PacketsOut < 0 || c.BytesIn < 0 || c.BytesOut < 0 {
				t.Fatalf("negative count %+v", c)
			}
		}
	})
}
