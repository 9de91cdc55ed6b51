package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/diag/ike"
	"ipsecbot/lab"
	"ipsecbot/store"
)

// lateBound is how soon after a cancel Diagnose must return: the work after the window
// (end-of-window reads, stop/fetch/remove, logs, classification) runs on bounded contexts of
// its own, and in the lab it is quick.
const lateBound = 15 * time.Second

// Ensure a run cancelled 1.5 s into a 30 s capture window keeps what it collected: the
// capture is stopped, fetched into capture.pcap (which parses) and then removed from the
// Edge; both sites' logs are collected anyway; Diagnose returns soon after the cancel with
// the report marked interrupted and the incident interrupted.
func TestDiagnose_InterruptedWindowKeepsCollected(t *testing.T) {
	checkLeaks(t)
	// The lab's edge allows a 30 s window (startLab caps it at 2 s, which a slow run under
	// -race could reach before the cancel at 1.5 s).
	l := startLabWindow(t, "auth_failed", lab.Faults{}, 30)
	db := openStore(t)
	e, err := engine.New(l.Config(), db, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var cancelledAt time.Time
	var once sync.Once
	var wg sync.WaitGroup
	defer wg.Wait()
	cancelInWindow := func(ev diag.Event) {
		if ev.Kind != diag.EventStepStarted || ev.Step != "step3-capture" {
			return
		}
		wg.Go(func() {
			for ctx.Err() == nil {
				if caps := l.Edge().Captures(); len(caps) > 0 && caps[0].Running {
					time.Sleep(1500 * time.Millisecond)
					once.Do(func() { cancelledAt = time.Now(); cancel() })
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	out := t.TempDir()
	rep, err := e.Diagnose(ctx, diag.Request{Edge: "edge-01", CaptureSeconds: 30, OutDir: out}, cancelInWindow)
	returned := time.Now()
	wg.Wait()
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the cancel", err)
	}
	if cancelledAt.IsZero() {
		t.Fatal("the run ended before the cancel")
	}
	if d := returned.Sub(cancelledAt); d > lateBound {
		t.Errorf("Diagnose returned %s after the cancel, want within %s", d, lateBound)
	}
	if rep == nil || rep.Interrupted == "" {
		t.Fatalf("report %+v does not say it was interrupted", rep)
	}

	// The partial capture was fetched before the Edge's file was removed.
	if s := step(t, rep, "step3-capture"); s.Status != diag.StepOK || !strings.Contains(s.Summary, "cut short") {
		t.Errorf("step 3: %s %q %q", s.Status, s.Error, s.Summary)
	}
	pcap := filepath.Join(out, "capture.pcap")
	if fi, err := os.Stat(pcap); err != nil || fi.Size() == 0 {
		t.Fatalf("capture.pcap: %v", err)
	}
	if _, err := ike.AnalyzeFile(pcap); err != nil {
		t.Errorf("capture.pcap does not parse: %v", err)
	}
	caps := l.Edge().Captures()
	if len(caps) == 0 {
		t.Fatal("the edge took no capture")
	}
	for _, c := range caps {
		if c.Running || !c.Removed {
			t.Errorf("edge capture after cancel: %+v", c)
		}
	}
	if files := l.Edge().Files(); len(files) != 0 {
		t.Errorf("files left on the edge: %v", files)
	}
	if recs, err := db.Captures(); err != nil || len(recs) != 0 {
		t.Errorf("store still records captures: %+v %v", recs, err)
	}

	// Both sites' logs, and the end-of-window readings.
	if s := step(t, rep, "step1-logs"); s.Status != diag.StepOK {
		t.Errorf("step 1: %s %q", s.Status, s.Error)
	}
	for _, site := range []string{"logs/edge", "logs/peer.log"} {
		i := slices.IndexFunc(rep.Artifacts, func(a diag.Artifact) bool { return strings.HasPrefix(a.Name, site) })
		if i < 0 {
			t.Errorf("no artifact %s*: %+v", site, rep.Artifacts)
			continue
		}
		if fi, err := os.Stat(filepath.Join(out, rep.Artifacts[i].Name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", rep.Artifacts[i].Name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "show", "show-service-ipsec-end.txt")); err != nil {
		t.Errorf("no end-of-window show: %v", err)
	}
	if rep.Cause != diag.CauseAuthFailed {
		t.Errorf("cause = %s, want auth_failed from what was collected", rep.Cause)
	}
	inc, err := db.Incident(rep.Incident)
	if err != nil || inc.Status != store.StatusInterrupted {
		t.Errorf("incident: %+v %v", inc, err)
	}
}
