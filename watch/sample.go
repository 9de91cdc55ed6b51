package watch

import (
	"fmt"
	"strings"
	"time"

	"ipsecbot/diag/nsx"
	"ipsecbot/store"
)

// Key names one tunnel: an edge, an IPsec site, and the tunnel's local-peer subnet pair.
type Key struct {
	Edge   string `json:"edge"`
	Site   string `json:"site"`
	Tunnel string `json:"tunnel"` // "192.168.1.0/24-192.168.11.0/24"
}

func (k Key) String() string { return k.Edge + " " + k.Site + " " + k.Tunnel }

func (k Key) triple() [3]string { return [3]string{k.Edge, k.Site, k.Tunnel} }

// TunnelName is how a tunnel is named: its local and peer subnets.
func TunnelName(local, peer string) string { return local + "-" + peer }

// Reading is one tunnel's sample from one sweep.
type Reading struct {
	Key
	Sample store.WatchSample
}

// Readings turns an edge's statistics into one reading per tunnel. A site without siteId is
// named by its peer address (older documents lack the id).
func Readings(edge string, st *nsx.Statistics) []Reading {
	var rekeys uint64
	for _, c := range st.IKEStatistics {
		rekeys += uint64(c.IKEInitRekey) + uint64(c.IKERspRekey) + uint64(c.IKEChildSaRekey)
	}
	hasIKE := len(st.IKEStatistics) > 0
	var out []Reading
	for i := range st.Sites {
		site := &st.Sites[i]
		name := site.SiteID
		var ike nsx.IKEStatus
		if site.IKEStatus != nil {
			ike = *site.IKEStatus
		}
		if name == "" {
			name = ike.PeerIPAddress
		}
		if name == "" {
			name = fmt.Sprintf("site-%d", i+1)
		}
		for ti := range site.Tunnels {
			t := &site.Tunnels[ti]
			out = append(out, Reading{
				Key: Key{Edge: edge, Site: name, Tunnel: TunnelName(t.LocalSubnet, t.PeerSubnet)},
				Sample: store.WatchSample{
					ChannelStatus: strings.TrimSpace(ike.ChannelStatus),
					ChannelState:  strings.TrimSpace(ike.ChannelState),
					TunnelStatus:  strings.TrimSpace(t.TunnelStatus),
					TunnelState:   strings.TrimSpace(t.TunnelState),
					Failure:       site.Failure(t),
					Info:          site.Info(t),
					LocalSPI:      strings.TrimSpace(t.LocalSPI),
					PeerSPI:       strings.TrimSpace(t.PeerSPI),
					Established:   strings.TrimSpace(t.EstablishedDate),
					PacketsIn:     uint64(t.PacketsIn),
					PacketsOut:    uint64(t.PacketsOut),
					BytesIn:       uint64(t.RxBytesOnLocalSubnet),
					BytesOut:      uint64(t.TxBytesFromLocalSubnet),
					Errors: uint64(t.PacketSentErrors) + uint64(t.EncryptionFailures) + uint64(t.SequenceNumberOverFlowErrors) +
						uint64(t.PacketReceivedErrors) + uint64(t.DecryptionFailures) + uint64(t.ReplayErrors) + uint64(t.IntegrityErrors),
					Rekeys: rekeys,
					HasIKE: hasIKE,
				},
			})
		}
	}
	return out
}

// isUp reads a tunnel as up when its tunnel status is up and its channel is not said down.
func isUp(s *store.WatchSample) bool {
	up := func(v string) bool { return strings.EqualFold(v, "up") }
	return up(s.TunnelStatus) && (s.ChannelStatus == "" || up(s.ChannelStatus))
}

// establishedLayouts are how NSX writes establishedDate ("Jul 31 14:56:22 2017").
var establishedLayouts = []string{"Jan _2 15:04:05 2006", "Jan 2 15:04:05 2006"}

// parseEstablished reads an establishedDate; NSX gives no zone, so it is read as UTC.
func parseEstablished(s string) (time.Time, bool) {
	for _, l := range establishedLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func itoa(n int) string { return fmt.Sprint(n) }
