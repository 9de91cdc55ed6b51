// Package scenes builds captures with the diag/ike encoder: small synthetic ones that exercise
// what the strongSwan fixtures lack (plain ESP, keepalives, IP and IKEv1 fragments, pings, ICMP
// errors, malformed IKE, IPv6), and the large ESP-heavy capture for the benchmark.
package scenes

import (
	"encoding/binary"
	"io"
	"net/netip"
	"time"

	"ipsecbot/diag/ike"
)

// Synthetic maps a capture name to the function that writes it.
var Synthetic = map[string]func(io.Writer) error{
	"v2-plain-esp": v2PlainESP,
	"v1-natt":      v1NATT,
	"edge-cases":   edgeCases,
}

var (
	edge  = netip.MustParseAddr("198.51.100.1")
	peer  = netip.MustParseAddr("203.0.113.2")
	edge6 = netip.MustParseAddr("2001:db8::1")
	peer6 = netip.MustParseAddr("2001:db8::2")
	t0    = time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
)

func ap(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }

// clock hands out increasing capture times.
type clock struct{ t time.Time }

func (c *clock) next(d time.Duration) time.Time { c.t = c.t.Add(d); return c.t }

func bytesOf(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// saInit builds an IKE_SA_INIT request or response with the usual payloads.
func saInit(ispi, rspi uint64, response bool, notifies ...ike.Notify) *ike.Message {
	flags := ike.FlagInitiator
	if response {
		flags = ike.FlagResponse
	}
	m := &ike.Message{InitiatorSPI: ispi, ResponderSPI: rspi, MajorVersion: 2, ExchangeType: 34, Flags: flags}
	m.Payloads = []ike.Payload{
		ike.IKEv2Proposal(12, 256, 5, 12, 14).Payload(2),
		ike.KEPayload(14, bytesOf(256, 1)),
		{Type: ike.PayloadNonce, Body: bytesOf(32, 2)},
		ike.Notify{Type: 16388, Data: bytesOf(20, 3)}.Payload(2),
		ike.Notify{Type: 16389, Data: bytesOf(20, 4)}.Payload(2),
		ike.Notify{Type: 16430}.Payload(2),
	}
	for _, n := range notifies {
		m.Payloads = append(m.Payloads, n.Payload(2))
	}
	return m
}

// sk builds an encrypted IKEv2 message.
func sk(ispi, rspi uint64, exch uint8, msgID uint32, fromInitiator, response bool, inner ike.PayloadType, size int) *ike.Message {
	var flags uint8
	if fromInitiator {
		flags |= ike.FlagInitiator
	}
	if response {
		flags |= ike.FlagResponse
	}
	return &ike.Message{InitiatorSPI: ispi, ResponderSPI: rspi, MajorVersion: 2, ExchangeType: exch, Flags: flags, MessageID: msgID,
		Payloads: []ike.Payload{ike.EncryptedPayload(inner, bytesOf(size, byte(msgID)))}}
}

func v2PlainESP(w io.Writer) error {
	cw, err := ike.NewCaptureWriter(w)
	if err != nil {
		return err
	}
	c := &clock{t0}
	e, p := ap(edge, 500), ap(peer, 500)
	const ispi, rspi = 0x1111222233334444, 0x5555666677778888
	steps := []func() error{
		func() error { return cw.IKE(c.next(0), e, p, saInit(ispi, 0, false)) },
		func() error { return cw.IKE(c.next(3*time.Millisecond), p, e, saInit(ispi, rspi, true)) },
		func() error {
			return cw.IKE(c.next(time.Millisecond), e, p, sk(ispi, rspi, 35, 1, true, false, ike.PayloadIDi, 240))
		},
		func() error {
			return cw.IKE(c.next(time.Millisecond), p, e, sk(ispi, rspi, 35, 1, false, true, ike.PayloadIDr, 208))
		},
	}
	// ESP both ways, with sequence 5 lost on the way out.
	for i := uint32(1); i <= 8; i++ {
		seq := i
		steps = append(steps, func() error {
			if seq == 5 {
				return nil
			}
			return cw.ESP(c.next(10*time.Millisecond), edge, peer, 0xc0ffee01, seq, 120)
		}, func() error { return cw.ESP(c.next(time.Millisecond), peer, edge, 0xbeef0002, seq, 120) })
	}
	// Pings outside the tunnel: small ones answered, a large DF one not, then fragmentation needed.
	steps = append(steps,
		func() error { return cw.Echo(c.next(time.Millisecond), edge, peer, 7, 1, false, 84, true) },
		func() error { return cw.Echo(c.next(time.Millisecond), peer, edge, 7, 1, true, 84, true) },
		func() error { return cw.Echo(c.next(time.Millisecond), edge, peer, 7, 2, false, 1400, true) },
		func() error {
			orig := ipv4Header(edge, peer, 50, 1476, true)
			orig = append(orig, 0xc0, 0xff, 0xee, 0x01, 0, 0, 0, 9)
			return cw.ICMPError(c.next(time.Millisecond), netip.MustParseAddr("192.0.2.254"), edge, 4, 1300, orig)
		},
		// A rekey answered by a short notify, a DPD never answered (retransmitted), a failed SA_INIT.
		func() error {
			return cw.IKE(c.next(time.Second), e, p, sk(ispi, rspi, 36, 2, true, false, ike.PayloadNotify, 480))
		},
		func() error {
			return cw.IKE(c.next(time.Millisecond), p, e, sk(ispi, rspi, 36, 2, false, true, ike.PayloadNotify, 80))
		},
		func() error {
			return cw.IKE(c.next(time.Second), e, p, sk(ispi, rspi, 37, 3, true, false, ike.PayloadNone, 48))
		},
		func() error {
			return cw.IKE(c.next(time.Second), e, p, sk(ispi, rspi, 37, 3, true, false, ike.PayloadNone, 48))
		},
		func() error { return cw.IKE(c.next(time.Second), e, p, saInit(0x9999aaaabbbbcccc, 0, false)) },
		func() error {
			m := &ike.Message{InitiatorSPI: 0x9999aaaabbbbcccc, MajorVersion: 2, ExchangeType: 34, Flags: ike.FlagResponse,
				Payloads: []ike.Payload{ike.Notify{Type: 14}.Payload(2)}}
			return cw.IKE(c.next(time.Millisecond), p, e, m)
		},
		// IKE_AUTH in two SKF fragments.
		func() error {
			m := &ike.Message{InitiatorSPI: ispi, ResponderSPI: rspi, MajorVersion: 2, ExchangeType: 35, Flags: ike.FlagInitiator, MessageID: 4,
				Payloads: []ike.Payload{ike.FragmentPayload(1, 2, ike.PayloadIDi, bytesOf(600, 9))}}
			return cw.IKE(c.next(time.Millisecond), e, p, m)
		},
		func() error {
			m := &ike.Message{InitiatorSPI: ispi, ResponderSPI: rspi, MajorVersion: 2, ExchangeType: 35, Flags: ike.FlagInitiator, MessageID: 4,
				Payloads: []ike.Payload{ike.FragmentPayload(2, 2, ike.PayloadIDi, bytesOf(300, 10))}}
			return cw.IKE(c.next(time.Millisecond), e, p, m)
		},
	)
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

// v1SA is a Main Mode SA: aes256, sha256, psk, modp2048, 3 hours.
func v1SA() *ike.SA {
	return &ike.SA{DOI: 1, Situation: 1, Proposals: []ike.Proposal{{Number: 1, Protocol: 1, Transforms: []ike.Transform{{
		Number: 1, ID: 1, Attributes: []ike.Attribute{
			{Type: 1, Basic: true, Value: 7}, {Type: 14, Basic: true, Value: 256}, {Type: 2, Basic: true, Value: 4},
			{Type: 3, Basic: true, Value: 1}, {Type: 4, Basic: true, Value: 14}, {Type: 11, Basic: true, Value: 1},
			{Type: 12, Data: []byte{0, 0, 0x2a, 0x30}},
		}}}}}}
}

func v1(ispi, rspi uint64, exch, flags uint8, msgID uint32, payloads ...ike.Payload) *ike.Message {
	return &ike.Message{InitiatorSPI: ispi, ResponderSPI: rspi, MajorVersion: 1, ExchangeType: exch, Flags: flags, MessageID: msgID, Payloads: payloads}
}

func v1Encrypted(ispi, rspi uint64, exch uint8, msgID uint32, first ike.PayloadType, size int) *ike.Message {
	return &ike.Message{InitiatorSPI: ispi, ResponderSPI: rspi, MajorVersion: 1, ExchangeType: exch, Flags: ike.FlagEncryption,
		MessageID: msgID, NextPayload: first, Encrypted: bytesOf(size, byte(msgID))}
}

func v1NATT(w io.Writer) error {
	cw, err := ike.NewCaptureWriter(w)
	if err != nil {
		return err
	}
	c := &clock{t0}
	e, p := ap(edge, 500), ap(peer, 500)
	e4, p4 := ap(edge, 4500), ap(peer, 4500)
	const ispi, rspi = 0x0102030405060708, 0x1112131415161718
	vids := []ike.Payload{
		{Type: ike.PayloadVendorV1, Body: []byte{0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9, 0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00}},
		{Type: ike.PayloadVendorV1, Body: []byte{0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45, 0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f}},
		{Type: ike.PayloadVendorV1, Body: []byte{0x40, 0x48, 0xb7, 0xd5, 0x6e, 0xbc, 0xe8, 0x85, 0x25, 0xe7, 0xde, 0x7f, 0x00, 0xd6, 0xc2, 0xd3, 0x80, 0, 0, 0}},
	}
	natd := func(s byte) ike.Payload { return ike.Payload{Type: ike.PayloadNATD, Body: bytesOf(32, s)} }
	mm5 := v1Encrypted(ispi, rspi, 2, 0, ike.PayloadIDv1, 76)
	mm5b, err := mm5.Marshal()
	if err != nil {
		return err
	}
	frag := func(n uint8, last bool, data []byte) *ike.Message {
		body := []byte{0, 1, n, 0}
		if last {
			body[3] = 1
		}
		return v1(ispi, rspi, 2, 0, 0, ike.Payload{Type: ike.PayloadFragV1, Body: append(body, data...)})
	}
	steps := []func() error{
		func() error {
			return cw.IKE(c.next(0), e, p, v1(ispi, 0, 2, 0, 0, append([]ike.Payload{v1SA().Payload(1)}, vids...)...))
		},
		func() error {
			return cw.IKE(c.next(time.Millisecond), p, e, v1(ispi, rspi, 2, 0, 0, append([]ike.Payload{v1SA().Payload(1)}, vids...)...))
		},
		func() error {
			return cw.IKE(c.next(time.Millisecond), e, p, v1(ispi, rspi, 2, 0, 0, ike.Payload{Type: ike.PayloadKEv1, Body: bytesOf(256, 5)},
				ike.Payload{Type: ike.PayloadNoncev1, Body: bytesOf(32, 6)}, natd(7), natd(8)))
		},
		func() error {
			return cw.IKE(c.next(time.Millisecond), p, e, v1(ispi, rspi, 2, 0, 0, ike.Payload{Type: ike.PayloadKEv1, Body: bytesOf(256, 9)},
				ike.Payload{Type: ike.PayloadNoncev1, Body: bytesOf(32, 10)}, natd(11), natd(12)))
		},
		// Main Mode 5 floats to 4500 and is sent in two IKEv1 fragments; 6 comes back whole.
		func() error { return cw.IKE(c.next(time.Millisecond), e4, p4, frag(1, false, mm5b[:60])) },
		func() error { return cw.IKE(c.next(time.Millisecond), e4, p4, frag(2, true, mm5b[60:])) },
		func() error {
			return cw.IKE(c.next(time.Millisecond), p4, e4, v1Encrypted(ispi, rspi, 2, 0, ike.PayloadIDv1, 76))
		},
		func() error {
			return cw.IKE(c.next(time.Millisecond), e4, p4, v1Encrypted(ispi, rspi, 32, 0xabcdef01, ike.PayloadHASH, 400))
		},
		func() error {
			return cw.IKE(c.next(time.Millisecond), p4, e4, v1Encrypted(ispi, rspi, 32, 0xabcdef01, ike.PayloadHASH, 400))
		},
		func() error {
			return cw.IKE(c.next(time.Millisecond), e4, p4, v1Encrypted(ispi, rspi, 32, 0xabcdef01, ike.PayloadHASH, 60))
		},
	}
	for i := uint32(1); i <= 4; i++ {
		seq := i
		steps = append(steps,
			func() error { return cw.ESPInUDP(c.next(100*time.Millisecond), e4, p4, 0xc1a2b3c4, seq, 140) },
			func() error { return cw.ESPInUDP(c.next(time.Millisecond), p4, e4, 0xd1a2b3c4, seq, 140) })
	}
	steps = append(steps,
		func() error { return cw.Keepalive(c.next(time.Second), e4, p4) },
		func() error { return cw.Keepalive(c.next(time.Millisecond), p4, e4) },
		// DPD: R-U-THERE and its ack (encrypted), then a cleartext error notify with a Delete.
		func() error {
			return cw.IKE(c.next(time.Second), e4, p4, v1Encrypted(ispi, rspi, 5, 0x22222222, ike.PayloadHASH, 92))
		},
		func() error {
			return cw.IKE(c.next(time.Millisecond), p4, e4, v1Encrypted(ispi, rspi, 5, 0x33333333, ike.PayloadHASH, 92))
		},
		func() error {
			return cw.IKE(c.next(time.Second), p4, e4, v1(ispi, rspi, 5, 0, 0x44444444,
				ike.Notify{DOI: 1, Protocol: 1, Type: 18}.Payload(1),
				ike.Delete{DOI: 1, Protocol: 1, SPISize: 16, SPIs: [][]byte{bytesOf(16, 1)}}.Payload(1)))
		},
		// A new Main Mode the peer refuses in cleartext.
		func() error {
			return cw.IKE(c.next(time.Second), e, p, v1(0x0a0b0c0d0e0f0001, 0, 2, 0, 0, v1SA().Payload(1)))
		},
		func() error {
			return cw.IKE(c.next(time.Millisecond), p, e, v1(0x0a0b0c0d0e0f0001, 0x99, 5, 0, 0, ike.Notify{DOI: 1, Protocol: 1, Type: 14}.Payload(1)))
		},
	)
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

// ipv4Header builds a 20-byte IPv4 header (checksum filled) for hand-made frames.
func ipv4Header(src, dst netip.Addr, proto uint8, total int, df bool) []byte {
	h := make([]byte, 20)
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(total))
	binary.BigEndian.PutUint16(h[4:], 0x4242)
	if df {
		h[6] = 0x40
	}
	h[8], h[9] = 64, proto
	s4, d4 := src.As4(), dst.As4()
	copy(h[12:], s4[:])
	copy(h[16:], d4[:])
	binary.BigEndian.PutUint16(h[10:], ike.Checksum(h))
	return h
}

var ethHeader = []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00}

// udpFrame builds an Ethernet/IPv4/UDP frame by hand (UDP checksum 0), for odd payloads.
func udpFrame(src, dst netip.AddrPort, payload []byte) []byte {
	u := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(u, src.Port())
	binary.BigEndian.PutUint16(u[2:], dst.Port())
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(payload)))
	u = append(u, payload...)
	f := append(append([]byte{}, ethHeader...), ipv4Header(src.Addr(), dst.Addr(), 17, 20+len(u), false)...)
	return append(f, u...)
}

// fragments splits a UDP datagram into two IPv4 fragments at a multiple of 8 bytes.
func fragments(src, dst netip.Addr, udp []byte, cut int) [][]byte {
	mk := func(part []byte, offset int, more bool) []byte {
		h := ipv4Header(src, dst, 17, 20+len(part), false)
		fo := uint16(offset / 8)
		if more {
			fo |= 0x2000
		}
		binary.BigEndian.PutUint16(h[6:], fo)
		binary.BigEndian.PutUint16(h[10:], 0)
		binary.BigEndian.PutUint16(h[10:], ike.Checksum(h))
		return append(append(append([]byte{}, ethHeader...), h...), part...)
	}
	return [][]byte{mk(udp[:cut], 0, true), mk(udp[cut:], cut, false)}
}

func edgeCases(w io.Writer) error {
	cw, err := ike.NewCaptureWriter(w)
	if err != nil {
		return err
	}
	c := &clock{t0}
	e, p := ap(edge, 500), ap(peer, 500)
	big := saInit(0x7777000011112222, 0, false, ike.Notify{Type: 16390, Data: bytesOf(1200, 3)})
	bigb, err := big.Marshal()
	if err != nil {
		return err
	}
	udp := udpFrame(e, p, bigb)[14+20:]
	good := saInit(0x7777000011113333, 0, false)
	goodb, err := good.Marshal()
	if err != nil {
		return err
	}
	cut := append([]byte{}, goodb...)
	binary.BigEndian.PutUint32(cut[24:], uint32(len(goodb)+40)) // length field says more than there is
	badPayload := append([]byte{}, goodb[:28]...)
	badPayload[16] = 41
	badPayload = append(badPayload, 0, 0, 0, 2) // a notify payload of length 2
	binary.BigEndian.PutUint32(badPayload[24:], uint32(len(badPayload)))
	frames := [][]byte{}
	frames = append(frames, fragments(edge, peer, udp, 1000)...)
	frames = append(frames,
		udpFrame(e, p, cut),
		udpFrame(e, p, badPayload),
		udpFrame(e, p, bytesOf(10, 1)),
		udpFrame(ap(edge, 4500), ap(peer, 4500), []byte{1, 2, 3}),
		udpFrame(ap(edge, 4500), ap(peer, 4500), []byte{0xc1, 2, 3, 4, 5, 6}),
		udpFrame(ap(edge, 4500), ap(peer, 4500), []byte{0xff}),
		udpFrame(ap(edge, 4500), ap(peer, 4500), []byte{0, 0, 0, 0}),
	)
	for _, f := range frames {
		if err := cw.Frame(c.next(time.Millisecond), f); err != nil {
			return err
		}
	}
	// IPv6: IKE and plain ESP.
	if err := cw.IKE(c.next(time.Millisecond), ap(edge6, 500), ap(peer6, 500), saInit(0x6666, 0, false)); err != nil {
		return err
	}
	if err := cw.ESP(c.next(time.Millisecond), edge6, peer6, 0x66660001, 1, 100); err != nil {
		return err
	}
	return cw.ESPInUDP(c.next(time.Millisecond), ap(edge6, 4500), ap(peer6, 4500), 0x66660002, 1, 100)
}
