package ike

import (
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Layer types of this package, in gopacket's application range (1000-1999). gopacket panics on a
// duplicate number, so every type is registered here and nowhere else.
var (
	// LayerTypeIKE is an IKEv1 or IKEv2 message (Message).
	LayerTypeIKE = gopacket.RegisterLayerType(1720, gopacket.LayerTypeMetadata{Name: "IKE", Decoder: gopacket.DecodeFunc(decodeIKE)})
	// LayerTypeUDPEncap is the RFC 3948 demultiplexer on UDP 4500 (UDPEncap).
	LayerTypeUDPEncap = gopacket.RegisterLayerType(1721, gopacket.LayerTypeMetadata{Name: "UDPEncap", Decoder: gopacket.DecodeFunc(decodeUDPEncap)})
	// LayerTypeNATKeepalive is the one-byte 0xFF NAT-keepalive on UDP 4500 (NATKeepalive).
	LayerTypeNATKeepalive = gopacket.RegisterLayerType(1722, gopacket.LayerTypeMetadata{Name: "NATKeepalive", Decoder: gopacket.DecodeFunc(decodeNATKeepalive)})
)

// IKE and NAT-T ports (RFC 7296 2.23, RFC 3948).
const (
	PortIKE  = 500
	PortNATT = 4500
)

func init() {
	layers.RegisterUDPPortLayerType(PortIKE, LayerTypeIKE)
	layers.RegisterUDPPortLayerType(PortNATT, LayerTypeUDPEncap)
}
