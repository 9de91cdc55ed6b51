package engine_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/lab"
	"ipsecbot/store"
)

// startLab runs a lab scenario on loopback for the test.
func startLab(t *testing.T, scenario string, faults lab.Faults) *lab.Lab {
	t.Helper()
	l, err := lab.Start(t.Context(), lab.Options{Scenario: scenario, Dir: t.TempDir(), CaptureSeconds: 2, Faults: faults})
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

func TestDiagnose_AuthFailed(t *testing.T) {
	l := startLab(t, "auth_failed", lab.Faults{})
	db := openStore(t)
	var rec recorder
	rep, out := diagnose(t, l, db, engine.Options{}, rec.listen)
	js, _ := json.MarshalIndent(rep, "", "  ")
	t.Logf("%s", js)
	if rep.Cause != diag.CauseAuthFailed {
		t.Errorf("cause = %s, want auth_failed", rep.Cause)
	}
	for _, f := range []string{"report.json", "report.md", "capture.pcap"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	t.Logf("kinds %v", rec.kinds())
	_ = context.Background
}
