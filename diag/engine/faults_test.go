package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/lab"
	"ipsecbot/lab/nsxsim"
	"ipsecbot/store"
)

func step(t *testing.T, rep *diag.Report, name string) diag.StepResult {
	t.Helper()
	i := slices.IndexFunc(rep.Steps, func(s diag.StepResult) bool { return s.Name == name })
	if i < 0 {
		t.Fatalf("no step %s", name)
	}
	return rep.Steps[i]
}

func missingMentions(rep *diag.Report, s string) bool {
	return slices.ContainsFunc(rep.Missing, func(m string) bool { return strings.Contains(m, s) })
}

// Ensure a run with the Edge's SSH down still classifies from the API and the peer, and says
// what it could not collect.
func TestDiagnose_EdgeSSHDown(t *testing.T) {
	l := startLab(t, "auth_failed", lab.Faults{})
	l.Edge().Close()
	rep, _ := diagnose(t, l, nil, engine.Options{})
	if rep.Cause != diag.CauseAuthFailed {
		t.Errorf("cause = %s, want auth_failed from the API and the peer's log", rep.Cause)
	}
	for _, name := range []string{"step3-capture", "prereq-mtu"} {
		if s := step(t, rep, name); s.Status != diag.StepFailed || !strings.Contains(s.Error, "edge SSH") {
			t.Errorf("%s: %s %q", name, s.Status, s.Error)
		}
	}
	// The show commands came through the Manager's central CLI instead.
	if s := step(t, rep, "step4-show"); s.Status != diag.StepOK || len(s.Artifacts) != 6 {
		t.Errorf("step4: %s %q, %d artifacts", s.Status, s.Error, len(s.Artifacts))
	}
	if !missingMentions(rep, "Step 3: IKE/ESP capture on the Edge") || !missingMentions(rep, "central CLI") {
		t.Errorf("missing does not name the capture and the fallback: %v", rep.Missing)
	}
}

// Ensure a run with neither the Edge's SSH nor the API still ends with a report that says
// what could not be collected (the peer's log alone names the cause).
func TestDiagnose_EdgeSSHAndAPIDown(t *testing.T) {
	l := startLab(t, "auth_failed", lab.Faults{})
	l.Edge().Close()
	rep, _ := diagnose(t, l, nil, engine.Options{DisableAPI: true})
	for _, name := range []string{"step3-capture", "step4-show", "prereq-route"} {
		if s := step(t, rep, name); s.Status != diag.StepFailed || !strings.Contains(s.Error, "edge SSH") {
			t.Errorf("%s: %s %q", name, s.Status, s.Error)
		}
	}
	if rep.Cause != diag.CauseAuthFailed {
		t.Errorf("cause = %s, want auth_failed from the peer's log", rep.Cause)
	}
	if len(rep.Missing) < 4 {
		t.Errorf("missing: %v", rep.Missing)
	}
}

// Ensure a run with the API answering 503 classifies from the Edge, the capture and the peer.
func TestDiagnose_APIDown(t *testing.T) {
	l := startLab(t, "peer_unreachable", lab.Faults{Manager: nsxsim.Faults{Status: 503}})
	rep, _ := diagnose(t, l, nil, engine.Options{})
	if rep.Cause != diag.CausePeerUnreachable {
		t.Errorf("cause = %s, want peer_unreachable", rep.Cause)
	}
	if s := step(t, rep, "step7-api"); s.Status != diag.StepFailed || !strings.Contains(s.Error, "503") {
		t.Errorf("step7: %s %q", s.Status, s.Error)
	}
	if s := step(t, rep, "step3-capture"); s.Status != diag.StepOK {
		t.Errorf("capture: %s %q", s.Status, s.Error)
	}
}

// Ensure a run with the peer unreachable over SSH still classifies and names what is missing.
func TestDiagnose_PeerDown(t *testing.T) {
	l := startLab(t, "ike_proposal_mismatch", lab.Faults{})
	l.Peer().Close()
	rep, _ := diagnose(t, l, nil, engine.Options{})
	if rep.Cause != diag.CauseIKEProposalMismatch {
		t.Errorf("cause = %s, want ike_proposal_mismatch", rep.Cause)
	}
	if s := step(t, rep, "step5-peer"); s.Status != diag.StepFailed {
		t.Errorf("step5: %s", s.Status)
	}
	if !missingMentions(rep, "Step 5") {
		t.Errorf("missing: %v", rep.Missing)
	}
}

// Ensure cancelling a run during the capture stops the Edge's capture and removes its file
// before Diagnose returns, whether the cancel comes as the capture is being started (recorded,
// the start command perhaps in flight) or once the Edge runs it; the store no longer records
// it. The report says the run was interrupted and step 6 still classifies what was collected;
// the incident is marked interrupted with a note.
func TestDiagnose_CancelDuringCapture(t *testing.T) {
	moments := map[string]func(l *lab.Lab, recs []store.Capture) bool{
		"recorded": func(_ *lab.Lab, recs []store.Capture) bool { return len(recs) > 0 },
		"running": func(l *lab.Lab, _ []store.Capture) bool {
			caps := l.Edge().Captures()
			return len(caps) > 0 && caps[0].Running
		},
	}
	for name, now := range moments {
		t.Run(name, func(t *testing.T) { cancelDuringCapture(t, now) })
	}
}

func cancelDuringCapture(t *testing.T, now func(*lab.Lab, []store.Capture) bool) {
	checkLeaks(t)
	l := startLab(t, "auth_failed", lab.Faults{})
	db := openStore(t)
	e, err := engine.New(l.Config(), db, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var once sync.Once
	cancelWhenCapturing := func(ev diag.Event) {
		if ev.Kind == diag.EventStepStarted && ev.Step == "step3-capture" {
			go func() {
				for ctx.Err() == nil {
					if recs, _ := db.Captures(); now(l, recs) {
						once.Do(cancel)
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
			}()
		}
	}
	rep, err := e.Diagnose(ctx, diag.Request{Edge: "edge-01", CaptureSeconds: 30, OutDir: t.TempDir()}, cancelWhenCapturing)
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the cancel", err)
	}
	// No e.Close() first: Diagnose returns once the cleanup is done.
	for _, c := range l.Edge().Captures() {
		if c.Running || !c.Removed {
			t.Fatalf("edge captures after cancel: %+v", l.Edge().Captures())
		}
	}
	if files := l.Edge().Files(); len(files) != 0 {
		t.Errorf("files left on the edge: %v", files)
	}
	if recs, err := db.Captures(); err != nil || len(recs) != 0 {
		t.Errorf("store still records captures: %+v %v", recs, err)
	}
	if rep == nil || rep.Interrupted == "" {
		t.Fatalf("report %+v does not say it was interrupted", rep)
	}
	md, err := os.ReadFile(filepath.Join(rep.Dir, "report.md"))
	if err != nil || !strings.Contains(string(md), "This diagnosis was interrupted") {
		t.Errorf("report.md does not say it was interrupted: %v", err)
	}
	// report.json keeps the sentence and carries the typed value next to it.
	var back diag.Report
	if js, err := os.ReadFile(filepath.Join(rep.Dir, "report.json")); err != nil || json.Unmarshal(js, &back) != nil ||
		back.Interruption == nil || back.Interruption.Reason != context.Canceled.Error() || back.Interrupted != back.Interruption.String() {
		t.Errorf("report.json interruption: %+v %q %v", back.Interruption, back.Interrupted, err)
	}
	if s := step(t, rep, "step6-review"); s.Status != diag.StepOK {
		t.Errorf("step 6 after cancel: %s %q", s.Status, s.Error)
	}
	inc, err := db.Incident(rep.Incident)
	if err != nil || inc.Status != store.StatusInterrupted {
		t.Errorf("incident: %+v %v", inc, err)
	}
	if tl, _ := db.Timeline(rep.Incident); !strings.Contains(timelineText(tl), "interrupted") {
		t.Errorf("timeline: %s", timelineText(tl))
	}
}

// Ensure a second request for the same edge joins the running diagnosis: both get the same
// report and the second listener gets the run's later events; the Edge sees one capture.
func TestDiagnose_Join(t *testing.T) {
	l := startLab(t, "healthy", lab.Faults{})
	e, err := engine.New(l.Config(), nil, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	started := make(chan struct{})
	var first, second recorder
	var once sync.Once
	var reps [2]*diag.Report
	var wg sync.WaitGroup
	wg.Go(func() {
		r, err := e.Diagnose(t.Context(), diag.Request{Edge: "edge-01", CaptureSeconds: 1, OutDir: t.TempDir()}, first.listen, func(ev diag.Event) {
			if ev.Kind == diag.EventStepStarted {
				once.Do(func() { close(started) })
			}
		})
		if err != nil {
			t.Error(err)
		}
		reps[0] = r
	})
	<-started
	if !e.Running("edge-01") {
		t.Fatal("not running")
	}
	wg.Go(func() {
		r, err := e.Diagnose(t.Context(), diag.Request{Edge: "edge-01"}, second.listen)
		if err != nil {
			t.Error(err)
		}
		reps[1] = r
	})
	wg.Wait()
	if reps[0] == nil || reps[0] != reps[1] {
		t.Fatalf("reports differ: %p %p", reps[0], reps[1])
	}
	if k := second.kinds(); k[diag.EventFinished] != 1 || k[diag.EventStarted] != 0 {
		t.Errorf("joiner's events: %v", k)
	}
	if n := len(l.Edge().Captures()); n != 1 {
		t.Errorf("%d captures on the edge, want 1", n)
	}
}

// Ensure the progress events come in order per step and the terminal lines say each result.
func TestDiagnose_Events(t *testing.T) {
	l := startLab(t, "esp_blocked", lab.Faults{})
	var rec recorder
	var buf strings.Builder
	p := engine.NewProgress(&buf, false)
	rep, _ := diagnose(t, l, nil, engine.Options{}, rec.listen, p.Listener())
	p.Close()
	k := rec.kinds()
	if k[diag.EventStarted] != 1 || k[diag.EventFinished] != 1 || k[diag.EventStepStarted] != len(rep.Steps) ||
		k[diag.EventStepFinished]+k[diag.EventStepFailed] != len(rep.Steps) {
		t.Errorf("events %v for %d steps", k, len(rep.Steps))
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(rep.Steps)+1 {
		t.Errorf("%d lines for %d steps:\n%s", len(lines), len(rep.Steps), buf.String())
	}
	if !strings.Contains(buf.String(), "[7/11] Step 3: IKE/ESP capture on the Edge ... ok (") {
		t.Errorf("progress:\n%s", buf.String())
	}
}

// Ensure no secret of the lab (the Edge's and the Manager's passwords) reaches the report or
// any artifact.
func TestDiagnose_NoSecretsInArtifacts(t *testing.T) {
	l := startLab(t, "auth_failed", lab.Faults{})
	var secrets []string
	for _, f := range []string{lab.FileEdgePassword, lab.FileManagerPassword} {
		b, err := os.ReadFile(filepath.Join(l.Dir(), f))
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, strings.TrimSpace(string(b)))
	}
	_, out := diagnose(t, l, nil, engine.Options{})
	n := 0
	err := filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s holds a secret", path)
			}
		}
		return nil
	})
	if err != nil || n < 5 {
		t.Fatalf("walked %d files: %v", n, err)
	}
}

// Ensure TunnelStatus reads the edge's tunnels from the API statistics.
func TestTunnelStatus(t *testing.T) {
	l := startLab(t, "auth_failed", lab.Faults{})
	e, err := engine.New(l.Config(), nil, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ts, err := e.TunnelStatus(t.Context(), "edge-01")
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].Up() || ts[0].PeerName != lab.PeerName || !strings.Contains(ts[0].Failure, "Authentication Failed") {
		t.Errorf("tunnels: %+v", ts)
	}
	if _, err := e.TunnelStatus(t.Context(), "edge-99"); !errors.Is(err, engine.ErrUnknownEdge) {
		t.Errorf("unknown edge: %v", err)
	}
}

// Ensure a request without --peer diagnoses the first peer whose tunnel is down.
func TestDiagnose_PicksDownPeer(t *testing.T) {
	l := startLab(t, "auth_failed", lab.Faults{})
	cfg := l.Config()
	edge := &cfg.Edges[0]
	other := config.Peer{Name: "hq-fw", Address: "192.0.2.99", Kind: config.PeerDeclared}
	edge.Peers = append([]config.Peer{other}, edge.Peers...)
	e, err := engine.New(cfg, nil, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rep, err := e.Diagnose(t.Context(), diag.Request{Edge: "edge-01", CaptureSeconds: 1, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Peer != lab.PeerName || rep.Cause != diag.CauseAuthFailed {
		t.Errorf("peer %s, cause %s; want %s, auth_failed", rep.Peer, rep.Cause, lab.PeerName)
	}
}
