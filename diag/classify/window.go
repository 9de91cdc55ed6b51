package classify

import (
	"bufio"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"ipsecbot/diag/ike"
)

// windowed reports whether only part of the evidence counts (--since/--until).
func windowed(in Input) bool { return !in.Since.IsZero() || !in.Until.IsZero() }

// errWindowDone ends the copy into the analyzer once the analyzer has stopped reading.
var errWindowDone = errors.New("analyzer stopped reading")

// summaryInWindow runs the IKE analyzer over the frames of a capture within the window, so an
// exchange, a notify or an unanswered request outside it does not count. The analyzer reads a
// copy of the file in which frames outside the window are empty records: the frame numbers,
// which evidence cites, stay those of the file, and empty records decode to nothing. With no
// window the file is analyzed as it is.
func summaryInWindow(path string, since, until time.Time) (*ike.Summary, error) {
	if since.IsZero() && until.IsZero() {
		return ike.AnalyzeFile(path)
	}
	next, link, closer, err := packetReader(path)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	wg.Go(func() { pw.CloseWithError(copyWindow(pw, next, link, since, until)) })
	sum, err := ike.Analyze(pr, path)
	pr.CloseWithError(errWindowDone) // unblocks the copy if the analyzer stopped early
	wg.Wait()
	return sum, err
}

// copyWindow writes the packets from next to w as a pcap file, emptying those outside the
// window. A read error ends the copy and is returned, so the analyzer reports the cut.
func copyWindow(w io.Writer, next func() ([]byte, gopacket.CaptureInfo, error), link layers.LinkType, since, until time.Time) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	pw := pcapgo.NewWriterNanos(bw)
	if err := pw.WriteFileHeader(maxSnap, link); err != nil {
		return err
	}
	for {
		data, ci, err := next()
		if err != nil {
			if ferr := bw.Flush(); ferr != nil {
				return ferr
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if !inWindow(ci.Timestamp, since, until) {
			data = nil
		}
		ci.CaptureLength = len(data)
		ci.Length = max(ci.Length, ci.CaptureLength)
		if err := pw.WritePacket(ci, data); err != nil {
			return err
		}
	}
}

// maxSnap is the snap length written into the copy: larger than any record a reader accepts.
const maxSnap = 1 << 20
