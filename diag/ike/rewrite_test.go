package ike

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"slices"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// TestRewriteAddrs moves a fixture onto other addresses: the analysis is the same with the new
// addresses, and every checksum gopacket can verify is right.
func TestRewriteAddrs(t *testing.T) {
	path := "testdata/fixtures/ikev2-dpd_peer_dead/capture.pcap" // has ICMP errors quoting IKE and ESP
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[netip.Addr]netip.Addr{
		netip.MustParseAddr("192.0.2.1"): netip.MustParseAddr("10.99.0.1"),
		netip.MustParseAddr("192.0.2.2"): netip.MustParseAddr("172.16.5.2"),
	}
	var out bytes.Buffer
	if err := RewriteAddrs(bytes.NewReader(data), &out, m); err != nil {
		t.Fatal(err)
	}
	before, err := Analyze(bytes.NewReader(data), "before")
	if err != nil {
		t.Fatal(err)
	}
	after, err := Analyze(bytes.NewReader(out.Bytes()), "after")
	if err != nil {
		t.Fatal(err)
	}
	if after.Packets != before.Packets || after.IKEMessages != before.IKEMessages || after.ESPPackets != before.ESPPackets {
		t.Fatalf("counts changed: %+v", after)
	}
	if after.Exchanges[0].Initiator != "10.99.0.1:500" || after.ICMPErrors[0].From != "172.16.5.2" || after.ESPFlows[0].Dst != "172.16.5.2" {
		t.Fatalf("addresses not rewritten: %+v %+v", after.Exchanges[0], after.ICMPErrors[0])
	}
	sameChecksums(t, data, out.Bytes())
}

// TestRewriteAddrs_Synthetic: our writer's captures have correct checksums everywhere (the
// fixtures' UDP checksums were left to NIC offload); they stay correct after the rewrite.
func TestRewriteAddrs_Synthetic(t *testing.T) {
	for _, f := range []string{"testdata/synthetic/v2-plain-esp.pcap", "testdata/synthetic/v1-natt.pcap"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		m := map[netip.Addr]netip.Addr{netip.MustParseAddr("198.51.100.1"): netip.MustParseAddr("10.0.0.1"),
			netip.MustParseAddr("192.0.2.254"): netip.MustParseAddr("10.0.0.254")}
		if err := RewriteAddrs(bytes.NewReader(data), &out, m); err != nil {
			t.Fatal(err)
		}
		for n, frame := range frames(t, out.Bytes()) {
			if bad := checksums(frame); len(bad) > 0 {
				t.Errorf("%s frame %d: %v do not verify", f, n+1, bad)
			}
		}
	}
}

// sameChecksums checks that every checksum that verified before the rewrite verifies after it.
func sameChecksums(t *testing.T, before, after []byte) {
	t.Helper()
	b, a := frames(t, before), frames(t, after)
	if len(a) != len(b) {
		t.Fatalf("%d frames after, %d before", len(a), len(b))
	}
	for i := range b {
		was, is := checksums(b[i]), checksums(a[i])
		if !slices.Equal(was, is) {
			t.Errorf("frame %d: failing checksums were %v, now %v", i+1, was, is)
		}
	}
}

func frames(t *testing.T, capture []byte) [][]byte {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(capture))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		frame, _, err := r.ReadPacketData()
		if err != nil {
			return out
		}
		out = append(out, frame)
	}
}

// checksums lists the checksums of an Ethernet/IPv4 frame that do not verify.
func checksums(frame []byte) []string {
	var bad []string
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if ip == nil {
		return []string{"no IPv4"}
	}
	hdr := frame[14 : 14+int(ip.IHL)*4]
	l4 := frame[14+int(ip.IHL)*4 : 14+int(ip.Length)]
	if Checksum(hdr) != 0 {
		bad = append(bad, "ip")
	}
	switch ip.Protocol {
	case layers.IPProtocolUDP:
		if udp := p.Layer(layers.LayerTypeUDP).(*layers.UDP); udp.Checksum != 0 {
			pseudo := append(append(append([]byte{}, ip.SrcIP.To4()...), ip.DstIP.To4()...), 0, 17, byte(len(l4)>>8), byte(len(l4)))
			if Checksum(append(pseudo, l4...)) != 0 {
				bad = append(bad, "udp")
			}
		}
	case layers.IPProtocolICMPv4:
		if Checksum(l4) != 0 {
			bad = append(bad, "icmp")
		}
		if (l4[0] == 3 || l4[0] == 11) && len(l4) >= 28 && Checksum(l4[8:8+int(l4[8]&0x0f)*4]) != 0 {
			bad = append(bad, "quoted ip")
		}
	}
	return bad
}

func TestRewriteAddrs_Errors(t *testing.T) {
	var out bytes.Buffer
	err := RewriteAddrs(bytes.NewReader([]byte("not a capture")), &out, nil)
	if !errors.Is(err, ErrNotCapture) {
		t.Fatalf("got %v", err)
	}
	err = RewriteAddrs(nil, &out, map[netip.Addr]netip.Addr{netip.MustParseAddr("192.0.2.1"): netip.MustParseAddr("::1")})
	if err == nil {
		t.Fatal("mixed families accepted")
	}
	data, _ := os.ReadFile("testdata/fixtures/ikev2-healthy/capture.pcap")
	out.Reset()
	if err := RewriteAddrs(bytes.NewReader(data[:3000]), &out, nil); !errors.Is(err, ErrTruncated) || out.Len() < 2000 {
		t.Fatalf("truncated: %v, %d bytes out", err, out.Len())
	}
}

// TestRewriteAddrs_KeepsFormat: a microsecond pcap stays a microsecond pcap, byte for byte when nothing maps.
func TestRewriteAddrs_KeepsFormat(t *testing.T) {
	data, err := os.ReadFile("testdata/fixtures/ikev1-healthy/capture.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := RewriteAddrs(bytes.NewReader(data), &out, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes()[24:], data[24:]) || !bytes.Equal(out.Bytes()[:4], data[:4]) {
		t.Fatal("an identity rewrite changed the records or the magic")
	}
}

// Ensure Checksum matches a worked IPv4 header (RFC 1071's sum; the header's field is b861)
// and is 0 over the header with its checksum in place.
func TestChecksum(t *testing.T) {
	hdr := []byte{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
		0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}
	if got := Checksum(hdr); got != 0xb861 {
		t.Fatalf("Checksum = %#04x, want 0xb861", got)
	}
	hdr[10], hdr[11] = 0xb8, 0x61
	if got := Checksum(hdr); got != 0 {
		t.Fatalf("over a correct header: %#04x, want 0", got)
	}
	if got := Checksum([]byte{0x01}); got != ^uint16(0x0100) {
		t.Fatalf("odd length: %#04x", got)
	}
}
