package hostcap_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ipsecbot/diag/datapath"
	"ipsecbot/diag/datapath/scene"
	"ipsecbot/diag/hostcap"
	"ipsecbot/lab/hostsim"
)

// plan is a run of the step against the lab's hosts for scene sc, the pings' ids to be learnt.
func plan(t *testing.T, sc scene.Scene) (*hostcap.Plan, *hostsim.Host, *hostsim.Host, *hostsim.EdgePoints) {
	esxi, xe := start(t, hostsim.ESXi, sc)
	far, xf := start(t, hostsim.Linux, sc)
	edge := &hostsim.EdgePoints{Scene: sc}
	in := sc.Input()
	in.ForwardID, in.ReturnID = 0, 0
	farHost := &hostcap.Host{Name: "host2", X: xf}
	return &hostcap.Plan{ESXi: &hostcap.Host{Name: "esxi-01", X: xe}, VM: hostsim.VM1Name, Edge: edge, Far: farHost, PingFrom: farHost,
		Input: in, Dir: t.TempDir()}, esxi, far, edge
}

// TestPlan: the whole step over SSH names the scene's fault, writes the four captures and leaves
// nothing running or stored on any host.
func TestPlan(t *testing.T) {
	sc, _ := scene.Lookup("datapath-lost_on_wan-return")
	p, esxi, far, edge := plan(t, sc)
	out, err := p.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.Verdict != datapath.LostOnWAN || out.Result.Leg != datapath.Reply || out.Port.Num != hostsim.VM1Port {
		t.Fatalf("port %d\n%s", out.Port.Num, datapath.Table(out.Result))
	}
	if len(out.Files) != 4 || !strings.Contains(out.Ping, "0 received") {
		t.Fatalf("files %v, ping %q", out.Files, out.Ping)
	}
	for _, f := range out.Files {
		if fi, err := os.Stat(filepath.Join(p.Dir, f)); err != nil || fi.Size() < 24 {
			t.Fatalf("%s: %v", f, err)
		}
	}
	assertClean(t, esxi)
	assertClean(t, far)
	if edge.Started != 1 || edge.Stopped != 1 {
		t.Fatalf("Edge captures started %d, stopped %d", edge.Started, edge.Stopped)
	}
}

// TestPlanStartFails: when the far side's capture cannot start, the ESXi capture and the Edge's
// already running are stopped and removed.
func TestPlanStartFails(t *testing.T) {
	p, esxi, far, edge := plan(t, scene.Scene{})
	p.Far.Templates.Tcpdump = "tcpdump -w {file}" // no pid printed
	if _, err := p.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "process id") {
		t.Fatalf("got %v", err)
	}
	assertClean(t, esxi)
	assertClean(t, far)
	if edge.Started != 1 || edge.Stopped != 1 {
		t.Fatalf("Edge captures started %d, stopped %d", edge.Started, edge.Stopped)
	}
}

// TestPlanPointLost: a capture that cannot be fetched leaves its point out with a note; the
// others still give the verdict.
func TestPlanPointLost(t *testing.T) {
	sc, _ := scene.Lookup("datapath-edge_not_encrypting")
	p, esxi, _, _ := plan(t, sc)
	p.ESXi.Templates.Fetch = "cat {file}.gone"
	out, err := p.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.Verdict != datapath.EdgeNotEncrypting || out.Result.Pings[0].Requests[0] != -1 || !strings.Contains(strings.Join(out.Result.Notes, "\n"), "point 1 not captured") {
		t.Fatalf("notes %q\n%s", out.Result.Notes, datapath.Table(out.Result))
	}
	assertClean(t, esxi)
}
