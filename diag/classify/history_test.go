package classify

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag"
)

const authFailedMsg = "Version-IKEv2 Authentication Failed.Check the configured secret or local/peer ID configuration."

// historyTSV is a watch history as the watcher writes it: the auth failure seen in two sweeps
// six hours before now, then the tunnel back up.
func historyTSV(now time.Time) string {
	at := func(d time.Duration) string { return now.Add(-d).UTC().Format(time.RFC3339Nano) }
	return "# watch history of edge-01 site-1 10.0.1.0/24-10.0.2.0/24\n" +
		"time\tedge\tsite\ttunnel\tkind\tstate\tnote\tchannel_status\tchannel_state\ttunnel_status\ttunnel_state\tlocal_spi\tpeer_spi\testablished\tpackets_in\tpackets_out\terrors\tike_rekeys\tfailure_message\tinformational_message\n" +
		at(6*time.Hour) + "\tedge-01\tsite-1\t10.0.1.0/24-10.0.2.0/24\tdrop\t\twent down\tdown\t\tdown\t\t\t\t\t0\t0\t0\t\t" + authFailedMsg + "\t\n" +
		at(6*time.Hour-time.Minute) + "\tedge-01\tsite-1\t10.0.1.0/24-10.0.2.0/24\tsample\t\t\tdown\t\tdown\t\t\t\t\t0\t0\t0\t\t" + authFailedMsg + "\t\n" +
		at(5*time.Hour+time.Minute) + "\tedge-01\tsite-1\t10.0.1.0/24-10.0.2.0/24\thint\t\tcharon: 09[IKE] giving up after 5 retransmits\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n" +
		at(5*time.Hour) + "\tedge-01\tsite-1\t10.0.1.0/24-10.0.2.0/24\tchange\t\tback up\tup\t\tup\t\taa\tbb\t\t10\t10\t0\t\t\t\n"
}

// Ensure a history's failure message names its cause through the statistics' rules, cites its
// line, says when it was seen, and weighs less than the same message read now.
func TestClassify_WatchHistory(t *testing.T) {
	now := time.Date(2026, 3, 4, 9, 12, 0, 0, time.UTC)
	dir := t.TempDir()
	path := filepath.Join(dir, "api", "watch-history.tsv")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(historyTSV(now)), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := Classify(context.Background(), Input{History: []HistorySource{{Path: path, Now: now}}, RefDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if v.Cause != diag.CauseAuthFailed {
		t.Fatalf("cause = %s, want auth_failed; evidence %v", v.Cause, v.Evidence)
	}
	ev := v.Evidence[0]
	if ev.Ref != "api/watch-history.tsv:3" {
		t.Errorf("ref = %q, want api/watch-history.tsv:3 (the first row with the message)", ev.Ref)
	}
	for _, want := range []string{"at 2026-03-04 03:12:00 UTC", "6h0m0s before the diagnosis", "in 2 sweeps until 03:13:00", authFailedMsg} {
		if !strings.Contains(ev.Text, want) {
			t.Errorf("evidence %q does not say %q", ev.Text, want)
		}
	}
	if !ev.Time.Equal(now.Add(-6 * time.Hour)) {
		t.Errorf("evidence time = %v, want the first sighting", ev.Time)
	}
	if !strings.Contains(fmt.Sprint(v.AlsoSeen), "the Edge's syslog said on site-1 10.0.1.0/24-10.0.2.0/24: charon: 09[IKE] giving up after 5 retransmits") {
		t.Errorf("the syslog hint row is not seen: %+v", v.AlsoSeen)
	}
	past, live := observationWeight(t, true), observationWeight(t, false)
	if past >= live || past <= 0 {
		t.Errorf("a past message weighs %v, a live one %v: want less, not nothing", past, live)
	}
}

func observationWeight(t *testing.T, past bool) float64 {
	o, ok := nsxMessage("x", authFailedMsg, diag.FileRef("x"), time.Time{})
	if !ok {
		t.Fatal("the NSX auth failure message matches no pattern")
	}
	o.past = past
	best := 0.0
	for _, w := range weigh([]observation{o}) {
		if w.cause == diag.CauseAuthFailed {
			best = max(best, w.weight)
		}
	}
	return best
}

// Ensure a file that is not a history is said so and counts for nothing.
func TestClassify_WatchHistoryNotAHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.tsv")
	if err := os.WriteFile(path, []byte(authFailedMsg+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := Classify(context.Background(), Input{History: []HistorySource{{Path: path}}})
	if err != nil {
		t.Fatal(err)
	}
	if v.Cause != diag.CauseUnknown || !strings.Contains(strings.Join(v.Missing, "; "), "not a watch history") {
		t.Errorf("cause %s, missing %v: want unknown and the file refused", v.Cause, v.Missing)
	}
}

// FuzzParseHistory: any bytes read as a history never panic, and every message cites a line
// of the input with the text found on it.
func FuzzParseHistory(f *testing.F) {
	f.Add(historyTSV(time.Date(2026, 3, 4, 9, 12, 0, 0, time.UTC)))
	f.Add("time\tfailure_message\n2026-01-01T00:00:00Z\tx\n")
	f.Add("time\n\n#\nnot a time\t\t\t\n")
	f.Fuzz(func(t *testing.T, s string) {
		msgs, _ := parseHistory(strings.NewReader(s))
		lines := strings.Split(s, "\n")
		for _, m := range msgs {
			if m.line < 1 || int(m.line) > len(lines) {
				t.Fatalf("message cites line %d of %d", m.line, len(lines))
			}
			if !strings.Contains(lines[m.line-1], m.text) || m.rows < 1 {
				t.Fatalf("line %d %q does not hold %q (%d rows)", m.line, lines[m.line-1], m.text, m.rows)
			}
		}
	})
}
