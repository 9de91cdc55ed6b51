package ike

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/google/gopacket/pcapgo"
)

// Ensure a window means what a copy of the file with the frames outside it emptied means (their
// numbers and times kept, nothing decoded), and the frames handed on are exactly those within
// it, in order, with the ESP and IKE the summary counts.
func TestAnalyzeWith_Window(t *testing.T) {
	for _, path := range []string{"testdata/fixtures/ikev2-dpd_peer_dead/capture.pcap", "testdata/fixtures/ikev1-healthy_cert/capture.pcap", "testdata/synthetic/edge-cases.pcap"} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var times []time.Time
		r, err := pcapgo.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for {
			_, ci, err := r.ReadPacketData()
			if err != nil {
				break
			}
			times = append(times, ci.Timestamp)
		}
		since, until := times[len(times)/4], times[len(times)*3/4]

		var emptied bytes.Buffer
		w := pcapgo.NewWriterNanos(&emptied)
		if err := w.WriteFileHeader(65536, r.LinkType()); err != nil {
			t.Fatal(err)
		}
		r, _ = pcapgo.NewReader(bytes.NewReader(data))
		for {
			frame, ci, err := r.ReadPacketData()
			if err != nil {
				break
			}
			if ci.Timestamp.Before(since) || ci.Timestamp.After(until) {
				frame = nil
			}
			ci.CaptureLength = len(frame)
			if err := w.WritePacket(ci, frame); err != nil {
				t.Fatal(err)
			}
		}
		want, err := Analyze(&emptied, path)
		if err != nil {
			t.Fatal(err)
		}

		var frames []int
		var esp, ike int64
		got, err := AnalyzeWith(bytes.NewReader(data), path, Options{Since: since, Until: until, Frame: func(f *Frame) {
			frames = append(frames, f.Number)
			if f.ESP {
				esp++
			}
			if f.IKE != nil {
				ike++
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if !bytes.Equal(gj, wj) {
			t.Errorf("%s: the window's summary differs from the emptied copy's:\n%s\n%s", path, gj, wj)
		}
		in := 0
		for i, at := range times {
			if !at.Before(since) && !at.After(until) {
				if in >= len(frames) || frames[in] != i+1 {
					t.Fatalf("%s: frames handed on %v, want frame %d next", path, frames, i+1)
				}
				in++
			}
		}
		if in != len(frames) || esp > got.ESPPackets || ike > got.IKEMessages || ike == 0 {
			t.Errorf("%s: %d frames handed on (%d within), %d ESP, %d IKE; summary %d ESP, %d IKE", path, len(frames), in, esp, ike, got.ESPPackets, got.IKEMessages)
		}
	}
}
