package ike_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"time"

	"ipsecbot/diag/ike"
)

// A capture built with CaptureWriter: an IKE_SA_INIT the peer refuses, then read back.
func ExampleCaptureWriter() {
	var buf bytes.Buffer
	cw, err := ike.NewCaptureWriter(&buf)
	if err != nil {
		panic(err)
	}
	edge := netip.MustParseAddrPort("192.0.2.1:500")
	peer := netip.MustParseAddrPort("192.0.2.2:500")
	t0 := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	req := &ike.Message{InitiatorSPI: 0x1122334455667788, MajorVersion: 2, ExchangeType: 34, Flags: ike.FlagInitiator,
		Payloads: []ike.Payload{ike.IKEv2Proposal(12, 256, 5, 12, 14).Payload(2), ike.KEPayload(14, make([]byte, 256)),
			{Type: ike.PayloadNonce, Body: make([]byte, 32)}}}
	resp := &ike.Message{InitiatorSPI: 0x1122334455667788, MajorVersion: 2, ExchangeType: 34, Flags: ike.FlagResponse,
		Payloads: []ike.Payload{ike.Notify{Type: 14}.Payload(2)}}
	_ = cw.IKE(t0, edge, peer, req)
	_ = cw.IKE(t0.Add(3*time.Millisecond), peer, edge, resp)
	_ = cw.ESP(t0.Add(time.Second), edge.Addr(), peer.Addr(), 0xc0ffee01, 1, 120)

	s, err := ike.Analyze(&buf, "example.pcap")
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Packets, s.IKEMessages, s.ESPPackets)
	for _, n := range s.Notifies {
		fmt.Println(n.Frame, n.Exchange, n.Name, n.Src)
	}
	// Output:
	// 3 2 1
	// 2 IKE_SA_INIT NO_PROPOSAL_CHOSEN 192.0.2.2:500
}
