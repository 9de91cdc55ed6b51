package classify

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	"ipsecbot/diag"
)

// checkRefs resolves every evidence reference: a log line must exist and hold the evidence
// text; a frame must exist in its capture.
func checkRefs(t *testing.T, evs []diag.Evidence) {
	t.Helper()
	for _, e := range evs {
		switch e.Source {
		case diag.SourceLog, diag.SourceShow:
			i := strings.LastIndexByte(e.Ref, ':')
			path, ln := e.Ref[:i], e.Ref[i+1:]
			n, err := strconv.Atoi(ln)
			if err != nil || n < 1 {
				t.Errorf("bad ref %q", e.Ref)
				continue
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("ref %q: %v", e.Ref, err)
				continue
			}
			lines := bytes.Split(b, []byte("\n"))
			if n > len(lines) || !bytes.Contains(lines[n-1], []byte(e.Text)) {
				t.Errorf("ref %q does not hold %q", e.Ref, e.Text)
			}
		case diag.SourcePcap:
			path, fr, ok := strings.Cut(e.Ref, "#")
			n, err := strconv.Atoi(fr)
			if !ok || err != nil || n < 1 {
				t.Errorf("bad ref %q", e.Ref)
				continue
			}
			if frames := countFrames(t, path); n > frames {
				t.Errorf("ref %q: capture has %d frames", e.Ref, frames)
			}
		default:
			if e.Ref == "" {
				t.Errorf("evidence without ref: %+v", e)
			}
		}
	}
}
