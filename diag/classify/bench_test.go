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

// BenchmarkReadCaptureFacts measures the classifier's own pass over a capture (ESP per
// direction, per SPI, echo pairing, IKE anchors): time and allocations per frame.
func BenchmarkReadCaptureFacts(b *testing.B) {
	path := bigCapture(b, 100_000)
	var frames int64
	b.ReportAllocs()
	for b.Loop() {
		cf, err := readCaptureFacts(path, time.Time{}, time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		frames = cf.packets
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*frames), "ns/frame")
}

// BenchmarkSummaryInWindow measures the windowed IKE analysis (the copy through a pipe plus the
// analyzer) against the analyzer alone on the same file.
func BenchmarkSummaryInWindow(b *testing.B) {
	path := bigCapture(b, 100_000)
	cf, _ := readCaptureFacts(path, time.Time{}, time.Time{})
	mid := cf.first.Add(cf.last.Sub(cf.first) / 2)
	b.Run("Window", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := summaryInWindow(path, mid, time.Time{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Whole", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := summaryInWindow(path, time.Time{}, time.Time{}); err != nil {
				b.Fatal(err)
			}
		}
	})
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
		next, link, closer, err := packetReader(p)
		if err != nil {
			b.Fatal(err)
		}
		if w == nil {
			w = pcapgo.NewWriterNanos(out)
			if err := w.WriteFileHeader(65536, link); err != nil {
				b.Fatal(err)
			}
		}
		for {
			data, ci, err := next()
			if err != nil {
				break
			}
			if err := w.WritePacket(ci, data); err != nil {
				b.Fatal(err)
			}
		}
		closer.Close()
	}
}
