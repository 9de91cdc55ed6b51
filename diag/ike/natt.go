package ike

import (
	"encoding/binary"
	"errors"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// UDPEncap demultiplexes UDP 4500 (RFC 3948 2.2): four zero bytes (the non-ESP marker) mean an
// IKE message follows; the single byte 0xFF is a NAT-keepalive; anything else is an ESP packet
// (SPI, then sequence number), which gopacket decodes as layers.IPSecESP.
type UDPEncap struct {
	layers.BaseLayer
	Kind EncapKind
}

// EncapKind is what a UDP 4500 datagram carries.
type EncapKind uint8

const (
	EncapESP EncapKind = iota
	EncapIKE
	EncapKeepalive
)

func (k EncapKind) String() string {
	switch k {
	case EncapIKE:
		return "IKE"
	case EncapKeepalive:
		return "NAT-keepalive"
	}
	return "ESP"
}

// ClassifyEncap tells what a UDP 4500 payload carries. ok is false for payloads too short to be
// any of them (1-3 bytes other than the keepalive, or 4-7 bytes that are not the marker).
func ClassifyEncap(b []byte) (kind EncapKind, ok bool) {
	switch {
	case len(b) == 1 && b[0] == 0xff:
		return EncapKeepalive, true
	case len(b) >= 4 && binary.BigEndian.Uint32(b) == 0:
		return EncapIKE, true
	case len(b) >= 8:
		return EncapESP, true
	}
	return EncapESP, false
}

func (u *UDPEncap) LayerType() gopacket.LayerType  { return LayerTypeUDPEncap }
func (u *UDPEncap) CanDecode() gopacket.LayerClass { return LayerTypeUDPEncap }

func (u *UDPEncap) NextLayerType() gopacket.LayerType {
	switch u.Kind {
	case EncapIKE:
		return LayerTypeIKE
	case EncapKeepalive:
		return LayerTypeNATKeepalive
	}
	return layers.LayerTypeIPSecESP
}

var errShortEncap = errors.New("UDP 4500 payload too short for IKE, ESP or a keepalive")

func (u *UDPEncap) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	kind, ok := ClassifyEncap(data)
	if !ok {
		df.SetTruncated()
		return errShortEncap
	}
	u.Kind = kind
	switch kind {
	case EncapIKE:
		u.Contents, u.Payload = data[:4], data[4:]
	default: // the keepalive and ESP start at the first byte
		u.Contents, u.Payload = data[:0], data
	}
	return nil
}

func decodeUDPEncap(data []byte, p gopacket.PacketBuilder) error {
	u := &UDPEncap{}
	if err := u.DecodeFromBytes(data, p); err != nil {
		return err
	}
	p.AddLayer(u)
	return p.NextDecoder(u.NextLayerType())
}

// NATKeepalive is the one-byte NAT-keepalive packet (RFC 3948 2.3).
type NATKeepalive struct{ layers.BaseLayer }

func (k *NATKeepalive) LayerType() gopacket.LayerType     { return LayerTypeNATKeepalive }
func (k *NATKeepalive) CanDecode() gopacket.LayerClass    { return LayerTypeNATKeepalive }
func (k *NATKeepalive) NextLayerType() gopacket.LayerType { return gopacket.LayerTypeZero }

func (k *NATKeepalive) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) != 1 || data[0] != 0xff {
		return errors.New("NAT-keepalive is the single byte 0xFF")
	}
	k.Contents, k.Payload = data, nil
	return nil
}

// SerializeTo writes the keepalive byte.
func (k *NATKeepalive) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	buf, err := b.PrependBytes(1)
	if err != nil {
		return err
	}
	buf[0] = 0xff
	return nil
}

func decodeNATKeepalive(data []byte, p gopacket.PacketBuilder) error {
	k := &NATKeepalive{}
	if err := k.DecodeFromBytes(data, p); err != nil {
		return err
	}
	p.AddLayer(k)
	return nil
}

// NonESPMarker is the four zero bytes in front of IKE on UDP 4500, as a serializable layer.
type NonESPMarker struct{}

func (NonESPMarker) LayerType() gopacket.LayerType { return LayerTypeUDPEncap }

// SerializeTo prepends the marker.
func (NonESPMarker) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	buf, err := b.PrependBytes(4)
	if err != nil {
		return err
	}
	clear(buf)
	return nil
}
