package engine_test

import (
	"path/filepath"
	"strings"
	"testing"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/incident"
	"ipsecbot/store"
)

// Ensure Execute runs only a run of the request's edge claimed from the engine's own incident
// lifecycle: one registry of runs per edge, never two.
func TestExecute_RefusesForeignClaims(t *testing.T) {
	cfg := &config.Config{Edges: []config.Edge{{Name: "edge-01"}, {Name: "edge-02"}}}
	ours := incident.New(nil, incident.Options{})
	e, err := engine.New(cfg, nil, engine.Options{Incidents: ours, ArtifactsDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	foreign, _ := incident.New(nil, incident.Options{}).Claim("edge-01")
	if _, err := e.Execute(t.Context(), foreign, diag.Request{Edge: "edge-01"}); err == nil || !strings.Contains(err.Error(), "another incident lifecycle") {
		t.Errorf("a run claimed elsewhere: %v", err)
	}
	other, _ := ours.Claim("edge-02")
	if _, err := e.Execute(t.Context(), other, diag.Request{Edge: "edge-01"}); err == nil || !strings.Contains(err.Error(), "under the run of edge-02") {
		t.Errorf("a run of another edge: %v", err)
	}
	other.Finish(nil, nil)
	if e.Running("edge-02") {
		t.Error("edge-02 still running after its run finished")
	}
}

// Ensure a diagnosis the watcher asks for opens an automatic incident, one a person asks for a
// manual one.
func TestDiagnose_IncidentOrigin(t *testing.T) {
	cfg := &config.Config{Edges: []config.Edge{{Name: "edge-01", Peers: []config.Peer{{Name: "branch-fw", Address: "192.0.2.2"}}}}}
	db, err := store.Open(filepath.Join(t.TempDir(), "bot.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e, err := engine.New(cfg, db, engine.Options{DisableAPI: true, ArtifactsDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, tc := range []struct {
		req  diag.Request
		want store.Origin
	}{
		{diag.Request{Edge: "edge-01", CaptureSeconds: 1, Requester: "watch", Automatic: true}, store.OriginAutomatic},
		{diag.Request{Edge: "edge-01", CaptureSeconds: 1, Requester: "cli"}, store.OriginManual},
	} {
		rep, _ := e.Diagnose(t.Context(), tc.req)
		if rep == nil {
			t.Fatalf("%+v: no report", tc.req)
		}
		inc, err := db.Incident(rep.Incident)
		if err != nil {
			t.Fatal(err)
		}
		if inc.Origin != tc.want {
			t.Errorf("%+v: incident %s origin %q, want %q", tc.req, inc.ID, inc.Origin, tc.want)
		}
	}
}
