package lab_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"ipsecbot/diag/edge"
	"ipsecbot/lab"
)

// Ensure an HA lab runs two appliances, each with its own host key, both reachable over real
// SSH with the written known_hosts; the written configuration lists them by HA index; and the
// Manager's health summary and status documents both name appliance 1 active.
func TestStart_HA(t *testing.T) {
	l, cfg := startLab(t, lab.Options{Scenario: "healthy", HA: true})
	apps, active := l.Appliances()
	if len(apps) != 2 || active != 1 || apps[0] != l.Edge() {
		t.Fatalf("appliances %d, active %d, appliance 0 is Edge(): %v", len(apps), active, len(apps) > 0 && apps[0] == l.Edge())
	}
	ssh := cfg.Edges[0].SSH
	if want := []string{apps[0].Addr(), apps[1].Addr()}; !slices.Equal(ssh.HAAddresses, want) || ssh.Address != apps[0].Addr() {
		t.Errorf("ssh.address %q, ha_addresses %q; want %q and %q", ssh.Address, ssh.HAAddresses, apps[0].Addr(), want)
	}
	if bytes.Equal(apps[0].HostKey().Marshal(), apps[1].HostKey().Marshal()) {
		t.Error("both appliances have the same host key")
	}

	target := edgeTarget(t, cfg)
	for i, app := range apps {
		target.Address = app.Addr()
		out, err := dialEdge(t, target).Run(t.Context(), edge.CmdServiceIPsec)
		if err != nil || !strings.Contains(out, "vShield Edge IPSec Service Status:") {
			t.Errorf("appliance %d: %v\n%s", i, err, out)
		}
		if !slices.Contains(app.Commands(), edge.CmdServiceIPsec) {
			t.Errorf("appliance %d did not record the command: %q", i, app.Commands())
		}
	}

	c := nsxClient(t, cfg)
	a, err := c.ActiveAppliance(t.Context(), lab.EdgeID)
	if err != nil || a.Index != 1 || a.Source != "healthsummary" || a.Name != lab.EdgeName+"-1" {
		t.Errorf("ActiveAppliance = %+v, %v; want index 1 from the health summary", a, err)
	}
	st, err := c.EdgeStatus(t.Context(), lab.EdgeID)
	if err != nil || st.ActiveVseHaIndex == nil || *st.ActiveVseHaIndex != 1 || len(st.VMs) != 2 {
		t.Errorf("status: %+v, %v", st, err)
	}
}

// Ensure a lab without HA keeps one appliance: no ha_addresses, and the Manager reports
// appliance 0 active.
func TestStart_NoHA(t *testing.T) {
	l, cfg := startLab(t, lab.Options{Scenario: "healthy"})
	if apps, _ := l.Appliances(); apps != nil {
		t.Errorf("appliances without HA: %d", len(apps))
	}
	if got := cfg.Edges[0].SSH.HAAddresses; got != nil {
		t.Errorf("ha_addresses without HA: %q", got)
	}
	a, err := nsxClient(t, cfg).ActiveAppliance(t.Context(), lab.EdgeID)
	if err != nil || a.Index != 0 {
		t.Errorf("ActiveAppliance = %+v, %v", a, err)
	}
}
