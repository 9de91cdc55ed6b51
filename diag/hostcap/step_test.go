package hostcap_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

// records is a Recorder kept in memory: file -> pid.
type records struct {
	mu   sync.Mutex
	m    map[string]int
	fail bool
}

func (r *records) Record(host, file string, pid int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("store closed")
	}
	r.m[host+" "+file] = pid
	return nil
}

func (r *records) Forget(host, file string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, host+" "+file)
	return nil
}

// Ensure a capture is on record from before its start (with its pid once it runs) until its
// file is removed, that a capture whose record cannot be written never starts, and that
// Cleanup removes what a dead run left from its record alone, and nothing else.
func TestRecordedCaptures(t *testing.T) {
	esxi, x := start(t, hostsim.ESXi, scene.Scene{})
	rec := &records{m: map[string]int{}}
	h := &hostcap.Host{Name: "esxi-01", X: x, Records: rec}
	// The run that starts it dies: its handle is lost, and the next start cleans up from the
	// record alone.
	if _, err := h.StartPktcap(t.Context(), hostsim.VM1Port); err != nil {
		t.Fatal(err)
	}
	var file string
	var pid int
	for k, v := range rec.m {
		file, pid = strings.TrimPrefix(k, "esxi-01 "), v
	}
	if len(rec.m) != 1 || pid <= 1 || len(esxi.Files()) != 1 || esxi.Files()[0] != file {
		t.Fatalf("records %v, files on the host %v", rec.m, esxi.Files())
	}
	if err := (&hostcap.Host{Name: "esxi-01", X: x}).Cleanup(t.Context(), "/etc/passwd", 0); err == nil {
		t.Error("Cleanup accepted a file that is not a capture of ours")
	}
	if err := (&hostcap.Host{Name: "esxi-01", X: x, Records: rec}).Cleanup(t.Context(), file, pid); err != nil {
		t.Fatal(err)
	}
	assertClean(t, esxi)
	if len(rec.m) != 0 {
		t.Errorf("still recorded: %v", rec.m)
	}
	rec.fail = true
	before := len(esxi.Commands())
	if _, err := h.StartPktcap(t.Context(), hostsim.VM1Port); err == nil || !strings.Contains(err.Error(), "record the capture before starting it") {
		t.Errorf("unrecorded start: %v", err)
	}
	if after := esxi.Commands(); len(after) != before {
		t.Errorf("commands ran for a capture that could not be recorded: %q", after[before:])
	}
}
