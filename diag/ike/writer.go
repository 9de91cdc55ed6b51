package ike

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// CaptureWriter writes a classic pcap (Ethernet) of IKE, ESP and ICMP frames with the addresses and
// times given. The lab uses it to build captures; the tests and the benchmark generator too.
type CaptureWriter struct {
	w      *pcapgo.Writer
	buf    gopacket.SerializeBuffer
	ipID   uint16
	filler []byte // stands in for ciphertext
	// Bytes and Packets count what has been written (file header excluded).
	Bytes   int64
	Packets int64
}

var (
	macA = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	macB = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
)

// NewCaptureWriter writes the pcap file header to w.
func NewCaptureWriter(w io.Writer) (*CaptureWriter, error) {
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	filler := make([]byte, 65535)
	x := uint32(2463534242)
	for i := range filler { // xorshift: looks like ciphertext, same every run
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		filler[i] = byte(x)
	}
	return &CaptureWriter{w: pw, buf: gopacket.NewSerializeBuffer(), filler: filler}, nil
}

// IKE writes an IKE message from src to dst; on port 4500 the non-ESP marker goes in front.
func (c *CaptureWriter) IKE(t time.Time, src, dst netip.AddrPort, m *Message) error {
	if src.Port() == PortNATT || dst.Port() == PortNATT {
		return c.udp(t, src, dst, false, NonESPMarker{}, m)
	}
	return c.udp(t, src, dst, false, m)
}

// ESP writes a plain ESP packet (IP protocol 50) whose ESP part (SPI, sequence, ciphertext) is size bytes.
func (c *CaptureWriter) ESP(t time.Time, src, dst netip.Addr, spi, seq uint32, size int) error {
	b, err := c.espBytes(spi, seq, size)
	if err != nil {
		return err
	}
	return c.ip(t, src, dst, layers.IPProtocolESP, false, gopacket.Payload(b))
}

// ESPInUDP writes an ESP packet encapsulated in UDP (RFC 3948), normally port 4500.
func (c *CaptureWriter) ESPInUDP(t time.Time, src, dst netip.AddrPort, spi, seq uint32, size int) error {
	b, err := c.espBytes(spi, seq, size)
	if err != nil {
		return err
	}
	return c.udp(t, src, dst, false, gopacket.Payload(b))
}

func (c *CaptureWriter) espBytes(spi, seq uint32, size int) ([]byte, error) {
	if size < 8 || size > 65000 {
		return nil, fmt.Errorf("ESP size %d, want 8 to 65000", size)
	}
	b := c.filler[:size]
	binary.BigEndian.PutUint32(b, spi)
	binary.BigEndian.PutUint32(b[4:], seq)
	return b, nil
}

// Keepalive writes a NAT-keepalive (the byte 0xFF on UDP 4500).
func (c *CaptureWriter) Keepalive(t time.Time, src, dst netip.AddrPort) error {
	return c.udp(t, src, dst, false, &NATKeepalive{})
}

// Echo writes an ICMP echo request (or reply) whose IP packet is size bytes, with DF as given.
func (c *CaptureWriter) Echo(t time.Time, src, dst netip.Addr, id, seq uint16, reply bool, size int, df bool) error {
	if !src.Is4() || !dst.Is4() {
		return fmt.Errorf("ICMP echo frames are IPv4 only")
	}
	data := size - 20 - 8
	if data < 0 || data > 65000 {
		return fmt.Errorf("echo of %d bytes", size)
	}
	typ := uint8(layers.ICMPv4TypeEchoRequest)
	if reply {
		typ = layers.ICMPv4TypeEchoReply
	}
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: id, Seq: seq}
	return c.ip(t, src, dst, layers.IPProtocolICMPv4, df, icmp, gopacket.Payload(c.filler[:data]))
}

// ICMPError writes an ICMP destination unreachable (code 3 port unreachable, 4 fragmentation
// needed with the MTU) from src to dst quoting the start of orig, an IP packet.
func (c *CaptureWriter) ICMPError(t time.Time, src, dst netip.Addr, code uint8, mtu uint16, orig []byte) error {
	if len(orig) > 548 {
		orig = orig[:548] // what fits in 576 bytes, as RFC 1812 routers quote
	}
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, code), Seq: mtu}
	return c.ip(t, src, dst, layers.IPProtocolICMPv4, false, icmp, gopacket.Payload(orig))
}

// Frame writes an already built Ethernet frame as it is.
func (c *CaptureWriter) Frame(t time.Time, frame []byte) error {
	c.Bytes += int64(16 + len(frame))
	c.Packets++
	return c.w.WritePacket(gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(frame), Length: len(frame)}, frame)
}

func (c *CaptureWriter) udp(t time.Time, src, dst netip.AddrPort, df bool, payload ...gopacket.SerializableLayer) error {
	u := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	return c.ip(t, src.Addr(), dst.Addr(), layers.IPProtocolUDP, df, append([]gopacket.SerializableLayer{u}, payload...)...)
}

// ip serialises Ethernet, IPv4 or IPv6, then the given layers, and writes the frame.
func (c *CaptureWriter) ip(t time.Time, src, dst netip.Addr, proto layers.IPProtocol, df bool, rest ...gopacket.SerializableLayer) error {
	eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}
	var network gopacket.NetworkLayer
	var ipLayer gopacket.SerializableLayer
	switch {
	case src.Is4() && dst.Is4():
		c.ipID++
		ip4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, Id: c.ipID, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		if df {
			ip4.Flags = layers.IPv4DontFragment
		}
		network, ipLayer = ip4, ip4
	case src.Is6() && dst.Is6():
		eth.EthernetType = layers.EthernetTypeIPv6
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		network, ipLayer = ip6, ip6
	default:
		return fmt.Errorf("addresses %s and %s are not of one IP version", src, dst)
	}
	for _, l := range rest {
		switch x := l.(type) {
		case *layers.UDP:
			if err := x.SetNetworkLayerForChecksum(network); err != nil {
				return err
			}
		}
	}
	if err := c.buf.Clear(); err != nil {
		return err
	}
	all := append([]gopacket.SerializableLayer{eth, ipLayer}, rest...)
	if err := gopacket.SerializeLayers(c.buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, all...); err != nil {
		return err
	}
	return c.Frame(t, c.buf.Bytes())
}
