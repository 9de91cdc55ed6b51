package engine_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/diag/peer"
	"ipsecbot/lab"
	"ipsecbot/store"
)

// Ensure a Manager password that cannot be read (a typo in password_file) and an Edge whose
// SSH is down end in a report that says both, not in a nil *nsx.Client being used for the
// central CLI and closed (which panicked and took the whole process down).
func TestDiagnose_UnreadableManagerPassword(t *testing.T) {
	checkLeaks(t)
	l := startLab(t, "auth_failed", lab.Faults{})
	cfg := l.Config()
	cfg.Managers[0].PasswordEnv, cfg.Managers[0].PasswordFile = "", "nsx-pasword" // typo: no such file
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there: the Edge's SSH is refused
	cfg.Edges[0].SSH.Address, cfg.Edges[0].SSH.HAAddresses = closed, nil
	db := openStore(t)
	e, err := engine.New(cfg, db, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rep, err := e.Diagnose(t.Context(), diag.Request{Edge: "edge-01", CaptureSeconds: 1, OutDir: t.TempDir(), Requester: "cli"})
	if err != nil {
		t.Fatalf("Diagnose: %v", err)
	}
	missing := strings.Join(rep.Missing, "\n")
	if !strings.Contains(missing, "managers[nsxmgr-lab].password") || !strings.Contains(missing, "edge SSH") {
		t.Errorf("missing does not name the unreadable password and the SSH failure:\n%s", missing)
	}
	if _, err := e.TunnelStatus(t.Context(), "edge-01"); err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("TunnelStatus = %v, want the password error", err)
	}
}

// panickyConnector panics where the run opens its Manager client, outside any step.
type panickyConnector struct{}

func (panickyConnector) Manager(*config.Config, *config.Manager) (engine.Manager, error) {
	panic("connector bug")
}
func (panickyConnector) Edge(context.Context, *config.Config, *config.Edge) (engine.EdgeCLI, error) {
	return nil, errors.New("no edge")
}
func (panickyConnector) Peer(*config.Config, *config.Peer, netip.Addr) (peer.Driver, error) {
	return nil, errors.New("no peer")
}

// Ensure a panic in a diagnosis outside its steps ends that diagnosis with an error and its
// incident no longer diagnosing, and the engine goes on running the next one.
func TestDiagnose_PanicContained(t *testing.T) {
	l := startLab(t, "auth_failed", lab.Faults{})
	db := openStore(t)
	e, err := engine.New(l.Config(), db, engine.Options{Connect: panickyConnector{}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for range 2 {
		rep, err := e.Diagnose(t.Context(), diag.Request{Edge: "edge-01", CaptureSeconds: 1, OutDir: t.TempDir(), Requester: "cli"})
		if err == nil || rep != nil || !strings.Contains(err.Error(), "internal error in the diagnosis of edge-01: connector bug") {
			t.Fatalf("Diagnose = %v, %v", rep, err)
		}
	}
	incs, err := db.Incidents(store.IncidentFilter{})
	if err != nil || len(incs) != 2 {
		t.Fatalf("incidents: %+v, %v", incs, err)
	}
	for _, inc := range incs {
		if inc.Status == store.StatusDiagnosing || !strings.Contains(inc.Summary, "connector bug") {
			t.Errorf("%s left %s: %q", inc.ID, inc.Status, inc.Summary)
		}
	}
	if e.Running("edge-01") {
		t.Error("the panicked run is still registered")
	}
}
