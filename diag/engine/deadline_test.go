package engine_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/edge"
	"ipsecbot/diag/engine"
	"ipsecbot/lab"
	"ipsecbot/lab/edgesim"
	"ipsecbot/lab/nsxsim"
	"ipsecbot/lab/peersim"
	"ipsecbot/store"
)

// Ensure a run against an Edge whose show command hangs ends within its window plus its
// budget, with its capture removed and the Edge's show commands named as cut.
func TestDiagnose_DeadlineCutsHangingEdge(t *testing.T) {
	const window, budget = 2 * time.Second, 12 * time.Second
	l := startLabWindow(t, "auth_failed", lab.Faults{Edge: edgesim.Faults{HangAfterBytes: 4, HangCommand: edge.CmdServiceIPsec}}, 2)
	cfg := l.Config()
	cfg.Edges[0].SSH.CommandTimeout = "2m" // the command's own bound is not what ends it
	db := openStore(t)
	e, err := engine.New(cfg, db, engine.Options{RunBudget: budget})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	start := time.Now()
	rep, err := e.Diagnose(t.Context(), diag.Request{Edge: "edge-01", CaptureSeconds: 2, OutDir: t.TempDir(), Requester: "cli"})
	took := time.Since(start)
	if err != nil {
		t.Fatalf("Diagnose: %v", err)
	}
	// Before the Edge's commands kept the run's deadline, this run took the command timeout.
	if limit := window + budget + 30*time.Second; took > limit {
		t.Errorf("the run took %s, more than window + budget + slack (%s)", took, limit)
	}
	if !slices.Contains(rep.CutByDeadline, "Edge show commands") {
		t.Errorf("cut sources %q do not name the Edge's show commands", rep.CutByDeadline)
	}
	for _, c := range l.Edge().Captures() {
		if c.Running || !c.Removed {
			t.Errorf("capture left on the Edge: %+v", c)
		}
	}
	if recs, err := db.Captures(); err != nil || len(recs) != 0 {
		t.Errorf("capture records left: %v %v", recs, err)
	}
}

// Ensure a run against a hanging Manager and a hanging peer ends within its window plus its
// budget: the capture still runs and is removed from the Edge and from the store, and the
// report names the sources the deadline cut.
func TestDiagnose_DeadlineCutsHangingSources(t *testing.T) {
	const window, budget = 3 * time.Second, 12 * time.Second
	l := startLabWindow(t, "auth_failed", lab.Faults{
		Manager: nsxsim.Faults{Latency: time.Hour}, // answers nothing until the client goes away
		Peer:    peersim.Faults{HangAfterBytes: 1},
	}, 3)
	db := openStore(t)
	e, err := engine.New(l.Config(), db, engine.Options{RunBudget: budget})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	start := time.Now()
	rep, err := e.Diagnose(t.Context(), diag.Request{Edge: "edge-01", CaptureSeconds: 3, OutDir: t.TempDir(), Requester: "cli"})
	took := time.Since(start)
	if err != nil {
		t.Fatalf("Diagnose: %v", err)
	}
	// Before the deadline was kept, this run took four and a half minutes.
	if limit := window + budget + 30*time.Second; took > limit {
		t.Errorf("the run took %s, more than window + budget + slack (%s)", took, limit)
	}
	for _, src := range []string{"NSX API (firewall config)", "NSX API (ipsec statistics)", "logs (Edge tech support or show log, peer log)"} {
		if !slices.Contains(rep.CutByDeadline, src) {
			t.Errorf("cut sources %q do not name %q", rep.CutByDeadline, src)
		}
	}
	if !slices.ContainsFunc(rep.Missing, func(m string) bool { return strings.HasPrefix(m, "cut by the run's deadline (window 3s + 12s): ") }) {
		t.Errorf("missing does not say what the deadline cut: %q", rep.Missing)
	}
	if s := step(t, rep, "step3-capture"); len(s.Artifacts) != 1 {
		t.Errorf("capture: %s %q %q, want its pcap kept", s.Status, s.Summary, s.Error)
	}
	for _, c := range l.Edge().Captures() {
		if c.Running || !c.Removed {
			t.Errorf("capture left on the Edge: %+v", c)
		}
	}
	if recs, err := db.Captures(); err != nil || len(recs) != 0 {
		t.Errorf("capture records left: %v %v", recs, err)
	}
	if got, err := db.Incident(rep.Incident); err != nil || got.Status == store.StatusDiagnosing {
		t.Errorf("incident: %+v %v", got, err)
	}
}
