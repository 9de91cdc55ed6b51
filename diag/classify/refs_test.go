package classify

import (
	"bytes"
	"os"
	"testing"

	"ipsecbot/diag"
)

// checkRefs resolves every evidence reference: a log line must exist and hold the evidence
// text; a frame must exist in its capture; every other reference must at least parse.
func checkRefs(t *testing.T, evs []diag.Evidence) {
	t.Helper()
	for _, e := range evs {
		r, err := diag.ParseRef(e.Ref)
		if err != nil {
			t.Errorf("evidence %+v: %v", e, err)
			continue
		}
		switch e.Source {
		case diag.SourceLog, diag.SourceShow:
			if r.Kind != diag.RefLine || r.Member != "" {
				t.Errorf("bad ref %q: want a line of a file", e.Ref)
				continue
			}
			b, err := os.ReadFile(r.Path)
			if err != nil {
				t.Errorf("ref %q: %v", e.Ref, err)
				continue
			}
			lines := bytes.Split(b, []byte("\n"))
			if r.Line > int64(len(lines)) || !bytes.Contains(lines[r.Line-1], []byte(e.Text)) {
				t.Errorf("ref %q does not hold %q", e.Ref, e.Text)
			}
		case diag.SourcePcap:
			if r.Kind != diag.RefFrame {
				t.Errorf("bad ref %q: want a frame", e.Ref)
				continue
			}
			if frames := countFrames(t, r.Path); r.Frame > int64(frames) {
				t.Errorf("ref %q: capture has %d frames", e.Ref, frames)
			}
		}
	}
}
