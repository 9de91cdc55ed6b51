package ike

import (
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Real messages from the strongSwan fixtures (UDP payloads, port 500).
var (
	// ikev2-ike_proposal_mismatch frame 2: IKE_SA_INIT response, N(NO_PROPOSAL_CHOSEN).
	//	811f6137ff1ef4f1 0000000000000000 29 20 22 20 00000000 00000024
	//	00 00 0008 0000000e
	strongswanV2NoProposal = mustHex("811f6137ff1ef4f10000000000000000292022200000000000000024000000080000000e")
	// ikev2-ike_proposal_mismatch frame 1: IKE_SA_INIT request offering aes256/sha256/prfsha256/modp2048.
	strongswanV2SAInit = mustHex("811f6137ff1ef4f100000000000000002120220800000000000001d0220000300000002c010100040300000c0100000c800e0100030000080300000c0300000802000005000000080400000e28000108000e00007f6e8478595971fca1f1638ab7efd8346d58a09737517b634a1157f5bc0f5bfb44f15b372c1e583492a306ccb5e8a851264bfdcbd82c80969aad7fc01a1d0e8592028af841b5dfd89f9e8d6b36f193c5d1366155b7ea906ebc9ebb02998a77bebf71b421a0e2ab6eb8a47cfabb9a9198b6441ca5757d4d8da61557c473136b74378c1d4aebfb7b5bb8ca7d085779fd715220ca058aa848c05c056932cebcab52484a2e94ef705bbb7e0865982777d91d1430bf9cd6fe445cf875326ea39fb4351d73c25301e7080d5f5efc8d17074b4f8602d3502809aa044eb3e3818472fcd928e2b12720a02f4a59f48c645d851a7cba768e61556e0a0ae51d5e57a9e1be40290000248e768ab528646ae6277650b89b7e6a4e554d5db60c5cc3a516ab2eeabc8e42162900001c00004004e1c328b5fd70dc7670d8a754b8226aeb928756292900001c000040052ca781c4bde597d28d3215caeaee92f691b39ce1290000080000402e290000100000402f00020003000400050000000800004016")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestDecode_StrongswanNoProposalChosen(t *testing.T) {
	m, err := Decode(strongswanV2NoProposal)
	if err != nil {
		t.Fatal(err)
	}
	want := &Message{
		InitiatorSPI: 0x811f6137ff1ef4f1, NextPayload: PayloadNotify, MajorVersion: 2, ExchangeType: 34, Flags: FlagResponse,
		Length: 36, Payloads: []Payload{{Type: PayloadNotify, Body: []byte{0, 0, 0, 14}}},
	}
	want.Contents, want.Payload = strongswanV2NoProposal, strongswanV2NoProposal[36:]
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %+v\nwant %+v", m, want)
	}
	n, err := ParseNotify(2, m.Payloads[0].Body)
	if err != nil || n.Type != 14 || NotifyName(2, n.Type) != "NO_PROPOSAL_CHOSEN" {
		t.Fatalf("notify %+v %v", n, err)
	}
}

func TestDecode_StrongswanSAInit(t *testing.T) {
	m, err := Decode(strongswanV2SAInit)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, p := range m.Payloads {
		types = append(types, p.Type.String())
	}
	if want := []string{"SA", "KE", "Nonce", "N", "N", "N", "N", "N"}; !reflect.DeepEqual(types, want) {
		t.Fatalf("payloads %v, want %v", types, want)
	}
	sa, err := ParseSA(2, m.Payloads[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sa.Words(2), []string{"IKE:aes256/sha256/prfsha256/modp2048"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("proposals %v, want %v", got, want)
	}
	if g, _ := KEGroup(m.Payloads[1].Body); GroupName(g) != "modp2048" {
		t.Fatalf("KE group %d", g)
	}
	// The SA re-encodes to the same bytes.
	if got := sa.Marshal(2); !reflect.DeepEqual(got, m.Payloads[0].Body) {
		t.Fatalf("SA re-encoded differs:\n%x\n%x", got, m.Payloads[0].Body)
	}
	// And so does the whole message.
	b, err := m.Marshal()
	if err != nil || !reflect.DeepEqual(b, strongswanV2SAInit) {
		t.Fatalf("message re-encoded differs (%v)", err)
	}
}

// roundTripCases are messages built with the constructors, one per payload family.
func roundTripCases() map[string]*Message {
	return map[string]*Message{
		"v2-sa-init": {InitiatorSPI: 1, MajorVersion: 2, ExchangeType: 34, Flags: FlagInitiator, Payloads: []Payload{
			IKEv2Proposal(12, 128, 2, 2, 19).Payload(2), KEPayload(19, []byte{1, 2, 3, 4}), {Type: PayloadNonce, Body: []byte{9, 9}},
			Notify{Type: 16388, Data: make([]byte, 20)}.Payload(2), {Type: PayloadVendor, Body: []byte("strongSwan")},
			{Type: PayloadCERTREQ, Body: []byte{4, 1, 2}},
		}},
		"v2-auth-cleartext": {InitiatorSPI: 1, ResponderSPI: 2, MajorVersion: 2, ExchangeType: 35, Flags: FlagResponse, MessageID: 1, Payloads: []Payload{
			{Type: PayloadIDr, Body: []byte{1, 0, 0, 0, 192, 0, 2, 2}}, {Type: PayloadAUTH, Body: []byte{2, 0, 0, 0, 7}},
			{Type: PayloadTSi, Body: MarshalTS([]TrafficSelector{{Type: 7, EndPort: 65535, StartAddr: []byte{10, 1, 1, 0}, EndAddr: []byte{10, 1, 1, 255}}})},
			{Type: PayloadTSr, Body: MarshalTS(nil)}, Notify{Type: 38}.Payload(2),
			Delete{Protocol: 3, SPISize: 4, SPIs: [][]byte{{1, 2, 3, 4}}}.Payload(2), {Type: PayloadCP, Body: []byte{1, 0, 0, 0}},
			{Type: PayloadEAP, Critical: true, Body: []byte{1, 1, 0, 4}},
		}},
		"v2-sk": {InitiatorSPI: 1, ResponderSPI: 2, MajorVersion: 2, ExchangeType: 37, Flags: FlagInitiator, MessageID: 7,
			Payloads: []Payload{EncryptedPayload(PayloadDelete, make([]byte, 48))}},
		"v2-skf": {InitiatorSPI: 1, ResponderSPI: 2, MajorVersion: 2, ExchangeType: 35, MessageID: 1,
			Payloads: []Payload{FragmentPayload(1, 3, PayloadIDi, make([]byte, 100))}},
		"v1-main-mode-1": {InitiatorSPI: 5, MajorVersion: 1, ExchangeType: 2, Payloads: []Payload{
			(&SA{DOI: 1, Situation: 1, Proposals: []Proposal{{Number: 1, Protocol: 1, Transforms: []Transform{{Number: 1, ID: 1,
				Attributes: []Attribute{{Type: 1, Basic: true, Value: 5}, {Type: 12, Data: []byte{0, 1, 0x51, 0x80}}}}}}}}).Payload(1),
			{Type: PayloadVendorV1, Body: mustHex("afcad71368a1f1c96b8696fc77570100")},
		}},
		"v1-informational": {InitiatorSPI: 5, ResponderSPI: 6, MajorVersion: 1, ExchangeType: 5, MessageID: 99, Payloads: []Payload{
			{Type: PayloadHASH, Body: make([]byte, 32)}, Notify{DOI: 1, Protocol: 1, Type: 36136, SPI: make([]byte, 16), Data: []byte{0, 0, 0, 1}}.Payload(1),
			Delete{DOI: 1, Protocol: 1, SPISize: 16, SPIs: [][]byte{make([]byte, 16)}}.Payload(1),
		}},
		"v1-encrypted": {InitiatorSPI: 5, ResponderSPI: 6, MajorVersion: 1, ExchangeType: 32, Flags: FlagEncryption, MessageID: 3,
			NextPayload: PayloadHASH, Encrypted: make([]byte, 64)},
	}
}

// TestMessage_RoundTrip checks decode(encode(m)) == m for every payload family.
func TestMessage_RoundTrip(t *testing.T) {
	for name, m := range roundTripCases() {
		t.Run(name, func(t *testing.T) {
			b, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			m.Length = uint32(len(b))
			if len(m.Payloads) > 0 {
				m.NextPayload = m.Payloads[0].Type
			}
			got.BaseLayer = m.BaseLayer
			if len(got.Payloads) == 0 {
				got.Payloads = m.Payloads
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("round trip:\n got  %+v\n want %+v", got, m)
			}
		})
	}
}

func TestParse_PayloadFamilies(t *testing.T) {
	tss := []TrafficSelector{{Type: 7, Protocol: 0, StartPort: 0, EndPort: 65535, StartAddr: []byte{10, 2, 2, 0}, EndAddr: []byte{10, 2, 2, 255}}}
	got, err := ParseTS(MarshalTS(tss))
	if err != nil || !reflect.DeepEqual(got, tss) {
		t.Fatalf("TS %+v %v", got, err)
	}
	d := Delete{DOI: 1, Protocol: 3, SPISize: 4, SPIs: [][]byte{{1, 2, 3, 4}, {5, 6, 7, 8}}}
	if gd, err := ParseDelete(1, d.Marshal(1)); err != nil || !reflect.DeepEqual(gd, d) {
		t.Fatalf("delete %+v %v", gd, err)
	}
	f, err := ParseFragment(2, FragmentPayload(2, 2, PayloadNone, []byte{1}).Body)
	if err != nil || f.Number != 2 || f.Total != 2 || !f.Last {
		t.Fatalf("fragment %+v %v", f, err)
	}
	id, err := ParseID([]byte{2, 0, 0, 0, 'a', '.', 'b'})
	if err != nil || id.Type != 2 || string(id.Data) != "a.b" {
		t.Fatalf("ID %+v %v", id, err)
	}
	v1 := (&SA{DOI: 1, Situation: 1, Proposals: []Proposal{{Number: 1, Protocol: 3, SPI: []byte{1, 2, 3, 4}, Transforms: []Transform{{Number: 1, ID: 12,
		Attributes: []Attribute{{Type: 6, Basic: true, Value: 256}, {Type: 5, Basic: true, Value: 5}, {Type: 3, Basic: true, Value: 14}, {Type: 4, Basic: true, Value: 1}}}}}}})
	sa, err := ParseSA(1, v1.Marshal(1))
	if err != nil || !reflect.DeepEqual(sa, v1) {
		t.Fatalf("v1 SA %+v %v", sa, err)
	}
	if w := sa.Words(1); !reflect.DeepEqual(w, []string{"ESP:aes256/sha256/modp2048"}) {
		t.Fatalf("v1 ESP words %v", w)
	}
	if n := VendorName(mustHex("4048b7d56ebce88525e7de7f00d6c2d380000000")); n != "FRAGMENTATION" {
		t.Fatalf("vendor %q", n)
	}
	if ExchangeName(1, 32) != "QUICK_MODE" || ExchangeName(2, 36) != "CREATE_CHILD_SA" || NotifyName(1, 18) != "INVALID_ID_INFORMATION" ||
		NotifyName(2, 43) != "TEMPORARY_FAILURE" || NotifyName(2, 16393) != "REKEY_SA" || NotifyName(2, 60000) != "STATUS_60000" {
		t.Fatal("name tables")
	}
}

// TestDecode_Malformed: every cut or bad length is an error wrapping ErrMalformed, never a panic.
func TestDecode_Malformed(t *testing.T) {
	good := strongswanV2SAInit
	setLen := func(b []byte, n uint32) []byte {
		b = append([]byte{}, b...)
		b[24], b[25], b[26], b[27] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
		return b
	}
	cases := map[string][]byte{
		"empty":               nil,
		"short-header":        good[:27],
		"length-past-end":     good[:100],
		"length-below-header": setLen(good, 20),
		"version-3":           append(append([]byte{}, good[:17]...), append([]byte{0x30}, good[18:]...)...),
		"payload-len-2":       setLen(append(append([]byte{}, strongswanV2NoProposal[:28]...), 0, 0, 0, 2), 32),
		"payload-past-end":    setLen(append(append([]byte{}, strongswanV2NoProposal[:28]...), 0, 0, 0, 40, 0, 0, 0, 14), 36),
		"notify-too-short":    setLen(append(append([]byte{}, strongswanV2NoProposal[:28]...), 0, 0, 0, 6, 0, 0), 34),
		"trailing-garbage":    setLen(append(append([]byte{}, strongswanV2NoProposal...), 1, 2, 3), 39),
		"sa-bad-proposal":     setLen(append(append([]byte{}, good[:28]...), 0, 0, 0, 12, 0, 0, 0, 99, 1, 1, 0, 0), 40),
	}
	cases["sa-bad-proposal"][16] = byte(PayloadSA)
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Decode(b)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

// TestLayers_NewPacket checks the gopacket registration: UDP 500 is IKE, UDP 4500 demultiplexes
// to IKE after the marker, ESP otherwise, and the keepalive.
func TestLayers_NewPacket(t *testing.T) {
	build := func(port uint16, payload ...gopacket.SerializableLayer) []byte {
		t.Helper()
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: []byte{192, 0, 2, 1}, DstIP: []byte{192, 0, 2, 2}}
		udp := &layers.UDP{SrcPort: layers.UDPPort(port), DstPort: layers.UDPPort(port)}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		all := append([]gopacket.SerializableLayer{&layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}, ip, udp}, payload...)
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, all...); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	msg := roundTripCases()["v2-sk"]
	esp := append([]byte{0xc1, 0xa2, 0xb3, 0xc4, 0, 0, 0, 7}, make([]byte, 32)...)
	cases := map[string]struct {
		frame []byte
		want  []gopacket.LayerType
	}{
		"udp500-ike":        {build(500, msg), []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv4, layers.LayerTypeUDP, LayerTypeIKE}},
		"udp4500-ike":       {build(4500, NonESPMarker{}, msg), []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv4, layers.LayerTypeUDP, LayerTypeUDPEncap, LayerTypeIKE}},
		"udp4500-esp":       {build(4500, gopacket.Payload(esp)), []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv4, layers.LayerTypeUDP, LayerTypeUDPEncap, layers.LayerTypeIPSecESP}},
		"udp4500-keepalive": {build(4500, &NATKeepalive{}), []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv4, layers.LayerTypeUDP, LayerTypeUDPEncap, LayerTypeNATKeepalive}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := gopacket.NewPacket(c.frame, layers.LayerTypeEthernet, gopacket.Default)
			if el := p.ErrorLayer(); el != nil {
				t.Fatalf("decode error: %v", el.Error())
			}
			var got []gopacket.LayerType
			for _, l := range p.Layers() {
				got = append(got, l.LayerType())
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("layers %v, want %v", got, c.want)
			}
			if m, ok := p.Layer(LayerTypeIKE).(*Message); ok && (m.MessageID != 7 || m.ExchangeType != 37) {
				t.Fatalf("IKE layer %+v", m)
			}
			if e, ok := p.Layer(layers.LayerTypeIPSecESP).(*layers.IPSecESP); ok && (e.SPI != 0xc1a2b3c4 || e.Seq != 7) {
				t.Fatalf("ESP layer %+v", e)
			}
		})
	}
}
