package edge

import (
	"fmt"
	"math"
	"net/netip"
)

// ESPCount is what the Edge's child SAs with one peer carried: the packets and bytes of
// `show service ipsec sa`'s bytes_i / bytes_o counters (docs/nsx-formats.md §1.3).
type ESPCount struct {
	PacketsIn, PacketsOut int64
	BytesIn, BytesOut     int64
}

// String is the count as the capture window shows it.
func (c ESPCount) String() string {
	return fmt.Sprintf("%d in / %d out", c.PacketsIn, c.PacketsOut)
}

// ESPSince is what the child SAs of the IKE SAs with peer carried between two readings of
// `show service ipsec sa`: base, then cur. A child SA in both (same name, id and SPIs) counts
// its counters' growth; one new in cur (a rekey installed it) or whose counters went back
// (replaced under the same id) counts all it has. What an SA deleted in between carried after
// base is not in cur and is not counted: the figure is a lower bound. ok is false when cur has
// no child SA with peer.
func ESPSince(base, cur *SAStatus, peer netip.Addr) (c ESPCount, ok bool) {
	before := map[childKey]ChildSA{}
	for _, ch := range peerChildren(base, peer) {
		before[keyOf(ch)] = ch
	}
	for _, ch := range peerChildren(cur, peer) {
		ok = true
		b, seen := before[keyOf(ch)]
		if !seen || ch.PacketsIn < b.PacketsIn || ch.PacketsOut < b.PacketsOut || ch.BytesIn < b.BytesIn || ch.BytesOut < b.BytesOut {
			b = ChildSA{}
		}
		c.PacketsIn = add(c.PacketsIn, ch.PacketsIn-b.PacketsIn)
		c.PacketsOut = add(c.PacketsOut, ch.PacketsOut-b.PacketsOut)
		c.BytesIn = add(c.BytesIn, ch.BytesIn-b.BytesIn)
		c.BytesOut = add(c.BytesOut, ch.BytesOut-b.BytesOut)
	}
	return c, ok
}

// add sums two non-negative counts, stopping at the largest int64 rather than wrapping.
func add(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

type childKey struct {
	name          string
	id            int
	spiIn, spiOut string
}

func keyOf(ch ChildSA) childKey { return childKey{ch.Name, ch.ID, ch.SPIIn, ch.SPIOut} }

// peerChildren are the child SAs of st's IKE SAs whose remote end is peer.
func peerChildren(st *SAStatus, peer netip.Addr) []ChildSA {
	if st == nil {
		return nil
	}
	var out []ChildSA
	for _, ike := range st.IKESAs {
		if ike.Remote.IsValid() && ike.Remote.Unmap() == peer.Unmap() {
			out = append(out, ike.Children...)
		}
	}
	return out
}
