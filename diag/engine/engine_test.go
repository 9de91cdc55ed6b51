package engine_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/lab"
	"ipsecbot/store"
)

// checkLeaks fails the test if goroutines are left once everything else has been cleaned up
// (register it first: cleanups run last-in first-out).
func checkLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// startLab runs a lab scenario on loopback for the test.
func startLab(t *testing.T, scenario string, faults lab.Faults) *lab.Lab {
	t.Helper()
	return startLabWindow(t, scenario, faults, 2)
}

// startLabWindow is startLab with the edge's capture cap (and so the longest window) given.
func startLabWindow(t *testing.T, scenario string, faults lab.Faults, captureSeconds int) *lab.Lab {
	t.Helper()
	l, err := lab.Start(t.Context(), lab.Options{Scenario: scenario, Dir: t.TempDir(), CaptureSeconds: captureSeconds, Faults: faults})
	if err != nil {
		t.Fatalf("lab %s: %v", scenario, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "bot.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// recorder keeps a run's events.
type recorder struct {
	mu     sync.Mutex
	events []diag.Event
}

func (r *recorder) listen(ev diag.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *recorder) kinds() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[string]int{}
	for _, e := range r.events {
		m[e.Kind]++
	}
	return m
}

func diagnose(t *testing.T, l *lab.Lab, db *store.DB, opts engine.Options, listeners ...diag.Listener) (*diag.Report, string) {
	t.Helper()
	e, err := engine.New(l.Config(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	out := t.TempDir()
	rep, err := e.Diagnose(t.Context(), diag.Request{Edge: "edge-01", CaptureSeconds: 1, OutDir: out, Requester: "cli"}, listeners...)
	if err != nil {
		t.Fatalf("Diagnose: %v", err)
	}
	return rep, out
}

// Ensure a diagnosis writes report.json (the analyze --json shape plus steps and artifacts),
// report.md and capture.pcap; every artifact's sha256 is its file's; the store records the
// incident, its artifacts and its timeline.
func TestDiagnose_ReportAndStore(t *testing.T) {
	checkLeaks(t)
	l := startLab(t, "auth_failed", lab.Faults{})
	db := openStore(t)
	var rec recorder
	rep, out := diagnose(t, l, db, engine.Options{}, rec.listen)
	if rep.Cause != diag.CauseAuthFailed || rep.Incident == "" || rep.Dir != out {
		t.Fatalf("cause %s, incident %q, dir %q", rep.Cause, rep.Incident, rep.Dir)
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]any
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"cause", "ike_version", "confidence", "summary", "evidence", "also_seen", "remediation", "scanned", "steps", "artifacts"} {
		if _, ok := top[k]; !ok {
			t.Errorf("report.json lacks %q", k)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Cause: `auth_failed`", "### Evidence", "| 7 | Step 3: IKE/ESP capture on the Edge | ok |", "capture.pcap"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	names := map[string]bool{}
	for _, a := range rep.Artifacts {
		names[a.Name] = true
		data, err := os.ReadFile(filepath.Join(out, a.Name))
		if err != nil {
			t.Error(err)
			continue
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != a.SHA256 || int64(len(data)) != a.Size {
			t.Errorf("%s: sha256/size differ from the file", a.Name)
		}
	}
	for _, want := range []string{"capture.pcap", "logs/peer.log", "show/show-service-ipsec-start.txt", "api/ipsec-statistics-end.xml"} {
		if !names[want] {
			t.Errorf("no artifact %s", want)
		}
	}
	stored, err := db.Artifacts(rep.Incident)
	if err != nil || len(stored) < len(rep.Artifacts) {
		t.Errorf("store has %d artifacts for %d in the report: %v", len(stored), len(rep.Artifacts), err)
	}
	// Every artifact the store records is on disk under that name, with that size and sha256,
	// and is in the report (a file renamed after it was written is recorded under its final name).
	for _, a := range stored {
		data, err := os.ReadFile(a.Path)
		if err != nil {
			t.Errorf("stored artifact: %v", err)
			continue
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != a.SHA256 || int64(len(data)) != a.Size {
			t.Errorf("stored artifact %s: sha256/size differ from the file", a.Path)
		}
		rel, err := filepath.Rel(out, a.Path)
		if rel = filepath.ToSlash(rel); err != nil || !names[rel] && rel != "report.json" && rel != "report.md" { // the report does not list itself
			t.Errorf("stored artifact %s is not in the report", a.Path)
		}
	}
	if !names["logs/edge-techsupport.tar.gz"] {
		t.Errorf("no artifact logs/edge-techsupport.tar.gz")
	}
	inc, err := db.Incident(rep.Incident)
	if err != nil || inc.Cause != string(diag.CauseAuthFailed) || inc.Status != store.StatusOpen {
		t.Errorf("incident: %+v %v", inc, err)
	}
	tl, err := db.Timeline(rep.Incident)
	if err != nil || len(tl) < len(rep.Steps)+2 {
		t.Errorf("timeline has %d events: %v", len(tl), err)
	}
	if caps, _ := db.Captures(); len(caps) != 0 {
		t.Errorf("captures still recorded: %+v", caps)
	}
	if k := rec.kinds(); k[diag.EventFinished] != 1 {
		t.Errorf("events: %v", k)
	}
}
