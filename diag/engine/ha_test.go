package engine_test

import (
	"slices"
	"strings"
	"testing"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/lab"
	"ipsecbot/lab/edgesim"
	"ipsecbot/lab/nsxsim"
)

// startHALab runs a scenario with the Edge as an HA pair: two appliances over real SSH, each
// with its own host key, and a Manager whose health summary reports appliance 1 active.
func startHALab(t *testing.T, faults lab.Faults) (*lab.Lab, []*edgesim.Edge) {
	t.Helper()
	l, err := lab.Start(t.Context(), lab.Options{Scenario: "auth_failed", Dir: t.TempDir(), CaptureSeconds: 2, Faults: faults, HA: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	apps, active := l.Appliances()
	if len(apps) != 2 || active != 1 {
		t.Fatalf("lab HA pair: %d appliances, active %d", len(apps), active)
	}
	return l, apps
}

func diagnoseConfig(t *testing.T, cfg *config.Config, opts engine.Options) *diag.Report {
	t.Helper()
	e, err := engine.New(cfg, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rep, err := e.Diagnose(t.Context(), diag.Request{Edge: "edge-01", CaptureSeconds: 1, OutDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Diagnose: %v", err)
	}
	return rep
}

// ranProcedure reports whether the appliance got the run's show commands and its capture.
func ranProcedure(e *edgesim.Edge) bool {
	return slices.Contains(e.Commands(), "show service ipsec") && len(e.Captures()) > 0
}

// Ensure that with ssh.ha_addresses the run asks the API which appliance is active and runs
// every command and the capture there (appliance 1), never on the standby at ssh.address,
// and step 4's summary says where it connected.
func TestDiagnose_HAConnectsToActiveAppliance(t *testing.T) {
	checkLeaks(t)
	l, apps := startHALab(t, lab.Faults{})
	cfg := l.Config()
	if got := cfg.Edges[0].SSH.HAAddresses; len(got) != 2 || got[1] != apps[1].Addr() {
		t.Fatalf("lab config ha_addresses = %q", got)
	}
	rep := diagnoseConfig(t, cfg, engine.Options{})
	if !ranProcedure(apps[1]) {
		t.Errorf("active appliance 1 got commands %q, captures %+v", apps[1].Commands(), apps[1].Captures())
	}
	if cmds := apps[0].Commands(); len(cmds) != 0 {
		t.Errorf("standby appliance 0 (ssh.address) got commands %q", cmds)
	}
	want := "connected to appliance 1 at " + apps[1].Addr() + " (active per healthsummary)"
	s := step(t, rep, "step4-show")
	t.Logf("step 4: %s", s.Summary)
	if s.Status != diag.StepOK || !strings.HasPrefix(s.Summary, want) {
		t.Errorf("step4: %s %q, want summary starting %q", s.Status, s.Summary, want)
	}
	if rep.Cause != diag.CauseAuthFailed {
		t.Errorf("cause = %s, want auth_failed", rep.Cause)
	}
}

// Ensure that when the active appliance cannot be learnt (the API answers 503, is switched
// off, or names an appliance ha_addresses has no address for) the run falls back to
// ssh.address, runs there, and step 4's summary says so and why.
func TestDiagnose_HAFallsBackToAddress(t *testing.T) {
	tests := []struct {
		name   string
		faults lab.Faults
		opts   engine.Options
		edit   func(*config.SSH)
		why    string
	}{
		{name: "api 503", faults: lab.Faults{Manager: nsxsim.Faults{Status: 503}},
			why: "the NSX API could not say which HA appliance is active: "},
		{name: "health and status 503", faults: lab.Faults{Manager: nsxsim.Faults{Status: 503,
			Endpoints: []string{nsxsim.EndpointHealthSummary, nsxsim.EndpointStatus}}},
			why: "the NSX API could not say which HA appliance is active: "},
		{name: "api off", opts: engine.Options{DisableAPI: true},
			why: "the NSX API is switched off: the active HA appliance is unknown"},
		{name: "index without address", edit: func(s *config.SSH) { s.HAAddresses = s.HAAddresses[:1] },
			why: "the NSX API reports appliance 1 active, and ssh.ha_addresses has no address for it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, apps := startHALab(t, tt.faults)
			cfg := l.Config()
			if tt.edit != nil {
				tt.edit(cfg.Edges[0].SSH)
			}
			rep := diagnoseConfig(t, cfg, tt.opts)
			if !ranProcedure(apps[0]) {
				t.Errorf("appliance 0 (ssh.address) got commands %q, captures %+v", apps[0].Commands(), apps[0].Captures())
			}
			if cmds := apps[1].Commands(); len(cmds) != 0 {
				t.Errorf("appliance 1 got commands %q", cmds)
			}
			want := "connected to ssh.address at " + apps[0].Addr() + " (" + tt.why
			s := step(t, rep, "step4-show")
			t.Logf("step 4: %s", s.Summary)
			if !strings.HasPrefix(s.Summary, want) {
				t.Errorf("step4 summary %q, want it to start %q", s.Summary, want)
			}
		})
	}
}

// Ensure an edge without ha_addresses never asks the API which appliance is active and its
// step 4 summary carries no appliance note.
func TestDiagnose_NoHANoApplianceLookup(t *testing.T) {
	l := startLab(t, "auth_failed", lab.Faults{})
	rep := diagnoseConfig(t, l.Config(), engine.Options{})
	if n := l.Manager().Calls(nsxsim.EndpointHealthSummary) + l.Manager().Calls(nsxsim.EndpointStatus); n != 0 {
		t.Errorf("%d health summary / status calls for an edge without HA", n)
	}
	if s := step(t, rep, "step4-show"); strings.Contains(s.Summary, "connected to") {
		t.Errorf("step4 summary %q", s.Summary)
	}
}
