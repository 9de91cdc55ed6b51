package engine

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag"
	"ipsecbot/lab"
	"ipsecbot/lab/edgesim"
	"ipsecbot/store"
)

// lifeLab is a lab, a store and an engine on them, for driving captureLife by hand.
type lifeLab struct {
	lab *lab.Lab
	db  *store.DB
	e   *Engine
}

func startLifeLab(t *testing.T, opts Options) *lifeLab {
	t.Helper()
	l, err := lab.Start(t.Context(), lab.Options{Scenario: "auth_failed", Dir: t.TempDir(), CaptureSeconds: 30})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	db, err := store.Open(filepath.Join(t.TempDir(), "bot.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e, err := New(l.Config(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return &lifeLab{lab: l, db: db, e: e}
}

// life returns a capture life on a fresh run of edge-01 (its own Edge session).
func (ll *lifeLab) life(t *testing.T) *captureLife {
	t.Helper()
	edgeCfg, _ := ll.e.cfg.Edge(lab.EdgeName)
	claimed, _ := ll.e.incidents.Claim(lab.EdgeName)
	r, err := ll.e.newRun(t.Context(), claimed, edgeCfg, diag.Request{Edge: lab.EdgeName, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	// The edge is released at once: these tests drive the capture life by hand, and the
	// cleanups they check skip an edge whose diagnosis is running.
	claimed.Finish(nil, nil)
	t.Cleanup(func() { r.cancel(); r.closeClients() })
	cli, err := r.edgeCLI()
	if err != nil {
		t.Fatal(err)
	}
	return newCaptureLife(r, cli, r.edge.Uplink)
}

func (ll *lifeLab) records(t *testing.T) []store.Capture {
	t.Helper()
	recs, err := ll.db.Captures()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// checkClean fails unless the lab's Edge runs no capture and keeps none of the given files'
// complement (want: the files that must be left), and the store records no capture.
func (ll *lifeLab) checkClean(t *testing.T, want ...string) {
	t.Helper()
	for _, c := range ll.lab.Edge().Captures() {
		if c.Running {
			t.Errorf("a capture still runs on the Edge: %+v", c)
		}
	}
	if files := ll.lab.Edge().Files(); !slices.Equal(files, want) {
		t.Errorf("files on the Edge: %v, want %v", files, want)
	}
	if recs := ll.records(t); len(recs) != 0 {
		t.Errorf("the store still records %+v", recs)
	}
}

// drive takes a new life to state on ctx, the way a run does.
func drive(t *testing.T, l *captureLife, ctx context.Context, state captureState) {
	t.Helper()
	if err := l.start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	if state == capRecorded {
		// A start cut short: the Edge runs the capture, and the run has no handle on it.
		l.c, l.state = nil, capRecorded
		return
	}
	steps := []struct {
		to captureState
		do func() error
	}{
		{capWindow, func() error { l.openWindow(); return nil }},
		{capStopped, func() error { return l.stop(ctx) }},
		{capFetched, func() error { _, err := l.fetch(ctx); return err }},
		{capRemoved, func() error { return l.remove(ctx) }},
	}
	for _, s := range steps {
		if l.state == state {
			return
		}
		if err := s.do(); err != nil {
			t.Fatalf("to %s: %v", s.to, err)
		}
		if l.state != s.to {
			t.Fatalf("state %s, want %s", l.state, s.to)
		}
	}
}

// Ensure a cancel in any state of a capture's life leaves nothing on the Edge and no record:
// end drives it to removed and forgotten on a context of its own.
func TestCaptureLife_CancelAtEachState(t *testing.T) {
	for _, state := range []captureState{capRecorded, capStarted, capWindow, capStopped, capFetched, capRemoved} {
		t.Run(state.String(), func(t *testing.T) {
			ll := startLifeLab(t, Options{})
			l := ll.life(t)
			ctx, cancel := context.WithCancel(t.Context())
			drive(t, l, ctx, state)
			if l.state != state {
				t.Fatalf("driven to %s, want %s", l.state, state)
			}
			if recs := ll.records(t); len(recs) != 1 {
				t.Fatalf("records while the capture lives: %+v", recs)
			}
			cancel()
			if err := l.end(ctx); err != nil {
				t.Fatalf("end after a cancel in %s: %v", state, err)
			}
			if l.state != capForgotten {
				t.Errorf("state after end: %s", l.state)
			}
			ll.checkClean(t)
		})
	}
}

// Ensure a cleanup that fails (the Edge's session lost, its host key changed at the retry)
// keeps the store's record and leaves the capture to a later retry, which removes it: called
// again (as at the next start), and in the background on its own.
func TestCaptureLife_FailedCleanupRetried(t *testing.T) {
	fail := func(t *testing.T, ll *lifeLab) {
		t.Helper()
		l := ll.life(t)
		drive(t, l, t.Context(), capWindow)
		ll.lab.Edge().SetFaults(edgesim.Faults{ChangedHostKey: true})
		l.cli.Close() // the run's session is gone: the stop over it fails
		if err := l.end(t.Context()); err == nil || !strings.Contains(err.Error(), "recorded") {
			t.Fatalf("end with the Edge unreachable: %v, want a failure that keeps the record", err)
		}
		if recs := ll.records(t); len(recs) != 1 {
			t.Fatalf("records after a failed cleanup: %+v, want the capture's", recs)
		}
		if caps := ll.lab.Edge().Captures(); len(caps) != 1 || !caps[0].Running {
			t.Fatalf("edge captures: %+v, want the one left running", caps)
		}
		ll.lab.Edge().SetFaults(edgesim.Faults{})
	}

	t.Run("called again", func(t *testing.T) {
		ll := startLifeLab(t, Options{CleanupRetry: time.Hour})
		fail(t, ll)
		ll.lab.Edge().SetFaults(edgesim.Faults{ChangedHostKey: true})
		if n, err := ll.e.CleanupCaptures(t.Context()); n != 0 || err == nil {
			t.Fatalf("cleanup while the host key is wrong: %d %v, want a failure", n, err)
		}
		if recs := ll.records(t); len(recs) != 1 {
			t.Fatalf("a failed cleanup dropped the record: %+v", recs)
		}
		ll.lab.Edge().SetFaults(edgesim.Faults{})
		if n, err := ll.e.CleanupCaptures(t.Context()); n != 1 || err != nil {
			t.Fatalf("cleanup: %d %v, want 1 removed", n, err)
		}
		ll.checkClean(t)
	})

	t.Run("in the background", func(t *testing.T) {
		ll := startLifeLab(t, Options{CleanupRetry: 100 * time.Millisecond})
		fail(t, ll)
		waitUntil(t, "the background retry removed the capture", func() bool { return len(ll.records(t)) == 0 })
		ll.checkClean(t)
	})
}

// Ensure a capture of ours left on the interface (its process died) is stopped and its files
// removed before a new capture starts there, where the Edge would refuse a second capture;
// a file on the interface that no record claims is kept.
func TestCaptureLife_LeftoverRemovedFirst(t *testing.T) {
	ll := startLifeLab(t, Options{})
	// Someone's earlier capture whose file is kept: not ours to remove.
	kept := ll.life(t)
	drive(t, kept, t.Context(), capStopped)
	keptFile := kept.c.File()
	if err := ll.db.DeleteCapture(kept.rec.Edge, kept.rec.File); err != nil {
		t.Fatal(err)
	}
	// A capture of ours whose process died: running, recorded, nobody to stop it.
	dead := ll.life(t)
	drive(t, dead, t.Context(), capWindow)

	next := ll.life(t)
	if err := next.start(t.Context()); err != nil {
		t.Fatalf("start over a leftover of ours: %v", err)
	}
	recs := ll.records(t)
	if len(recs) != 1 || !recs[0].Started.Equal(next.rec.Started) {
		t.Errorf("records: %+v, want only the new capture's", recs)
	}
	running := 0
	for _, c := range ll.lab.Edge().Captures() {
		if c.Running {
			running++
		}
	}
	if running != 1 {
		t.Errorf("%d captures running, want the new one alone: %+v", running, ll.lab.Edge().Captures())
	}
	if err := next.end(t.Context()); err != nil {
		t.Fatal(err)
	}
	ll.checkClean(t, keptFile)
}

// Ensure a receive endpoint whose port is taken fails step 3 before any capture exists: the
// Edge never ran one and the store records none.
func TestDiagnose_SCPPortInUseFailsBeforeCapture(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ll := startLifeLab(t, Options{})
	cfg := ll.lab.Config()
	cfg.Edges[0].Capture.SCPListen = ln.Addr().String()
	e, err := New(cfg, ll.db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rep, err := e.Diagnose(t.Context(), diag.Request{Edge: lab.EdgeName, CaptureSeconds: 1, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(rep.Steps, func(s diag.StepResult) bool { return s.Name == "step3-capture" })
	if i < 0 {
		t.Fatalf("no step 3: %+v", rep.Steps)
	}
	if s := rep.Steps[i]; s.Status != diag.StepFailed || !strings.Contains(s.Error, "address already in use") ||
		!strings.Contains(s.Error, "before any capture started") {
		t.Errorf("step 3: %s %q, want it failed on the port before the capture", s.Status, s.Error)
	}
	if caps := ll.lab.Edge().Captures(); len(caps) != 0 {
		t.Errorf("the Edge ran a capture: %+v", caps)
	}
	if recs := ll.records(t); len(recs) != 0 {
		t.Errorf("records: %+v", recs)
	}
}

// waitUntil polls cond (an event seen from outside) for up to a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
