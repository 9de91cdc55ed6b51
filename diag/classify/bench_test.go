package classify

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/pcapgo"
)

// bigCapture writes a capture of about n frames: the alt flapping capture (ESP both ways and
// lost, IKE, ICMP) over and over, each copy later in time.
func bigCapture(b *testing.B, n int) string {
	b.Helper()
	src := "testdata/alt/ikev2-flapping/capture.pcap"
	frames := countFrames(b, src)
	path := filepath.Join(b.TempDir(), "big.pcap")
	var copies []string
	for i := 0; i*frames < n; i++ {
		shift := time.Duration(i) * time.Minute
		p := filepath.Join(b.TempDir(), "part.pcap")
		rewriteCapture(b, src, p, func(_ int, ci *gopacket.CaptureInfo, data []byte) []byte {
			ci.Timestamp = ci.Timestamp.Add(shift)
			return data
		})
		copies = append(copies, p)
	}
	concatCaptures(b, path, copies)
	return path
}

// BenchmarkReadCapture measures the classifier's one pass over a capture (the IKE analyzer
// and, from the same frames, ESP per direction, per SPI, echo pairing, IKE anchors): time and
// allocations per frame.
func BenchmarkReadCapture(b *testing.B) {
	path := bigCapture(b, 100_000)
	var frames int64
	b.ReportAllocs()
	for b.Loop() {
		_, cf, err := readCapture(CaptureSource{Path: path}, time.Time{}, time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		frames = cf.packets
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*frames), "ns/frame")
}

// BenchmarkReadCaptureWindow measures the pass with a window (half the frames only counted)
// against the whole file.
func BenchmarkReadCaptureWindow(b *testing.B) {
	path := bigCapture(b, 100_000)
	_, cf, _ := readCapture(CaptureSource{Path: path}, time.Time{}, time.Time{})
	mid := cf.first.Add(cf.last.Sub(cf.first) / 2)
	for name, since := range map[string]time.Time{"Window": mid, "Whole": {}} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := readCapture(CaptureSource{Path: path}, since, time.Time{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// concatCaptures writes the frames of the classic pcaps parts, in order, into one file.
func concatCaptures(b *testing.B, dst string, parts []string) {
	b.Helper()
	out, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	var w *pcapgo.Writer
	for _, p := range parts {
		in, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		r, err := pcapgo.NewReader(in)
		if err != nil {
			b.Fatal(err)
		}
		if w == nil {
			w = pcapgo.NewWriterNanos(out)
			if err := w.WriteFileHeader(65536, r.LinkType()); err != nil {
				b.Fatal(err)
			}
		}
		for {
			data, ci, err := r.ReadPacketData()
			if err != nil {
				break
			}
			if err := w.WritePacket(ci, data); err != nil {
				b.Fatal(err)
			}
		}
		in.Close()
	}
}
