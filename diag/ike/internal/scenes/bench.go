package scenes

import (
	"io"
	"net/netip"
	"time"

	"ipsecbot/diag/ike"
)

// imix is the simple IMIX (7:4:1 of 64, 570 and 1500-byte IP packets), as ESP payload sizes.
var imix = [12]int{60, 540, 60, 60, 540, 60, 1400, 60, 540, 60, 60, 540}

// Bench writes the benchmark capture: two tunnels (plain ESP and ESP in UDP 4500) carrying
// IMIX-sized traffic both ways, with an IKEv2 INFORMATIONAL (DPD) exchange every 5,000 packets, a
// CREATE_CHILD_SA every 50,000 and a new IKE SA (IKE_SA_INIT, IKE_AUTH) every 500,000. It stops
// once both the packet count and the size are reached.
func Bench(w io.Writer, packets, size int64) error {
	cw, err := ike.NewCaptureWriter(w)
	if err != nil {
		return err
	}
	c := &clock{t0}
	e, p := ap(edge, 500), ap(peer, 500)
	e4, p4 := ap(edge, 4500), ap(peer, 4500)
	var seq [4]uint32
	ispi, rspi := uint64(0x4242000000000001), uint64(0x2424000000000001)
	msgID := uint32(2)
	var n int64
	for n < packets || (size > 0 && cw.Bytes < size) {
		if size > 0 && n >= packets && cw.Bytes >= size {
			break
		}
		switch {
		case n%500000 == 0:
			ispi++
			rspi++
			msgID = 2
			for _, m := range []struct {
				from, to netip.AddrPort
				m        *ike.Message
			}{
				{e, p, saInit(ispi, 0, false)}, {p, e, saInit(ispi, rspi, true)},
				{e4, p4, sk(ispi, rspi, 35, 1, true, false, ike.PayloadIDi, 240)}, {p4, e4, sk(ispi, rspi, 35, 1, false, true, ike.PayloadIDr, 208)},
			} {
				if err := cw.IKE(c.next(time.Millisecond), m.from, m.to, m.m); err != nil {
					return err
				}
				n++
			}
		case n%5000 == 0:
			exch := uint8(37)
			if n%50000 == 0 {
				exch = 36
			}
			if err := cw.IKE(c.next(time.Millisecond), e4, p4, sk(ispi, rspi, exch, msgID, true, false, ike.PayloadNone, 48)); err != nil {
				return err
			}
			if err := cw.IKE(c.next(time.Millisecond), p4, e4, sk(ispi, rspi, exch, msgID, false, true, ike.PayloadNone, 48)); err != nil {
				return err
			}
			msgID++
			n += 2
		}
		// ESP of IMIX sizes (7 small, 4 medium, 1 full-size in 12), both tunnels, both ways.
		sz := imix[n%12]
		k := n % 4
		seq[k]++
		t := c.next(20 * time.Microsecond)
		switch k {
		case 0:
			err = cw.ESP(t, edge, peer, 0xa0000001, seq[k], sz)
		case 1:
			err = cw.ESP(t, peer, edge, 0xb0000001, seq[k], sz)
		case 2:
			err = cw.ESPInUDP(t, e4, p4, 0xc0000001, seq[k], sz)
		case 3:
			err = cw.ESPInUDP(t, p4, e4, 0xd0000001, seq[k], sz)
		}
		if err != nil {
			return err
		}
		n++
	}
	return nil
}
