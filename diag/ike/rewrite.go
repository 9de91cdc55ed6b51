package ike

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/pcapgo"
)

// RewriteAddrs copies a capture (pcap or pcapng in, classic pcap out, same link type, times and
// time resolution)
// with IP addresses replaced as m says, in the outer header and in the packet an ICMP error
// quotes. IPv4 header, UDP, TCP and ICMP checksums are updated (incrementally, RFC 1624, so a
// fragment or a packet cut by the snap length stays consistent). The lab uses it to move the
// fixture captures onto its own addresses. A capture cut short is copied up to the cut and
// reported with ErrTruncated.
func RewriteAddrs(in io.Reader, out io.Writer, m map[netip.Addr]netip.Addr) error {
	for from, to := range m {
		if from.Is4() != to.Is4() {
			return fmt.Errorf("rewrite %s to %s: the address families differ", from, to)
		}
	}
	src, err := openCapture(in)
	if err != nil {
		return err
	}
	w := pcapgo.NewWriter(out) // microseconds, as tcpdump and the fixtures write, unless the input had more
	if pr, ok := src.(*pcapReader); ok && pr.nanos {
		w = pcapgo.NewWriterNanos(out)
	}
	if err := w.WriteFileHeader(262144, src.LinkType()); err != nil {
		return err
	}
	return eachFrame(src, func(_ int, data []byte, ci gopacket.CaptureInfo) error {
		if ipb, ok := linkPayload(src.LinkType(), data); ok {
			rewriteIP(ipb, m, false)
		}
		ci.CaptureLength = len(data)
		return w.WritePacket(ci, data)
	})
}

// rewriteIP replaces the addresses of one IP packet in place. It returns the old and new bytes
// of everything it changed so an enclosing checksum (ICMP over a quoted packet) can follow.
func rewriteIP(b []byte, m map[netip.Addr]netip.Addr, quoted bool) (changes []change) {
	if len(b) < 1 {
		return nil
	}
	var addrs []byte // src then dst
	var ihl, proto int
	switch b[0] >> 4 {
	case 4:
		ihl = int(b[0]&0x0f) * 4
		if ihl < 20 || len(b) < ihl {
			return nil
		}
		addrs, proto = b[12:20], int(b[9])
	case 6:
		if len(b) < 40 {
			return nil
		}
		ihl, addrs, proto = 40, b[8:40], int(b[6])
	default:
		return nil
	}
	n := len(addrs) / 2
	var pseudo []change
	for i := 0; i < 2; i++ {
		field := addrs[i*n : (i+1)*n]
		old, _ := netip.AddrFromSlice(field)
		to, ok := m[old]
		if !ok {
			continue
		}
		c := change{old: append([]byte{}, field...)}
		copy(field, to.AsSlice())
		c.new = append([]byte{}, field...)
		pseudo = append(pseudo, c)
	}
	changes = append(changes, pseudo...)
	if b[0]>>4 == 4 && len(pseudo) > 0 {
		oldSum := append([]byte{}, b[10:12]...)
		adjustChecksum(b[10:12], pseudo)
		changes = append(changes, change{old: oldSum, new: append([]byte{}, b[10:12]...)})
	}
	if b[0]>>4 == 4 && binary.BigEndian.Uint16(b[6:])&0x1fff != 0 {
		return changes // not the first fragment: no transport header here
	}
	l4 := b[ihl:]
	switch proto {
	case 17, 6:
		off := 6
		if proto == 6 {
			off = 16
		}
		if len(pseudo) == 0 || len(l4) < off+2 || (proto == 17 && binary.BigEndian.Uint16(l4[off:]) == 0) {
			return changes
		}
		oldSum := append([]byte{}, l4[off:off+2]...)
		adjustChecksum(l4[off:off+2], pseudo)
		changes = append(changes, change{old: oldSum, new: append([]byte{}, l4[off:off+2]...)})
	case 1, 58:
		if quoted || len(l4) < 8 {
			return changes
		}
		if proto == 58 && len(pseudo) > 0 { // ICMPv6 covers the pseudo header
			adjustChecksum(l4[2:4], pseudo)
		}
		isError := (proto == 1 && (l4[0] == 3 || l4[0] == 11 || l4[0] == 12)) || (proto == 58 && l4[0] >= 1 && l4[0] <= 4)
		if isError {
			if inner := rewriteIP(l4[8:], m, true); len(inner) > 0 {
				adjustChecksum(l4[2:4], inner)
			}
		}
	}
	return changes
}

// change is bytes of a packet before and after a rewrite; both have the same even length.
type change struct{ old, new []byte }

// Checksum is the Internet checksum of b (RFC 1071), as IPv4 headers, UDP and ICMP carry it.
// Over a region that includes a correct checksum field it is 0, which is how tests check one.
func Checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// adjustChecksum updates a ones'-complement checksum for changed 16-bit words (RFC 1624 eqn. 3).
func adjustChecksum(sum []byte, changes []change) {
	acc := uint32(^binary.BigEndian.Uint16(sum))
	for _, c := range changes {
		for i := 0; i+1 < len(c.old); i += 2 {
			acc += uint32(^binary.BigEndian.Uint16(c.old[i:]))
			acc += uint32(binary.BigEndian.Uint16(c.new[i:]))
		}
	}
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	binary.BigEndian.PutUint16(sum, ^uint16(acc))
}
