package classify

import (
	"cmp"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"

	"ipsecbot/diag"
	"ipsecbot/diag/ike"
)

// captureAloneRun is one capture given to Classify with nothing else.
type captureAloneRun struct {
	name     string // set/scenario/capture
	want     diag.Cause
	accepted []diag.Cause
	got      diag.Cause
	conf     float64
	summary  string
	hints    []diag.Cause // also seen, below the threshold
}

// Ensure a capture given alone (each capture point of both sets: 128 runs) never names a wrong
// cause: it names the expected one, one the scenario also accepts, or unknown, and an unknown
// says what is missing. The confusion matrix is logged so a change of rules shows its effect.
func TestClassify_CaptureAloneConfusion(t *testing.T) {
	var runs []captureAloneRun
	for dir, sc := range loadScenarios(t) {
		for _, file := range []string{"capture.pcap", "capture-peerB.pcap"} {
			v, err := Classify(t.Context(), Input{Captures: []CaptureSource{{Path: filepath.Join(dir, file)}}})
			if err != nil {
				t.Fatal(err)
			}
			runs = append(runs, captureAloneRun{
				name: sc.Name + "/" + file,
				want: sc.ExpectedLabel, accepted: sc.AlsoAccept,
				got: v.Cause, conf: v.Confidence, summary: v.Summary,
			})
			for _, f := range v.AlsoSeen {
				runs[len(runs)-1].hints = append(runs[len(runs)-1].hints, f.Cause)
			}
		}
	}
	if len(runs) != 128 {
		t.Fatalf("%d runs, want 128", len(runs))
	}
	slices.SortFunc(runs, func(a, b captureAloneRun) int { return cmp.Compare(a.name, b.name) })
	t.Log("capture alone, expected -> got:\n" + confusion(runs))
	right, accepted, unknown := 0, 0, 0
	for _, r := range runs {
		switch {
		case r.got == r.want:
			right++
		case slices.Contains(r.accepted, r.got):
			accepted++
		case r.got == diag.CauseUnknown:
			unknown++
			if !strings.Contains(r.summary, "missing") {
				t.Errorf("%s: unknown without saying what is missing: %s", r.name, r.summary)
			}
			// Where the capture saw a failure inside encrypted IKE, the causes it names include the right one.
			if strings.Contains(r.summary, "inside encrypted IKE") && !slices.ContainsFunc(r.hints, func(c diag.Cause) bool { return c == r.want || slices.Contains(r.accepted, c) }) {
				t.Errorf("%s: the encrypted failure's hints %v miss %s: %s", r.name, r.hints, r.want, r.summary)
			}
		default:
			if r.conf >= Threshold {
				t.Errorf("%s: %s (%.2f), want %s or unknown: %s", r.name, r.got, r.conf, r.want, r.summary)
			}
		}
	}
	t.Logf("right %d, also accepted %d, unknown %d, wrong %d of %d", right, accepted, unknown, len(runs)-right-accepted-unknown, len(runs))
}

// confusion renders runs as rows of expected labels, each with the labels it came out as.
func confusion(runs []captureAloneRun) string {
	m := map[diag.Cause]map[diag.Cause]int{}
	for _, r := range runs {
		if m[r.want] == nil {
			m[r.want] = map[diag.Cause]int{}
		}
		m[r.want][r.got]++
	}
	var b strings.Builder
	for _, want := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%-26s", want)
		for _, got := range slices.Sorted(maps.Keys(m[want])) {
			fmt.Fprintf(&b, " %s=%d", got, m[want][got])
		}
		b.WriteByte('\n')
	}
	for _, r := range runs {
		mark := "ok"
		if r.got != r.want && !slices.Contains(r.accepted, r.got) {
			mark = "UNKNOWN"
			if r.got != diag.CauseUnknown {
				mark = "WRONG"
			}
		}
		fmt.Fprintf(&b, "%-7s %-52s %-26s %.2f  want %-26s hints %v\n", mark, r.name, r.got, r.conf, r.want, r.hints)
	}
	return b.String()
}

// Ensure what a capture alone only hints at, the logs decide: with both logs, every scenario
// whose capture alone was refused inside encrypted IKE gets its own label, not a hint's.
func TestClassify_LogsDecideOverEncryptedHints(t *testing.T) {
	for dir, sc := range loadScenarios(t) {
		pcap := filepath.Join(dir, "capture.pcap")
		alone, err := Classify(t.Context(), Input{Captures: []CaptureSource{{Path: pcap}}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(alone.Summary, "inside encrypted IKE") && alone.Cause == diag.CauseUnknown {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			v, err := Classify(t.Context(), Input{
				Captures: []CaptureSource{{Path: pcap}},
				Logs:     []LogSource{{Path: filepath.Join(dir, "edgeA-charon.log"), Site: "edge"}, {Path: filepath.Join(dir, "peerB-charon.log"), Site: "peer"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if !sc.accepts(v.Cause) {
				t.Fatalf("capture alone %s, with logs %s, want %s", alone.Cause, v.Cause, sc.ExpectedLabel)
			}
			if alone.Cause != diag.CauseUnknown && v.Confidence < alone.Confidence {
				t.Errorf("the logs lowered the confidence: %.2f alone, %.2f with logs", alone.Confidence, v.Confidence)
			}
		})
	}
}

// Ensure a refused IKEv1 identity message needs the refusal: the real PSK-mismatch capture with
// the responder's informationals removed is the NAT-T-blocked shape (peer_unreachable), and with
// them arriving 30 s late (a half-open SA timing out, not an answer) it is no authentication
// failure.
func TestClassify_IdentityRefusalNeedsAnAnswer(t *testing.T) {
	src := "testdata/fixtures/ikev1-psk_mismatch/capture.pcap"
	msgs, err := ike.DecodeFile(src)
	if err != nil {
		t.Fatal(err)
	}
	informational := map[int]bool{}
	for _, m := range msgs {
		if m.Exchange == "INFORMATIONAL_V1" {
			informational[m.Frame] = true
		}
	}
	if len(informational) == 0 {
		t.Fatal("the fixture has no informationals")
	}
	classify := func(fn func(frame int, ci *gopacket.CaptureInfo, data []byte) []byte) *diag.Verdict {
		path := rewriteCapture(t, src, filepath.Join(t.TempDir(), "capture.pcap"), fn)
		v, err := Classify(t.Context(), Input{Captures: []CaptureSource{{Path: path}}})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	dropped := classify(func(frame int, _ *gopacket.CaptureInfo, data []byte) []byte {
		if informational[frame] {
			return nil
		}
		return data
	})
	if dropped.Cause != diag.CausePeerUnreachable {
		t.Errorf("without the informationals: %s (%s), want peer_unreachable", dropped.Cause, dropped.Summary)
	}
	late := classify(func(frame int, ci *gopacket.CaptureInfo, data []byte) []byte {
		if informational[frame] {
			ci.Timestamp = ci.Timestamp.Add(30 * time.Second)
		}
		return data
	})
	t.Logf("informationals 30 s late: %s (%s)", late.Cause, late.Summary)
	if late.Cause == diag.CauseAuthFailed {
		t.Errorf("informationals 30 s late taken as the refusal: %s", late.Summary)
	}
}
