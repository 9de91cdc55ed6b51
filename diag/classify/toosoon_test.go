package classify

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/gopacket"

	"ipsecbot/diag"
)

// firstFrames writes the first n frames of the pcap at src to a new file, as `editcap -r src dst 1-n` would.
func firstFrames(t *testing.T, src string, n int) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "first.pcap")
	return rewriteCapture(t, src, dst, func(frame int, _ *gopacket.CaptureInfo, data []byte) []byte {
		if frame > n {
			return nil
		}
		return data
	})
}

// cutFile writes the first n bytes of src to a new file, as `head -c n` would.
func cutFile(t *testing.T, src string, n int) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(dst, data[:min(n, len(data))], 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

// Ensure one IKE request at the end of a capture (or of a cut file) is not taken for a peer
// that never answers: no retransmission, no time for an answer, so at most a hint below the
// threshold, and the evidence says it was too soon to tell. The real unreachable capture, whose
// request was retransmitted, still names peer_unreachable.
func TestClassify_UnansweredTooSoonIsAHint(t *testing.T) {
	fixture := filepath.Join("testdata", "fixtures", "ikev2-psk_mismatch", "capture.pcap")
	for name, path := range map[string]string{
		"first frame": firstFrames(t, fixture, 1),
		"cut at 1000": cutFile(t, fixture, 1000),
	} {
		t.Run(name, func(t *testing.T) {
			v, err := Classify(t.Context(), Input{Captures: []CaptureSource{{Path: path}}})
			if err != nil {
				t.Fatal(err)
			}
			if v.Cause == diag.CausePeerUnreachable || v.Confidence >= Threshold {
				t.Fatalf("%s (%.2f), want unknown with at most a hint: %s", v.Cause, v.Confidence, v.Summary)
			}
			i := slices.IndexFunc(v.AlsoSeen, func(f diag.Finding) bool { return f.Cause == diag.CausePeerUnreachable })
			if i < 0 {
				t.Fatalf("no peer_unreachable hint in %+v", v.AlsoSeen)
			}
			hint := v.AlsoSeen[i]
			if hint.Confidence >= Threshold {
				t.Errorf("hint confidence %.2f, want below %.2f", hint.Confidence, Threshold)
			}
			if len(hint.Evidence) == 0 || !strings.Contains(hint.Evidence[0].Text, "too soon to tell") {
				t.Errorf("hint evidence does not say it was too soon to tell: %+v", hint.Evidence)
			}
			t.Logf("%s: %s", name, v.Summary)
		})
	}
	v, err := Classify(t.Context(), Input{Captures: []CaptureSource{{Path: filepath.Join("testdata", "fixtures", "ikev2-peer_unreachable", "capture.pcap")}}})
	if err != nil {
		t.Fatal(err)
	}
	if v.Cause != diag.CausePeerUnreachable || v.Confidence < Threshold {
		t.Errorf("real unreachable capture: %s (%.2f), want peer_unreachable: %s", v.Cause, v.Confidence, v.Summary)
	}
}
