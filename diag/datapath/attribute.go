package datapath

import (
	"slices"
	"time"
)

// Which echo an ESP packet carries is learnt from the clear packets on the same clock: at the
// Edge's uplink (point 3) from its internal interface (point 2), at a gateway (point 4) from its
// own clear side. A clear packet going into the tunnel was encrypted shortly after it was seen
// (the feeder), one coming out was decrypted shortly before. The ESP packet must also be larger
// by what ESP in tunnel mode adds.
const (
	cryptoLag   = 500 * time.Millisecond // at most this between a packet and its ESP form
	cryptoSlack = 50 * time.Millisecond  // capture timestamps of two interfaces may disagree this much
	espMinExtra = 30                     // outer IPv4 header 20 + SPI and sequence 8 + pad length and next header 2
	espMaxExtra = 400                    // outer IPv6, UDP encapsulation, IV, padding and ICV at their largest
	// replyWithin bounds the time between an echo request's ESP and its reply's at one point,
	// when the reply is matched to its request because no clear packet names it.
	replyWithin = 250 * time.Millisecond
)

type espSeen struct {
	key espKey
	s   *sighting
}

type clearSeen struct {
	key pktKey
	s   *sighting
}

// attribute maps ESP packets of spi in esps to the clear packets (all of them going one way) that
// fed them (feeders: clear seen before encryption) or that they became (clear seen after
// decryption). A feeder takes the lowest ESP sequence number that fits, since the sender numbers
// packets in the order it encrypts them; a decrypted packet takes the earliest ESP that fits, since
// the receiver decrypts in arrival order. Entries already in out are kept.
func attribute(esps map[espKey]*sighting, spi uint32, clears []clearSeen, feeders bool, out map[espKey]pktKey) {
	attributeWithin(esps, spi, clears, feeders, cryptoLag, cryptoSlack, out)
}

// attributeWithin is attribute with the window given: an ESP packet at most lag after its
// feeder (before the packet it became), slack the other way.
func attributeWithin(esps map[espKey]*sighting, spi uint32, clears []clearSeen, feeders bool, lag, slack time.Duration, out map[espKey]pktKey) {
	var list []espSeen
	for k, s := range esps {
		if k.spi == spi {
			if _, done := out[k]; !done {
				list = append(list, espSeen{k, s})
			}
		}
	}
	if len(list) == 0 || len(clears) == 0 {
		return
	}
	slices.SortFunc(list, func(a, b espSeen) int { return a.s.t.Compare(b.s.t) })
	slices.SortFunc(clears, func(a, b clearSeen) int { return a.s.t.Compare(b.s.t) })
	used := make([]bool, len(list))
	for _, c := range clears {
		lo, hi := c.s.t.Add(-slack), c.s.t.Add(lag)
		if !feeders {
			lo, hi = c.s.t.Add(-lag), c.s.t.Add(slack)
		}
		first, _ := slices.BinarySearchFunc(list, lo, func(e espSeen, t time.Time) int { return e.s.t.Compare(t) })
		best := -1
		for i := first; i < len(list) && !list[i].s.t.After(hi); i++ {
			extra := list[i].s.ipLen - c.s.ipLen
			if used[i] || extra < espMinExtra || extra > espMaxExtra {
				continue
			}
			if best < 0 || feeders && list[i].key.seq < list[best].key.seq {
				best = i
			}
			if !feeders {
				break // the earliest that fits
			}
		}
		if best >= 0 {
			used[best] = true
			out[list[best].key] = c.key
		}
	}
}

// clearGoing lists the clear packets of v going toward host 2 (or away from it).
func clearGoing(v *view, towardHost2 bool) []clearSeen {
	var out []clearSeen
	for k, s := range v.clear {
		if k.towardHost2() == towardHost2 {
			out = append(out, clearSeen{k, s})
		}
	}
	return out
}

// attributeAll maps every ESP packet it can of points 3 and 4 to the echo it carries. ESP
// sequence numbers are the same at both ends of the tunnel, so one map serves both points.
func attributeAll(in *Input, p2, p3, p4 *view) map[espKey]pktKey {
	out := map[espKey]pktKey{}
	// The Edge: its internal side feeds the outbound SA and receives from the inbound one.
	attribute(p3.esp, in.SPIOut, clearGoing(p2, true), true, out)
	attribute(p3.esp, in.SPIIn, clearGoing(p2, false), false, out)
	// The gateway: the other way round.
	attribute(p4.esp, in.SPIIn, clearGoing(p4, false), true, out)
	attribute(p4.esp, in.SPIOut, clearGoing(p4, true), false, out)
	// Replies no clear packet names (the Edge did not decrypt them, or the far side has no
	// clear view): the ESP of the same size on the other SA that follows a request's closely.
	pairReplies(p3.esp, in, out)
	pairReplies(p4.esp, in, out)
	// What is left, across the two clocks: the Edge's ESP against the far side's clear packets
	// (a remote host's capture), the far side's ESP against the Edge's clear ones.
	if o, ok := farOffset(in, p2, p3, p4); ok {
		attributeWithin(p3.esp, in.SPIIn, shift(clearGoing(p4, false), -o), true, wanLag, wanSlack, out)
		attributeWithin(p3.esp, in.SPIOut, shift(clearGoing(p4, true), -o), false, wanLag, wanSlack, out)
		attributeWithin(p4.esp, in.SPIOut, shift(clearGoing(p2, true), o), true, wanLag, wanSlack, out)
		attributeWithin(p4.esp, in.SPIIn, shift(clearGoing(p2, false), o), false, wanLag, wanSlack, out)
	}
	return out
}

// The window across clocks: the offset is estimated, and the WAN's delay is in it.
const (
	wanLag   = 750 * time.Millisecond
	wanSlack = 250 * time.Millisecond
)

// farOffset estimates the far side's clock minus the Edge's from the packets seen on both: a
// packet toward host 2 arrives at offset + delay, one toward VM 1 at offset - delay, so with
// both the delay cancels; with one way only the delay stays in (within the window).
func farOffset(in *Input, p2, p3, p4 *view) (time.Duration, bool) {
	var toHost2, toVM []time.Duration
	for k, s := range p2.clear {
		if f := p4.clear[k]; f != nil {
			if k.towardHost2() {
				toHost2 = append(toHost2, f.t.Sub(s.t))
			} else {
				toVM = append(toVM, s.t.Sub(f.t))
			}
		}
	}
	for k, s := range p3.esp {
		if f := p4.esp[k]; f != nil {
			if k.spi == in.SPIOut {
				toHost2 = append(toHost2, f.t.Sub(s.t))
			} else {
				toVM = append(toVM, s.t.Sub(f.t))
			}
		}
	}
	switch {
	case len(toHost2) > 0 && len(toVM) > 0:
		return (median(toHost2) - median(toVM)) / 2, true
	case len(toHost2) > 0:
		return median(toHost2), true
	case len(toVM) > 0:
		return -median(toVM), true
	}
	return 0, false
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

// shift moves clear sightings onto another clock.
func shift(clears []clearSeen, by time.Duration) []clearSeen {
	out := make([]clearSeen, len(clears))
	for i, c := range clears {
		s := *c.s
		s.t = s.t.Add(by)
		out[i] = clearSeen{c.key, &s}
	}
	return out
}

// pairReplies gives an unattributed ESP packet of esps to the echo request whose ESP it
// follows within replyWithin on the other SA, when the two are of one size (an echo reply is
// its request's size, and so is its ESP).
func pairReplies(esps map[espKey]*sighting, in *Input, out map[espKey]pktKey) {
	var free []espSeen
	carried := map[pktKey]bool{}
	for k, s := range esps {
		if v, done := out[k]; done {
			carried[v] = true
		} else {
			free = append(free, espSeen{k, s})
		}
	}
	slices.SortFunc(free, func(a, b espSeen) int { return a.s.t.Compare(b.s.t) })
	used := make([]bool, len(free))
	for k, s := range esps {
		req, ok := out[k]
		if !ok || req.reply || carried[pktKey{req.ping, req.seq, true}] {
			continue
		}
		other := in.SPIIn
		if k.spi == in.SPIIn {
			other = in.SPIOut
		}
		first, _ := slices.BinarySearchFunc(free, s.t, func(e espSeen, t time.Time) int { return e.s.t.Compare(t) })
		for i := first; i < len(free) && free[i].s.t.Sub(s.t) <= replyWithin; i++ {
			f := free[i]
			if used[i] || f.key.spi != other || f.s.ipLen != s.ipLen || !f.s.t.After(s.t) {
				continue
			}
			reply := pktKey{req.ping, req.seq, true}
			used[i], out[f.key], carried[reply] = true, reply, true
			break
		}
	}
}
