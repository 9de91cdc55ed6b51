package classify

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzCaptureFacts feeds arbitrary bytes to the classifier's pass over a capture (the IKE
// analysis and, from the same frames, ESP per direction, per SPI and as echoes; IKE anchors,
// Main Mode refusals, lost answers), whole and windowed: no panic, no hang, and every frame an
// observation cites was read.
func FuzzCaptureFacts(f *testing.F) {
	for _, p := range []string{
		"testdata/alt/ikev2-esp_blocked/capture.pcap", "testdata/alt/ikev1-esp_blocked/capture-peerB.pcap",
		"testdata/fixtures/ikev2-mtu_fragmentation/capture.pcap", "testdata/fixtures/ikev1-dpd_peer_dead/capture.pcap",
		"testdata/fixtures/ikev1-psk_mismatch/capture.pcap", "testdata/fixtures/ikev1-id_mismatch/capture.pcap",
		"testdata/alt/ikev1-esp_proposal_mismatch/capture.pcap", "testdata/alt/ikev2-peer_unreachable/capture.pcap",
	} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2]) // cut mid-record
	}
	for _, p := range []string{"../ike/testdata/hostile/huge-record.pcap", "../ike/testdata/hostile/huge-block.pcapng"} {
		b, err := os.ReadFile(p) // length fields that claim gigabytes
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xd4, 0xc3, 0xb2, 0xa1})
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "f.pcap")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, cf, _ := readCapture(CaptureSource{Path: path}, time.Time{}, time.Time{})
		if cf == nil {
			t.Fatal("no facts, not even empty ones")
		}
		obs := append(observeESP(cf), observeAcrossSites([]*captureFacts{cf, cf})...)
		obs = append(obs, observeMainModes(cf)...)
		obs = append(obs, observeAnswersLost(cf)...)
		for _, o := range obs {
			frame := o.ev.Ref[strings.LastIndexByte(o.ev.Ref, '#')+1:] // the fuzzer's temporary folder has a # in its name
			if n, err := strconv.Atoi(frame); err != nil || n < 1 || int64(n) > cf.packets {
				t.Fatalf("observation cites frame %q of %d: %s", frame, cf.packets, o.ev.Text)
			}
		}
		// A window that starts after the first frame: every frame still counts, fewer are read.
		sum, w, _ := readCapture(CaptureSource{Path: path}, cf.first.Add(time.Nanosecond), time.Time{})
		if sum != nil && (sum.Packets != cf.packets || w.inWindow > cf.inWindow) {
			t.Fatalf("windowed pass: %d packets, %d in the window; the file %d, %d", sum.Packets, w.inWindow, cf.packets, cf.inWindow)
		}
	})
}
