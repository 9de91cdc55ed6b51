package lab

import (
	"fmt"
	"net/netip"
	"time"

	"ipsecbot/diag/nsx"
	"ipsecbot/lab/nsxsim"
)

// The watch lab: with Options.Edges, edges edge-01 ... edge-N each with two tunnels whose
// statistics change with the Manager's clock. Edge-01's first tunnel drops every FlapEvery,
// down for a third of it with the authentication failure message; every other tunnel stays
// up and rekeys every RekeyEvery (default WatchRekeyEvery).
const (
	DefaultFlapEvery = time.Minute
	WatchRekeyEvery  = 30 * time.Second
	watchTunnels     = 2
)

// watchEdgeName and watchEdgeID name the lab's i-th edge (1-based): edge-01 / edge-1.
func watchEdgeName(i int) string { return fmt.Sprintf("edge-%02d", i) }
func watchEdgeID(i int) string   { return fmt.Sprintf("edge-%d", i) }

// watchTimeline is edge i's statistics over time.
func watchTimeline(i int, start time.Time, flapEvery, rekeyEvery time.Duration) nsxsim.Timeline {
	tl := nsxsim.Timeline{Start: start}
	for j := 1; j <= watchTunnels; j++ {
		n := (i-1)*watchTunnels + j
		t := nsxsim.TimelineTunnel{
			SiteID:      fmt.Sprintf("ipsecsite-%d", j),
			LocalIP:     EdgeUplinkIP.String(),
			PeerIP:      netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + n%250)}).String(),
			LocalSubnet: fmt.Sprintf("10.%d.%d.0/24", n/256, n%256),
			PeerSubnet:  fmt.Sprintf("172.16.%d.0/24", n%256),
			RekeyEvery:  rekeyEvery,
		}
		if i == 1 && j == 1 {
			t.RekeyEvery, t.FlapEvery, t.Failure = 0, flapEvery, nsx.MsgIKEv2AuthFailed
		}
		tl.Tunnels = append(tl.Tunnels, t)
	}
	return tl
}

// watchEdges makes the Manager's content of edges 2..n (edge 1 is the scenario's edge, whose
// statistics the caller replaces with watchTimeline(1, ...)).
func watchEdges(n int, start time.Time, flapEvery, rekeyEvery time.Duration) []nsxsim.EdgeContent {
	var out []nsxsim.EdgeContent
	for i := 2; i <= n; i++ {
		out = append(out, nsxsim.EdgeContent{ID: watchEdgeID(i), Name: watchEdgeName(i),
			StatisticsAt: watchTimeline(i, start, flapEvery, rekeyEvery).At})
	}
	return out
}
