package classify

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Ensure a window that keeps nothing of a real fixture says so in Missing, with the span each
// kind of evidence covers, and that a window over the fixture says nothing of the kind.
func TestClassify_WindowExcludesAll(t *testing.T) {
	dir := "testdata/fixtures/ikev2-psk_mismatch"
	in := Input{
		Logs:     []LogSource{{Path: filepath.Join(dir, "edgeA-charon.log"), Site: "edge"}},
		Captures: []CaptureSource{{Path: filepath.Join(dir, "capture.pcap")}},
		Since:    time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC),
		Until:    time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC),
	}
	v, err := Classify(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, m := range v.Missing {
		if strings.Contains(m, "excludes all the evidence") {
			line = m
		}
	}
	for _, want := range []string{
		"the window 2026-11-28 03:00:00 UTC – 2026-11-28 04:00:00 UTC excludes all the evidence: ",
		"the logs cover 2026-11-27 04:18:",
		"the capture covers 2026-11-27 04:18:",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("missing %q in %q (all: %q)", want, line, v.Missing)
		}
	}

	in.Since, in.Until = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	if v, err = Classify(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	for _, m := range v.Missing {
		if strings.Contains(m, "excludes all") {
			t.Errorf("a window over the fixture: %q", m)
		}
	}
}
