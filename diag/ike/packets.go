package ike

import (
	"io"
	"net/netip"
	"time"
)

// Packet is what one captured frame holds for a caller that follows traffic across several
// captures (the data-path step): its addresses and length, and the ESP or ICMP echo fields that
// identify it. Quoted packets inside ICMP errors are not reported as ESP or echo.
type Packet struct {
	Frame   int // counts from 1
	Time    time.Time
	Src     netip.Addr
	Dst     netip.Addr
	IPLen   int // the IP packet's total length
	ESP     bool
	SPI     uint32
	ESPSeq  uint32
	Echo    bool // an ICMP or ICMPv6 echo request or reply
	Reply   bool // the echo is a reply
	EchoID  uint16
	EchoSeq uint16
}

// EachPacket reads a capture (pcap or pcapng) through the same guarded reader and dissector as
// Analyze, handing every frame that carries IP to fn in frame order. Memory stays bounded
// whatever the file claims. A file cut short returns ErrTruncated after the frames before the cut.
func EachPacket(r io.Reader, fn func(Packet)) error {
	return walkCapture(r, func(p *packetInfo, t time.Time) {
		if p.ip.version == 0 {
			return
		}
		out := Packet{Frame: p.frame, Time: t, Src: p.ip.src, Dst: p.ip.dst, IPLen: p.ip.length}
		if p.esp && !p.espInICMP && !p.espNoSeq {
			out.ESP, out.SPI, out.ESPSeq = true, p.espSPI, p.espSeq
		}
		if p.icmp && p.quoted.version == 0 {
			req, rep := uint8(8), uint8(0)
			if p.icmpV6 {
				req, rep = 128, 129
			}
			if p.icmpType == req || p.icmpType == rep {
				out.Echo, out.Reply, out.EchoID, out.EchoSeq = true, p.icmpType == rep, p.icmpID, p.icmpSeq
			}
		}
		fn(out)
	})
}
