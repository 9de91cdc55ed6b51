//go:build linux

package engine

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag"
	"ipsecbot/internal/opencount"
)

// collectedCapture is a run's directory holding one capture, copied from src.
func collectedCapture(t *testing.T, src string) *Collected {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "capture.pcap"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return &Collected{Dir: dir, Captures: []string{"capture.pcap"}}
}

// Ensure a diagnosis's classification opens its capture once, whole or within the window.
func TestClassifier_OpensTheCaptureOnce(t *testing.T) {
	c := collectedCapture(t, "../classify/testdata/fixtures/ikev2-dpd_peer_dead/capture.pcap")
	for name, since := range map[string]time.Time{"Whole": {}, "Window": time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)} {
		t.Run(name, func(t *testing.T) {
			c.Since = since
			opens := opencount.Watch(t, filepath.Join(c.Dir, "capture.pcap"))
			v, err := defaultClassifier{}.Classify(t.Context(), c)
			if err != nil {
				t.Fatal(err)
			}
			if v.Cause != diag.CauseDPDPeerDead {
				t.Errorf("cause %s %+v", v.Cause, v.Evidence)
			}
			if n := opens(); n != 1 {
				t.Errorf("the capture was opened %d times, want 1", n)
			}
		})
	}
}

// Ensure a capture whose length fields claim gigabytes is refused with one line under the
// verdict's missing evidence, the rest of the diagnosis standing.
func TestClassifier_HostileCapture(t *testing.T) {
	for _, file := range []string{"huge-record.pcap", "huge-block.pcapng"} {
		c := collectedCapture(t, filepath.Join("../ike/testdata/hostile", file))
		v, err := defaultClassifier{}.Classify(t.Context(), c)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(v.Missing, func(m string) bool { return strings.HasPrefix(m, "capture capture.pcap: ") })
		if i < 0 || strings.Contains(v.Missing[i], "\n") || !strings.Contains(v.Missing[i], "2147483") {
			t.Errorf("%s: missing %q", file, v.Missing)
		}
	}
}
