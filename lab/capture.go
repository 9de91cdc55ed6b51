package lab

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// rewriteCapture copies a fixture pcap with its WAN addresses replaced by the lab's.
func rewriteCapture(pcap []byte) ([]byte, error) {
	var out bytes.Buffer
	if err := rewriteAddrs(bytes.NewReader(pcap), &out, fixtureAddrs); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// emptyCapture is a valid pcap with no packet: a capture that saw nothing.
func emptyCapture() ([]byte, error) {
	var out bytes.Buffer
	w := pcapgo.NewWriter(&out)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// rewriteAddrs copies an Ethernet pcap, replacing IPv4 source and destination addresses
// found in m and fixing the IPv4 header checksum; UDP checksums are recomputed.
func rewriteAddrs(in io.Reader, out io.Writer, m map[netip.Addr]netip.Addr) error {
	r, err := pcapgo.NewReader(in)
	if err != nil {
		return err
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		return fmt.Errorf("link type %v: only Ethernet captures are rewritten", r.LinkType())
	}
	w := pcapgo.NewWriter(out)
	if err := w.WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
		return err
	}
	for n := 1; ; n++ {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("packet %d: %w", n, err)
		}
		pkt := bytes.Clone(data)
		rewriteFrame(pkt, m)
		if err := w.WritePacket(ci, pkt); err != nil {
			return fmt.Errorf("packet %d: %w", n, err)
		}
	}
}

// rewriteFrame patches one Ethernet frame in place.
func rewriteFrame(f []byte, m map[netip.Addr]netip.Addr) {
	const eth = 14
	if len(f) < eth+20 || binary.BigEndian.Uint16(f[12:14]) != 0x0800 || f[eth]>>4 != 4 {
		return
	}
	ip := f[eth:]
	ihl := int(ip[0]&0x0f) * 4
	if ihl < 20 || len(ip) < ihl {
		return
	}
	changed := false
	for _, off := range []int{12, 16} {
		a := netip.AddrFrom4([4]byte(ip[off : off+4]))
		if to, ok := m[a]; ok && to.Is4() {
			b := to.As4()
			copy(ip[off:off+4], b[:])
			changed = true
		}
	}
	if !changed {
		return
	}
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:12], checksum(ip[:ihl], 0))
	fragOff := binary.BigEndian.Uint16(ip[6:8]) & 0x1fff
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if ip[9] != 17 || fragOff != 0 || total > len(ip) || total < ihl+8 {
		return
	}
	udp := ip[ihl:total]
	if binary.BigEndian.Uint16(udp[6:8]) == 0 {
		return // no checksum in use
	}
	udp[6], udp[7] = 0, 0
	// Pseudo-header: source, destination, zero+protocol, UDP length.
	var sum uint32
	for i := 12; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i : i+2]))
	}
	sum += 17 + uint32(len(udp))
	c := checksum(udp, sum)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(udp[6:8], c)
}

// checksum is the Internet checksum (RFC 1071) of b, starting from a partial sum.
func checksum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i : i+2]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
