package ike

import (
	"encoding/binary"
	"net/netip"

	"github.com/google/gopacket/layers"
)

// dissector turns one captured frame into a packetInfo: link, IP (with a small fragment
// reassembly, as tshark does), UDP 500/4500, ESP, ICMP (including the packet an ICMP error
// quotes) and IKE, with IKEv1 fragment reassembly. It reuses its buffers: a packetInfo and the
// Messages it points to are valid until the next call.
type dissector struct {
	link    layers.LinkType
	info    packetInfo
	msgs    [3]Message
	ipFrags fragTable
	v1Frags v1FragTable
}

// packetInfo is what one frame holds that the analyzer reads.
type packetInfo struct {
	frame   int
	wireLen int
	ip      ipInfo
	udp     bool
	sport   uint16
	dport   uint16

	ike       []ikeRef // IKE messages in the frame (a fragment, then the message it completes)
	esp       bool
	espSPI    uint32
	espSeq    uint32
	espEncap  bool
	espLen    int // bytes of the IP packet carrying the ESP
	espInICMP bool
	espNoSeq  bool // only the SPI was there (4-7 bytes), as tshark shows it

	keepalive  bool
	ipFragment bool // this frame is an IP fragment
	malformed  error

	icmp       bool
	icmpType   uint8
	icmpCode   uint8
	icmpV6     bool
	icmpID     uint16
	icmpSeq    uint16
	quoted     ipInfo // the packet an ICMP error quotes
	quotedUDP  bool
	quotedPort [2]uint16
}

type ipInfo struct {
	version  uint8
	src, dst netip.Addr
	proto    uint8
	length   int // IP total length
	df       bool
}

// ikeRef is one IKE message in a frame.
type ikeRef struct {
	msg         *Message
	raw         []byte // the bytes decoded, as they came (a malformed message has no Contents)
	marker      bool   // after the non-ESP marker on UDP 4500
	inICMP      bool   // quoted in an ICMP error
	reassembled bool   // rebuilt from IKEv1 fragments
	err         error
}

func (d *dissector) reset(frame, wireLen int) *packetInfo {
	ike := d.info.ike[:0]
	d.info = packetInfo{frame: frame, wireLen: wireLen, ike: ike}
	return &d.info
}

// dissect decodes one frame.
func (d *dissector) dissect(frame int, data []byte, wireLen int) *packetInfo {
	p := d.reset(frame, wireLen)
	ipb, ok := linkPayload(d.link, data)
	if !ok {
		return p
	}
	d.ip(p, ipb)
	return p
}

// linkPayload strips the link-layer header and returns the IP packet, if the frame carries one.
func linkPayload(link layers.LinkType, b []byte) ([]byte, bool) {
	var etype uint16
	switch link {
	case layers.LinkTypeEthernet:
		if len(b) < 14 {
			return nil, false
		}
		etype, b = binary.BigEndian.Uint16(b[12:]), b[14:]
		for (etype == 0x8100 || etype == 0x88a8) && len(b) >= 4 {
			etype, b = binary.BigEndian.Uint16(b[2:]), b[4:]
		}
	case layers.LinkTypeLinuxSLL:
		if len(b) < 16 {
			return nil, false
		}
		etype, b = binary.BigEndian.Uint16(b[14:]), b[16:]
	case linkTypeSLL2:
		if len(b) < 20 {
			return nil, false
		}
		etype, b = binary.BigEndian.Uint16(b[0:]), b[20:]
	case layers.LinkTypeRaw, 12, 14:
		return b, len(b) > 0
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if len(b) < 4 {
			return nil, false
		}
		return b[4:], true
	default:
		return nil, false
	}
	return b, etype == 0x0800 || etype == 0x86dd
}

// parseIP reads an IPv4 or IPv6 header. It returns the transport payload (cut to the IP length)
// and fragment facts: frag says the packet is a fragment, first that it holds offset 0.
func parseIP(b []byte, ip *ipInfo) (payload []byte, frag, first, more bool, id uint32, offset int, ok bool) {
	if len(b) < 1 {
		return
	}
	switch b[0] >> 4 {
	case 4:
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || len(b) < ihl {
			return
		}
		total := int(binary.BigEndian.Uint16(b[2:]))
		if total < ihl {
			return
		}
		ip.version, ip.length, ip.proto = 4, total, b[9]
		ip.src = netip.AddrFrom4([4]byte(b[12:16]))
		ip.dst = netip.AddrFrom4([4]byte(b[16:20]))
		fl := binary.BigEndian.Uint16(b[6:])
		ip.df = fl&0x4000 != 0
		more = fl&0x2000 != 0
		offset = int(fl&0x1fff) * 8
		frag, first, id = more || offset > 0, offset == 0, uint32(binary.BigEndian.Uint16(b[4:]))
		if total < len(b) {
			b = b[:total]
		}
		return b[ihl:], frag, first, more, id, offset, true
	case 6:
		if len(b) < 40 {
			return
		}
		ip.version, ip.proto = 6, b[6]
		ip.length = 40 + int(binary.BigEndian.Uint16(b[4:]))
		ip.src = netip.AddrFrom16([16]byte(b[8:24]))
		ip.dst = netip.AddrFrom16([16]byte(b[24:40]))
		if ip.length < len(b) {
			b = b[:ip.length]
		}
		b = b[40:]
		// Walk the extension headers we know until the transport header.
		for {
			switch ip.proto {
			case 0, 43, 60: // hop-by-hop, routing, destination options
				if len(b) < 8 {
					return
				}
				n := 8 + int(b[1])*8
				if len(b) < n {
					return
				}
				ip.proto, b = b[0], b[n:]
				continue
			case 44: // fragment
				if len(b) < 8 {
					return
				}
				fo := binary.BigEndian.Uint16(b[2:])
				ip.proto = b[0]
				offset, more = int(fo>>3)*8, fo&1 != 0
				frag, first, id = true, offset == 0, binary.BigEndian.Uint32(b[4:])
				return b[8:], frag, first, more, id, offset, true
			}
			return b, false, true, false, 0, 0, true
		}
	}
	return
}

// ip handles an outer IP packet.
func (d *dissector) ip(p *packetInfo, b []byte) {
	payload, frag, _, more, id, offset, ok := parseIP(b, &p.ip)
	if !ok {
		return
	}
	if frag {
		p.ipFragment = true
		whole, done := d.ipFrags.add(fragKey{p.ip.src, p.ip.dst, id, p.ip.proto}, offset, more, payload)
		if !done {
			return
		}
		payload = whole
	}
	switch p.ip.proto {
	case 17:
		d.udp(p, payload, false)
	case 50:
		d.plainESP(p, payload, false)
	case 1:
		d.icmp(p, payload, false)
	case 58:
		d.icmp(p, payload, true)
	}
}

// udp handles a UDP datagram; quoted is for one inside an ICMP error (its payload may be cut).
func (d *dissector) udp(p *packetInfo, b []byte, quoted bool) {
	if len(b) < 8 {
		return
	}
	sport, dport := binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
	ulen := int(binary.BigEndian.Uint16(b[4:]))
	payload := b[8:]
	if ulen >= 8 && ulen-8 < len(payload) {
		payload = payload[:ulen-8]
	}
	if quoted {
		p.quotedUDP, p.quotedPort = true, [2]uint16{sport, dport}
	} else {
		p.udp, p.sport, p.dport = true, sport, dport
	}
	// As tshark does, the lower port decides when both are ours.
	lo, hi := min(sport, dport), max(sport, dport)
	switch {
	case lo == PortIKE || (hi == PortIKE && lo != PortNATT):
		d.ike(p, payload, false, quoted)
	case lo == PortNATT || hi == PortNATT:
		kind, ok := ClassifyEncap(payload)
		switch {
		case !ok && len(payload) >= 4 && binary.BigEndian.Uint32(payload) != 0:
			// 4-7 bytes: tshark still shows an ESP SPI; so do we, without a sequence number.
			p.esp, p.espEncap, p.espInICMP, p.espNoSeq = true, true, quoted, true
			p.espSPI = binary.BigEndian.Uint32(payload)
		case !ok:
		case kind == EncapKeepalive:
			if !quoted {
				p.keepalive = true
			}
		case kind == EncapIKE:
			d.ike(p, payload[4:], true, quoted)
		case ok:
			p.esp, p.espEncap, p.espInICMP = true, true, quoted
			p.espSPI, p.espSeq = binary.BigEndian.Uint32(payload), binary.BigEndian.Uint32(payload[4:])
			if quoted {
				p.espLen = p.quoted.length
			} else {
				p.espLen = p.ip.length
			}
		}
	}
}

// ike decodes an IKE message and, for an IKEv1 fragment that completes a message, the message too.
func (d *dissector) ike(p *packetInfo, b []byte, marker, quoted bool) {
	if len(b) < HeaderLen || len(p.ike) >= len(d.msgs)-1 {
		return // tshark does not call anything shorter than the header IKE either
	}
	m := &d.msgs[len(p.ike)]
	err := m.decode(b, quoted)
	p.ike = append(p.ike, ikeRef{msg: m, raw: b, marker: marker, inICMP: quoted, err: err})
	if err != nil {
		if p.malformed == nil {
			p.malformed = err
		}
		return
	}
	if quoted || m.MajorVersion != 1 || len(m.Payloads) != 1 || m.Payloads[0].Type != PayloadFragV1 {
		return
	}
	f, err := ParseFragment(1, m.Payloads[0].Body)
	if err != nil {
		return
	}
	whole, ok := d.v1Frags.add(m.InitiatorSPI, f)
	if !ok {
		return
	}
	r := &d.msgs[len(p.ike)]
	rerr := r.decode(whole, false)
	p.ike = append(p.ike, ikeRef{msg: r, raw: whole, marker: marker, reassembled: true, err: rerr})
}

// icmp handles ICMP and ICMPv6: echo for the ping flows, errors with the packet they quote.
func (d *dissector) icmp(p *packetInfo, b []byte, v6 bool) {
	if len(b) < 8 {
		return
	}
	p.icmp, p.icmpV6, p.icmpType, p.icmpCode = true, v6, b[0], b[1]
	p.icmpID, p.icmpSeq = binary.BigEndian.Uint16(b[4:]), binary.BigEndian.Uint16(b[6:])
	isError := (!v6 && (b[0] == 3 || b[0] == 11 || b[0] == 12)) || (v6 && b[0] >= 1 && b[0] <= 4)
	if !isError {
		return
	}
	inner, frag, first, _, _, _, ok := parseIP(b[8:], &p.quoted)
	if !ok || (frag && !first) {
		return
	}
	switch p.quoted.proto {
	case 17:
		d.udp(p, inner, true)
	case 50:
		d.plainESP(p, inner, true)
	}
}

// plainESP reads the SPI and sequence of ESP in IP protocol 50.
func (d *dissector) plainESP(p *packetInfo, b []byte, quoted bool) {
	if len(b) < 4 {
		return
	}
	p.esp, p.espInICMP, p.espSPI = true, quoted, binary.BigEndian.Uint32(b)
	if len(b) >= 8 {
		p.espSeq = binary.BigEndian.Uint32(b[4:])
	} else {
		p.espNoSeq = true
	}
	p.espLen = p.ip.length
	if quoted {
		p.espLen = p.quoted.length
	}
}

// fragKey identifies the fragments of one IP packet.
type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
}

type fragBuf struct {
	data     []byte
	received int
	end      int // -1 until the last fragment arrives
}

// fragTable is a bounded IP reassembly table: enough to see UDP in fragmented IKE, never a
// memory sink (at most maxFragPackets packets of at most 64 KiB each).
type fragTable struct{ m map[fragKey]*fragBuf }

const maxFragPackets = 64

func (t *fragTable) add(k fragKey, offset int, more bool, b []byte) ([]byte, bool) {
	if t.m == nil {
		t.m = make(map[fragKey]*fragBuf)
	}
	f := t.m[k]
	if f == nil {
		if len(t.m) >= maxFragPackets {
			clear(t.m)
		}
		f = &fragBuf{end: -1}
		t.m[k] = f
	}
	if offset+len(b) > 1<<16 {
		delete(t.m, k)
		return nil, false
	}
	if need := offset + len(b); need > len(f.data) {
		f.data = append(f.data, make([]byte, need-len(f.data))...)
	}
	copy(f.data[offset:], b)
	f.received += len(b)
	if !more {
		f.end = offset + len(b)
	}
	if f.end < 0 || f.received < f.end {
		return nil, false
	}
	delete(t.m, k)
	return f.data[:f.end], true
}

// v1FragTable reassembles IKEv1 fragments (payload 132) per initiator SPI and fragment ID.
type v1FragTable struct{ m map[v1FragKey]*v1FragBuf }

type v1FragKey struct {
	ispi uint64
	id   uint16
}

type v1FragBuf struct {
	parts [][]byte // by fragment number - 1
	last  int
}

func (t *v1FragTable) add(ispi uint64, f Fragment) ([]byte, bool) {
	if f.Number == 0 || f.Number > 32 {
		return nil, false
	}
	if t.m == nil {
		t.m = make(map[v1FragKey]*v1FragBuf)
	}
	k := v1FragKey{ispi, f.ID}
	b := t.m[k]
	if b == nil {
		if len(t.m) >= maxFragPackets {
			clear(t.m)
		}
		b = &v1FragBuf{}
		t.m[k] = b
	}
	n := int(f.Number)
	for len(b.parts) < n {
		b.parts = append(b.parts, nil)
	}
	b.parts[n-1] = append([]byte{}, f.Data...)
	if f.Last {
		b.last = n
	}
	if b.last == 0 || len(b.parts) < b.last {
		return nil, false
	}
	var whole []byte
	for _, part := range b.parts[:b.last] {
		if part == nil {
			return nil, false
		}
		whole = append(whole, part...)
	}
	delete(t.m, k)
	return whole, true
}
