package ike

import (
	"bytes"
	"os"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Ensure captures from `tcpdump -i any` (Linux SLL), raw IP and VLAN-tagged Ethernet read the
// same as the Ethernet fixture they are made from.
func TestAnalyze_LinkTypes(t *testing.T) {
	path := "testdata/fixtures/ikev2-dpd_peer_dead/capture.pcap"
	want := analyzeTest(t, path)
	relink := map[string]struct {
		link  layers.LinkType
		frame func(eth []byte) []byte
	}{
		"linux-sll": {layers.LinkTypeLinuxSLL, func(eth []byte) []byte {
			sll := []byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, eth[12], eth[13]}
			return append(sll, eth[14:]...)
		}},
		"raw-ip": {layers.LinkTypeRaw, func(eth []byte) []byte { return eth[14:] }},
		"linux-sll2": {linkTypeSLL2, func(eth []byte) []byte {
			sll2 := []byte{eth[12], eth[13], 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}
			return append(sll2, eth[14:]...)
		}},
		"vlan": {layers.LinkTypeEthernet, func(eth []byte) []byte {
			tagged := append(append([]byte{}, eth[:12]...), 0x81, 0x00, 0x00, 0x64)
			return append(tagged, eth[12:]...)
		}},
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, rl := range relink {
		t.Run(name, func(t *testing.T) {
			r, err := pcapgo.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			w := pcapgo.NewWriter(&out)
			if err := w.WriteFileHeader(65535, rl.link); err != nil {
				t.Fatal(err)
			}
			if rl.link == linkTypeSLL2 { // pcapgo writes a byte; the file says 276
				out.Bytes()[20], out.Bytes()[21] = 0x14, 0x01
			}
			for {
				frame, ci, err := r.ReadPacketData()
				if err != nil {
					break
				}
				f := rl.frame(frame)
				if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ci.Timestamp, CaptureLength: len(f), Length: len(f)}, f); err != nil {
					t.Fatal(err)
				}
			}
			got, err := Analyze(&out, name)
			if err != nil {
				t.Fatal(err)
			}
			if got.Packets != want.Packets || got.IKEMessages != want.IKEMessages || got.ESPPackets != want.ESPPackets ||
				len(got.Exchanges) != len(want.Exchanges) || len(got.ICMPErrors) != len(want.ICMPErrors) {
				t.Fatalf("%s: %d packets, %d IKE, %d ESP, %d exchanges; Ethernet: %d, %d, %d, %d", name,
					got.Packets, got.IKEMessages, got.ESPPackets, len(got.Exchanges), want.Packets, want.IKEMessages, want.ESPPackets, len(want.Exchanges))
			}
		})
	}
}
