package scene

import (
	"net/netip"
	"slices"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/datapath"
	"ipsecbot/diag/ike"
)

// Stations in the order a packet toward host 2 passes them.
const (
	stVMPort = iota
	stEdgeInternal
	stEdgeUplink
	stFarESP
	stFarClear
)

var (
	stationPoint = [5]int{1, 2, 3, 4, 4}
	// hopFault[i] is the fault that stops packets between station i and i+1.
	hopFault = [4]diag.Cause{datapath.DroppedBeforeEdge, datapath.EdgeNotEncrypting, datapath.LostOnWAN, datapath.PeerNotDecrypting}
	// Time from entering at VM 1's port (toward host 2) or at the far side's clear side
	// (toward VM 1) to each station.
	towardHost2At = [5]time.Duration{0, time.Millisecond, 1300 * time.Microsecond, 20 * time.Millisecond, 20400 * time.Microsecond}
	towardVMAt    = [5]time.Duration{21400 * time.Microsecond, 20400 * time.Microsecond, 20 * time.Millisecond, 300 * time.Microsecond, 0}
	otherVM       = netip.MustParseAddr("10.1.1.11")
)

const (
	otherID   uint16 = 0x3c03
	noiseSize int    = 1400
)

// espPacket is one ESP packet, seen at both ends of the tunnel; its sequence number is given
// once every packet of its SA is known, in the order they were encrypted.
type espPacket struct {
	spi  uint32
	seq  uint32
	size int
	enc  time.Time
}

type frame struct {
	t    time.Time // the point's own clock
	esp  *espPacket
	src  netip.Addr
	dst  netip.Addr
	id   uint16
	seq  uint16
	rep  bool
	size int
}

func (f frame) write(cw *ike.CaptureWriter, natt bool) error {
	if f.esp != nil {
		src, dst := EdgeUplink, Peer
		if f.esp.spi == SPIIn {
			src, dst = Peer, EdgeUplink
		}
		if natt {
			return cw.ESPInUDP(f.t, netip.AddrPortFrom(src, 4500), netip.AddrPortFrom(dst, 4500), f.esp.spi, f.esp.seq, f.esp.size)
		}
		return cw.ESP(f.t, src, dst, f.esp.spi, f.esp.seq, f.esp.size)
	}
	return cw.Echo(f.t, f.src, f.dst, f.id, f.seq, f.rep, f.size, false)
}

// sim is one run in progress.
type sim struct {
	s      Scene
	frames [4][]frame
	esp    []*espPacket
}

// echo is one echo on its way.
type echo struct {
	src, dst netip.Addr
	id, seq  uint16
	reply    bool
	toward   bool // toward host 2
	other    bool // another VM's ping: not at VM 1's port
}

func (s Scene) echoes() int {
	if s.Echoes <= 0 {
		return 4
	}
	return s.Echoes
}

// run simulates both pings and returns each point's frames in file order.
func (s Scene) run() [4][]frame {
	m := &sim{s: s}
	start := s.Start
	if start.IsZero() {
		start = time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	}
	n := s.echoes()
	for i := range n {
		t := start.Add(time.Duration(i) * time.Second)
		m.ping(t, echo{src: VM1, dst: Host2, id: ForwardID, seq: uint16(i + 1), toward: true})
		if s.Noise {
			m.ping(t.Add(400*time.Millisecond), echo{src: otherVM, dst: Host2, id: otherID, seq: uint16(i + 1), toward: true, other: true})
		}
	}
	for i := range n {
		t := start.Add(time.Duration(n+2+i) * time.Second)
		m.ping(t, echo{src: Host2, dst: VM1, id: ReturnID, seq: uint16(i + 1)})
	}
	if s.Busy > 0 {
		span := time.Duration(2*n+2) * time.Second
		for i := range s.Busy {
			at := start.Add(span * time.Duration(i) / time.Duration(s.Busy))
			m.noise(at, SPIOut)
			m.noise(at.Add(time.Millisecond), SPIIn)
		}
	}
	m.number()
	skew := [4]time.Duration{s.SkewESXi, 0, 0, s.SkewFar}
	for p := range m.frames {
		for i := range m.frames[p] {
			m.frames[p][i].t = m.frames[p][i].t.Add(skew[p])
		}
		slices.SortStableFunc(m.frames[p], func(a, b frame) int { return a.t.Compare(b.t) })
	}
	if s.Duplicate {
		var dup []frame
		for _, f := range m.frames[0] {
			g := f
			g.t = g.t.Add(5 * time.Microsecond)
			dup = append(dup, f, g)
		}
		m.frames[0] = dup
	}
	if far := m.frames[3]; s.Reorder && len(far) > 3 {
		i := len(far) / 2
		far[i], far[i+1] = far[i+1], far[i]
	}
	return m.frames
}

// ping sends one request and, if it arrives and its destination answers, the reply.
func (m *sim) ping(t time.Time, e echo) {
	at, ok := m.travel(t, e)
	if !ok {
		return
	}
	answers := m.s.Fault != datapath.RemoteNotAnswering || m.s.TowardVM == e.toward || e.other
	if !answers {
		return
	}
	e.reply, e.toward, e.src, e.dst = true, !e.toward, e.dst, e.src
	m.travel(at.Add(500*time.Microsecond), e)
}

// travel moves an echo along the path from t, leaving frames where it is seen; it returns when
// and whether it reached its destination's side.
func (m *sim) travel(t time.Time, e echo) (time.Time, bool) {
	order, at := []int{0, 1, 2, 3, 4}, towardHost2At
	if !e.toward {
		order, at = []int{4, 3, 2, 1, 0}, towardVMAt
	}
	var pkt *espPacket
	last := t
	for i, st := range order {
		if i > 0 && m.blocked(order[i-1], st, e) {
			return last, false
		}
		last = t.Add(at[st])
		if st == stVMPort && e.other {
			continue
		}
		if st == stEdgeUplink || st == stFarESP {
			if pkt == nil {
				pkt = m.encrypt(e, last)
			}
			if st == stFarESP && m.s.View == HostOnly {
				continue
			}
			m.add(stationPoint[st], frame{t: last, esp: pkt})
			if e.toward && st == stEdgeUplink && m.s.Noise {
				m.noise(last.Add(100*time.Microsecond), SPIOut)
			}
			continue
		}
		if st == stFarClear && m.s.View == ESPOnly {
			continue
		}
		m.add(stationPoint[st], frame{t: last, src: e.src, dst: e.dst, id: e.id, seq: e.seq, rep: e.reply, size: echoSize})
	}
	return last, true
}

// blocked reports whether the hop between stations a and b passes nothing for e.
func (m *sim) blocked(a, b int, e echo) bool {
	hop := hopFault[min(a, b)]
	if m.s.LoseOne && hop == datapath.LostOnWAN && e.id == ForwardID && e.seq == 2 && !e.reply {
		return true
	}
	return m.s.Fault == hop && m.s.TowardVM != e.toward
}

// encrypt makes the ESP packet that carries e, encrypted at t.
func (m *sim) encrypt(e echo, t time.Time) *espPacket {
	spi := SPIIn
	if e.toward {
		spi = SPIOut
	}
	// 8 bytes SPI and sequence, 16 IV, the packet padded to 16 with its 2 trailer bytes, 16 ICV.
	p := &espPacket{spi: spi, size: 8 + 16 + (echoSize+2+15)/16*16 + 16, enc: t}
	m.esp = append(m.esp, p)
	return p
}

// noise is a large packet of other traffic on the SA, seen where it leaves and (unless the WAN
// loses that way, or the far side sees no ESP) where it arrives, reordered ahead of the echo
// that went just before it when Reorder is set.
func (m *sim) noise(t time.Time, spi uint32) {
	p := &espPacket{spi: spi, size: noiseSize, enc: t}
	m.esp = append(m.esp, p)
	from, to, lost := 3, 4, m.s.Fault == datapath.LostOnWAN && !m.s.TowardVM
	if spi == SPIIn {
		from, to, lost = 4, 3, m.s.Fault == datapath.LostOnWAN && m.s.TowardVM
	}
	if from == 3 || m.s.View != HostOnly {
		m.add(from, frame{t: t, esp: p})
	}
	if lost || to == 4 && m.s.View == HostOnly {
		return
	}
	wan := 20 * time.Millisecond
	if m.s.Reorder {
		wan = 18 * time.Millisecond
	}
	m.add(to, frame{t: t.Add(wan), esp: p})
}

func (m *sim) add(point int, f frame) { m.frames[point-1] = append(m.frames[point-1], f) }

// number gives each SA's packets their sequence numbers in the order they were encrypted.
func (m *sim) number() {
	slices.SortStableFunc(m.esp, func(a, b *espPacket) int { return a.enc.Compare(b.enc) })
	next := map[uint32]uint32{SPIOut: 100, SPIIn: 200}
	for _, p := range m.esp {
		p.seq = next[p.spi]
		next[p.spi]++
	}
}
