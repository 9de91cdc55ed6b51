package engine_test

import (
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/datapath"
	"ipsecbot/diag/engine"
	"ipsecbot/lab"
	"ipsecbot/store"
)

// startDataPathLab is a healthy lab with the data-path hosts of a scene.
func startDataPathLab(t *testing.T, sceneName string, captureSeconds int) *lab.Lab {
	t.Helper()
	l, err := lab.Start(t.Context(), lab.Options{Scenario: "healthy", Dir: t.TempDir(), CaptureSeconds: captureSeconds,
		DataPath: sceneName})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// Ensure step 8 runs on request after steps 1-7 over real SSH to the ESXi host, the Edge and
// the far side: the Edge captures ICMP on its internal vNic and ESP on its uplink, the four
// points are correlated, and where steps 1-7 found nothing the stop point is the report's
// cause, with frame evidence, the four captures and the ladder as artifacts. Nothing is left
// on any host, and nothing stays recorded.
func TestDiagnose_DataPathStopPoint(t *testing.T) {
	l := startDataPathLab(t, "datapath-lost_on_wan", 2)
	db := openStore(t)
	e, err := engine.New(l.Config(), db, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	out := t.TempDir()
	rep, err := e.Diagnose(t.Context(), diag.Request{Edge: "edge-01", CaptureSeconds: 1, OutDir: out, Requester: "cli", DataPath: true})
	if err != nil {
		t.Fatal(err)
	}
	last := rep.Steps[len(rep.Steps)-1]
	if last.Name != "step8-datapath" || last.Status != diag.StepOK {
		t.Fatalf("last step %s %s: %s %s", last.Name, last.Status, last.Summary, last.Error)
	}
	dp := rep.DataPath
	if dp == nil || dp.Verdict != datapath.LostOnWAN || dp.Stop != 3 || dp.Direction != "forward" {
		t.Fatalf("data path: %+v", dp)
	}
	if rep.Cause != datapath.LostOnWAN || !strings.HasPrefix(rep.Summary, "Step 8: ") || len(rep.Remediation) == 0 {
		t.Errorf("report cause %s: %s %v", rep.Cause, rep.Summary, rep.Remediation)
	}
	if !slices.ContainsFunc(rep.Evidence, func(e diag.Evidence) bool { return strings.HasPrefix(e.Ref, "point-3.pcap#") }) {
		t.Errorf("no point-3.pcap#N evidence: %+v", rep.Evidence)
	}
	var names []string
	for _, a := range rep.Artifacts {
		names = append(names, a.Name)
	}
	for _, want := range []string{"point-1.pcap", "point-2.pcap", "point-3.pcap", "point-4.pcap", engine.LadderFile, "capture.pcap"} {
		if !slices.Contains(names, want) {
			t.Errorf("artifact %s missing from %v", want, names)
		}
	}
	f, err := os.Open(filepath.Join(out, engine.LadderFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(f); err != nil {
		t.Errorf("ladder: %v", err)
	}
	f.Close()
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil || !strings.Contains(string(md), "## Data path (step 8)") || !strings.Contains(string(md), "2 Edge internal") {
		t.Errorf("report.md lacks the data-path table (%v):\n%s", err, md)
	}
	js, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil || !strings.Contains(string(js), `"data_path"`) || !strings.Contains(string(js), `"stop_point": 3`) {
		t.Errorf("report.json lacks the data path (%v)", err)
	}
	// The Edge's step-8 captures had their own filters, and all are gone.
	var exprs []string
	for _, c := range l.Edge().Captures() {
		exprs = append(exprs, c.Interface+" "+c.Expr)
		if c.Running || !c.Removed {
			t.Errorf("edge capture left: %+v", c)
		}
	}
	for _, want := range []string{lab.InternalNIC + " icmp_and_host_10.1.1.10_and_host_10.2.2.20", lab.UplinkNIC + " host_203.0.113.2_and_(esp_or_udp_port_4500)"} {
		if !slices.Contains(exprs, want) {
			t.Errorf("no capture %q among %q", want, exprs)
		}
	}
	esxi, far := l.DataPathHosts()
	for _, h := range []interface {
		Files() []string
		Running() []int
	}{esxi, far} {
		if len(h.Files()) > 0 || len(h.Running()) > 0 {
			t.Errorf("left on a host: files %v, processes %v", h.Files(), h.Running())
		}
	}
	if recs, _ := db.Captures(); len(recs) != 0 {
		t.Errorf("still recorded: %+v", recs)
	}
	tl, _ := db.Timeline(rep.Incident)
	text := timelineText(tl)
	for _, want := range []string{"capture started on esxi-01", "capture started on host2", "stopped and removed from esxi-01",
		"stopped and removed from host2", "capture started on edge-01 " + lab.InternalNIC + " (filter: icmp and host 10.1.1.10 and host 10.2.2.20)"} {
		if !strings.Contains(text, want) {
			t.Errorf("timeline lacks %q:\n%s", want, text)
		}
	}
}

// Ensure step 8 is not in the plan unless asked for, and then touches no data-path host.
func TestDiagnose_DataPathOnlyOnRequest(t *testing.T) {
	l := startDataPathLab(t, "datapath-healthy", 2)
	rep, _ := diagnose(t, l, nil, engine.Options{})
	for _, s := range rep.Steps {
		if s.Name == "step8-datapath" {
			t.Errorf("step 8 ran unasked: %+v", s)
		}
	}
	if rep.DataPath != nil {
		t.Errorf("data path without a request: %+v", rep.DataPath)
	}
	esxi, far := l.DataPathHosts()
	if len(esxi.Commands()) > 0 || len(far.Commands()) > 0 {
		t.Errorf("commands on the hosts: %q %q", esxi.Commands(), far.Commands())
	}
}

// Ensure a peer without a datapath block skips step 8 with the reason, dialling nothing.
func TestDiagnose_DataPathSkippedWithoutInventory(t *testing.T) {
	l := startLab(t, "healthy", lab.Faults{})
	e, err := engine.New(l.Config(), nil, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rep, err := e.Diagnose(t.Context(), diag.Request{Edge: "edge-01", CaptureSeconds: 1, OutDir: t.TempDir(), DataPath: true})
	if err != nil {
		t.Fatal(err)
	}
	last := rep.Steps[len(rep.Steps)-1]
	if last.Name != "step8-datapath" || last.Status != diag.StepSkipped || !strings.Contains(last.Summary, "no datapath block") {
		t.Errorf("step 8: %+v", last)
	}
	if rep.Cause != diag.CauseHealthy {
		t.Errorf("cause %s", rep.Cause)
	}
}

// The child process of TestCleanupCaptures_DataPathAfterKill: a diagnosis with step 8 whose
// far side's ping hangs, so its four captures run until the process is killed.
func TestHelperDataPathThenHang(t *testing.T) {
	e, db := helperEngine(t, "ENGINE_DATAPATH_CONFIG", "ENGINE_DATAPATH_DB")
	go func() {
		for {
			// Both host captures running (their pids recorded) and both Edge captures recorded.
			caps, _ := db.Captures()
			n := 0
			for _, c := range caps {
				if c.Host != "" && c.PID > 0 || c.Interface != "" {
					n++
				}
			}
			if n == 4 {
				os.Stdout.WriteString("CAPTURING\n")
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	e.Diagnose(t.Context(), diag.Request{Edge: "edge-01", CaptureSeconds: 1, OutDir: t.TempDir(), DataPath: true})
}

// Ensure a step-8 run killed mid-capture leaves nothing after the next start: CleanupCaptures
// stops and removes the captures on the ESXi host, the Edge (both vNics) and the far side,
// from the store's records alone.
func TestCleanupCaptures_DataPathAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	l := startDataPathLab(t, "datapath-healthy", 300)
	esxi, far := l.DataPathHosts()
	far.HangPing(true)
	cfgPath := filepath.Join(l.Dir(), "lab.yaml")
	if err := l.WriteConfig(cfgPath); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	killChildWhen(t, l, "TestHelperDataPathThenHang", "CAPTURING", "ENGINE_DATAPATH_CONFIG="+cfgPath, "ENGINE_DATAPATH_DB="+dbPath)
	running := 0
	for _, c := range l.Edge().Captures() {
		if c.Running {
			running++
		}
	}
	if running != 2 || len(esxi.Files()) != 1 || len(far.Files()) != 1 {
		t.Fatalf("after the kill: %d edge captures running, esxi files %v, far files %v", running, esxi.Files(), far.Files())
	}

	// The next start.
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := nextStart(t, cfgPath, db).CleanupCaptures(t.Context())
	if err != nil || n != 4 {
		t.Fatalf("CleanupCaptures = %d, %v", n, err)
	}
	for _, c := range l.Edge().Captures() {
		if c.Running {
			t.Errorf("still running on the edge: %+v", c)
		}
	}
	if files := l.Edge().Files(); len(files) > 0 {
		t.Errorf("files left on the edge: %v", files)
	}
	for _, h := range []struct {
		name  string
		files []string
		procs []int
	}{{"esxi", esxi.Files(), esxi.Running()}, {"far side", far.Files(), far.Running()}} {
		if len(h.files) > 0 || len(h.procs) > 0 {
			t.Errorf("%s: files %v, processes %v left", h.name, h.files, h.procs)
		}
	}
	if recs, _ := db.Captures(); len(recs) != 0 {
		t.Errorf("still recorded: %+v", recs)
	}
}
