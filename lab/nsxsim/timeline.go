package nsxsim

import (
	"fmt"
	"hash/fnv"
	"time"

	"ipsecbot/diag/nsx"
)

// Timeline makes an edge's statistics as a function of time, for EdgeContent.StatisticsAt:
// tunnels that stay up and rekey, or drop once per period. The same time always gives the
// same document.
type Timeline struct {
	Start   time.Time
	Tunnels []TimelineTunnel
}

// TimelineTunnel is one tunnel, in a site of its own.
type TimelineTunnel struct {
	SiteID                  string
	LocalIP, PeerIP         string
	LocalSubnet, PeerSubnet string
	// FlapEvery makes the tunnel drop once per period, down for the last third of it, and come
	// back with new SAs (0: it never drops).
	FlapEvery time.Duration
	// RekeyEvery gives an up tunnel new SAs every period, with the rekey counters moving (0:
	// never). A flapping tunnel does not rekey.
	RekeyEvery time.Duration
	// Failure is the failure message shown while down.
	Failure string
}

// DownShare is the part of a flap period a flapping tunnel is down.
const DownShare = 3

// establishedLayout is how NSX writes establishedDate.
const establishedLayout = "Jan _2 15:04:05 2006"

// Down reports whether the tunnel is down at elapsed since the timeline's start.
func (t TimelineTunnel) Down(elapsed time.Duration) bool {
	if t.FlapEvery <= 0 {
		return false
	}
	return elapsed%t.FlapEvery >= t.FlapEvery-t.FlapEvery/DownShare
}

// At is the statistics document at now.
func (tl Timeline) At(now time.Time) *nsx.Statistics {
	el := max(now.Sub(tl.Start), 0)
	st := &nsx.Statistics{ServerStatus: "running", TimeStamp: nsx.Counter(now.Unix())}
	var rekeys uint64
	for i, t := range tl.Tunnels {
		site := nsx.SiteStatistics{SiteID: t.SiteID}
		ike := &nsx.IKEStatus{
			ChannelStatus: "up", ChannelState: "ESTABLISHED", LocalIPAddress: t.LocalIP, PeerID: t.PeerIP,
			PeerIPAddress: t.PeerIP, LocalSubnets: []string{t.LocalSubnet}, PeerSubnets: []string{t.PeerSubnet},
			ChannelIKEVersion: "IKEv2",
		}
		ts := nsx.TunnelStats{TunnelStatus: "up", TunnelState: "INSTALLED", LocalSubnet: t.LocalSubnet, PeerSubnet: t.PeerSubnet,
			EncryptionAlgorithm: "aes-cbc", AuthenticationAlgorithm: "hmac-sha256"}
		var sa uint64 // which SA the tunnel is on
		var since time.Duration
		switch {
		case t.FlapEvery > 0:
			sa, since = uint64(el/t.FlapEvery), el%t.FlapEvery
		case t.RekeyEvery > 0:
			sa, since = uint64(el/t.RekeyEvery), el%t.RekeyEvery
			rekeys += sa
		default:
			since = el
		}
		if t.Down(el) {
			ike.ChannelStatus, ike.ChannelState = "down", "CONNECTING"
			ts.TunnelStatus, ts.TunnelState, ts.FailureMessage = "down", "", t.Failure
		} else {
			ts.LocalSPI, ts.PeerSPI = spi(i, sa, 'l'), spi(i, sa, 'p')
			ts.EstablishedDate = now.Add(-since).UTC().Format(establishedLayout)
			n := nsx.Counter(since / time.Second * 10)
			ts.PacketsIn, ts.PacketsOut = n, n
			ts.RxBytesOnLocalSubnet, ts.TxBytesFromLocalSubnet = n*100, n*100
		}
		site.IKEStatus = ike
		site.Tunnels = []nsx.TunnelStats{ts}
		st.Sites = append(st.Sites, site)
	}
	st.IKEStatistics = []nsx.IKECounters{{IKEVersion: "ikev2", IKEChildSaRekey: nsx.Counter(rekeys),
		IKEOutCrChildReq: nsx.Counter(rekeys), IKEInCrChildRsp: nsx.Counter(rekeys)}}
	return st
}

// spi is a stable SPI for tunnel i's SA number sa, one per side.
func spi(i int, sa uint64, side byte) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%d/%d/%c", i, sa, side)
	return fmt.Sprintf("%08x", h.Sum32())
}
