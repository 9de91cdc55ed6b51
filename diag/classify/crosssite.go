package classify

import (
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"ipsecbot/diag"
)

// With captures from both sites, ESP lost on the way is seen directly: packets of an SPI that
// one capture saw leave and the other, capturing the same conversation over the same time,
// never saw arrive. SPIs survive NAT, so flows are matched by SPI alone.
//
// "The same conversation over the same time" is established from the IKE messages both
// captures hold: an IKE message is the same bytes at both capture points, so each one seen in
// both captures ties them together. It proves the other capture is on the path of this host
// pair (not a capture of another tunnel), and the median difference of the two times lines up
// clocks that may differ by seconds. The other capture must span the whole flow on that common
// clock; otherwise nothing is claimed.

const (
	maxAnchors = 4096 // IKE messages remembered per capture
	maxFlows   = 4096 // SPI flows kept per capture; past it the capture proves no absence
	// lostShare: at most one packet in lostShare arriving counts as lost on the way; an MTU
	// limit or a flap loses some packets of an SPI, not (nearly) all.
	lostShare = 10
)

// anchor is the first sighting of an IKE message in one capture.
type anchor struct {
	at       time.Time
	src, dst string
}

type spiKey struct {
	spi      uint32
	src, dst string
}

// spiFlow is the ESP of one SPI in one direction within the window.
type spiFlow struct {
	spiKey
	packets     int
	firstFrame  int
	first, last time.Time
}

func (cf *captureFacts) addAnchor(p wirePacket, at time.Time) {
	h := fnv.New64a()
	h.Write(p.ike)
	k := h.Sum64()
	if _, seen := cf.anchors[k]; seen || len(cf.anchors) >= maxAnchors {
		return
	}
	cf.anchors[k] = anchor{at: at, src: p.src, dst: p.dst}
}

func (cf *captureFacts) addFlow(p wirePacket, frame int, at time.Time) {
	k := spiKey{p.spi, p.src, p.dst}
	f := cf.bySPI[k]
	if f == nil && len(cf.flows) >= maxFlows {
		cf.flowsCut = true
		return
	}
	if f == nil {
		f = &spiFlow{spiKey: k, firstFrame: frame, first: at}
		cf.bySPI[k] = f
		cf.flows = append(cf.flows, f)
	}
	f.packets++
	f.last = at
}

// clockOffset returns how much later the other capture's clock reads than this one's, from
// the IKE messages both saw that passed between the two hosts (either way, as this capture
// names them). ok is false when they share none.
func (cf *captureFacts) clockOffset(other *captureFacts, a, b string) (offset time.Duration, shared int, ok bool) {
	var diffs []time.Duration
	for k, x := range cf.anchors {
		if !(x.src == a && x.dst == b || x.src == b && x.dst == a) {
			continue
		}
		if y, ok := other.anchors[k]; ok {
			diffs = append(diffs, y.at.Sub(x.at))
		}
	}
	if len(diffs) == 0 {
		return 0, 0, false
	}
	slices.Sort(diffs)
	return diffs[len(diffs)/2], len(diffs), true
}

// arrived counts the packets of an SPI in the capture, whatever their addresses.
func (cf *captureFacts) arrived(spi uint32) int {
	n := 0
	for _, f := range cf.flows {
		if f.spi == spi {
			n += f.packets
		}
	}
	return n
}

// observeAcrossSites compares every pair of captures: an SPI flow of at least 3 packets in one
// that (nearly) never shows in the other, while the other saw the same IKE conversation over
// the whole time of the flow.
func observeAcrossSites(caps []*captureFacts) []observation {
	var obs []observation
	for _, x := range caps {
		for _, y := range caps {
			if x == y || y.firstFrame == 0 || y.flowsCut {
				continue
			}
			for _, f := range x.flows {
				if f.packets < 3 {
					continue
				}
				offset, shared, ok := x.clockOffset(y, f.src, f.dst)
				if !ok || y.first.After(f.first.Add(offset)) || y.last.Before(f.last.Add(offset)) {
					continue
				}
				got := y.arrived(f.spi)
				if got*lostShare > f.packets {
					continue
				}
				ref := diag.FrameRef(x.path, int64(f.firstFrame)).String()
				obs = append(obs, observation{event: evESPLostOnPath, name: x.path, flow: espFlow{f.src, f.dst}, ev: diag.Evidence{
					Source: diag.SourcePcap, Ref: ref,
					Text: fmt.Sprintf("SPI %08x: %d packets left %s (%s), %d arrived at %s (%s, which saw %d of the same IKE messages over the whole time)",
						f.spi, f.packets, f.src, ref, got, f.dst, y.path, shared),
				}})
			}
		}
	}
	return obs
}
