package ike

import (
	"net/netip"
	"time"
)

// Options tune one pass of the analyzer.
type Options struct {
	// Since and Until bound the frames analyzed (inclusive; zero: open; a frame without a time
	// is within). A frame outside still counts, with its number and time, but is not decoded: an
	// exchange, notify or ESP packet outside the window is not in the summary, and the frame
	// numbers evidence cites stay those of the file.
	Since, Until time.Time
	// Frame, when set, is called with every frame within the window, after the analyzer has
	// taken it in: readers that follow packets the summary does not keep (ESP sizes and timing,
	// IKE messages by their bytes) get them from the same pass.
	Frame func(*Frame)
}

// within reports whether a frame's time is inside the window.
func (o *Options) within(t time.Time) bool {
	if t.IsZero() {
		return true
	}
	return (o.Since.IsZero() || !t.Before(o.Since)) && (o.Until.IsZero() || !t.After(o.Until))
}

// Frame is what one frame carried, as the analyzer dissected it. It and the slices it holds are
// valid only during the call it is handed to.
type Frame struct {
	Number   int // 1-based, as tshark counts
	Time     time.Time
	Src, Dst netip.Addr // the outer IP packet's; invalid when the frame holds none
	Length   int        // the outer IP packet's total length
	Fragment bool       // the frame is an IP fragment (its IKE, if any, is the reassembled datagram's)
	// ESP is set for ESP with an SPI and a sequence number, plain or in UDP 4500, not quoted in
	// an ICMP error.
	ESP bool
	SPI uint32
	// IKE is the frame's IKE message as sent (the UDP payload after any non-ESP marker), not one
	// quoted in an ICMP error nor one rebuilt from IKEv1 fragments; nil when there is none. It
	// may be malformed.
	IKE []byte
}

// frameOf fills f from a dissected frame.
func frameOf(f *Frame, p *packetInfo, t time.Time) {
	*f = Frame{Number: p.frame, Time: t, Fragment: p.ipFragment}
	if p.ip.version != 0 {
		f.Src, f.Dst, f.Length = p.ip.src, p.ip.dst, p.ip.length
	}
	if p.esp && !p.espInICMP && !p.espNoSeq {
		f.ESP, f.SPI = true, p.espSPI
	}
	for _, r := range p.ike {
		if !r.inICMP && !r.reassembled {
			f.IKE = r.raw
			break
		}
	}
}
