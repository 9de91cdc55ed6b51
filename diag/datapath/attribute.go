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
		lo, hi := c.s.t.Add(-cryptoSlack), c.s.t.Add(cryptoLag)
		if !feeders {
			lo, hi = c.s.t.Add(-cryptoLag), c.s.t.Add(cryptoSlack)
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
	return out
}

// pairReplies gives an unattributed ESP packet of esps to the echo request whose ESP it
// follows within replyWithin on the other SA, when the two are of one size (an echo reply is
// its request's size, and so is its ESP).
func pairReplies(esps map[espKey]*sighting, in *Input, out map[espKey]pktKey) {
	var free []espSeen
	for k, s := range esps {
		if _, done := out[k]; !done {
			free = append(free, espSeen{k, s})
		}
	}
	slices.SortFunc(free, func(a, b espSeen) int { return a.s.t.Compare(b.s.t) })
	carried := map[pktKey]bool{}
	for _, v := range out {
		carried[v] = true
	}
	for k, s := range esps {
		req, ok := out[k]
		if !ok || req.reply {
			continue
		}
		other := in.SPIIn
		if k.spi == in.SPIIn {
			other = in.SPIOut
		}
		reply := pktKey{req.ping, req.seq, true}
		for i, f := range free {
			if f.key.spi != other || f.s.ipLen != s.ipLen || !f.s.t.After(s.t) || f.s.t.Sub(s.t) > replyWithin {
				continue
			}
			if !carried[reply] {
				out[f.key], carried[reply] = reply, true
				free = slices.Delete(free, i, i+1)
			}
			break
		}
	}
}
