package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ipsecbot/diag"
	"ipsecbot/diag/datapath/scene"
	"ipsecbot/lab"
)

// Ensure every data-path scenario is listed and, run through the whole procedure with step 8
// against the lab (real SSH to the ESXi host, the Edge and the far side), prints its fault as
// the cause with the four-point table and the frames that prove it, and writes the four
// captures and the ladder beside report.json.
func TestDemo_DataPath(t *testing.T) {
	_, list, _ := runBot(t, "demo", "--list")
	for _, s := range scene.Scenes() {
		name := s.Name()
		if !strings.Contains(list, name+"\n") {
			t.Errorf("--list lacks %s", name)
		}
		want := strings.TrimSuffix(strings.TrimPrefix(name, "datapath-"), "-return")
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			code, stdout, stderr := runBot(t, "demo", "--scenario", name, "--out", dir, "--capture-seconds", "1")
			if code != 0 || !strings.Contains(stdout, "Cause: "+want+" (") || !strings.Contains(stdout, "1 VM port") {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			if want != "healthy" && !strings.Contains(stdout, "stopped at") || !strings.Contains(stdout, ".pcap#") {
				t.Fatalf("no stop point or frame refs:\n%s", stdout)
			}
			data, err := os.ReadFile(filepath.Join(dir, "report.json"))
			if err != nil {
				t.Fatal(err)
			}
			var rep diag.Report
			if err := json.Unmarshal(data, &rep); err != nil || rep.DataPath == nil || string(rep.DataPath.Verdict) != want {
				t.Fatalf("report.json: %v\n%s", err, data)
			}
			for _, f := range []string{"point-1.pcap", "point-2.pcap", "point-3.pcap", "point-4.pcap", "datapath-ladder.png"} {
				if !slices.ContainsFunc(rep.Artifacts, func(a diag.Artifact) bool { return a.Name == f }) {
					t.Errorf("artifact %s missing", f)
				}
			}
		})
	}
}

// Ensure `bot diagnose EDGE --data-path` runs step 8 on the configuration's hosts, and
// without the flag leaves them alone.
func TestDiagnose_DataPathFlag(t *testing.T) {
	l, err := lab.Start(t.Context(), lab.Options{Scenario: lab.DataPathScenario, Dir: t.TempDir(), DataPath: "datapath-peer_not_decrypting"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg := filepath.Join(l.Dir(), "lab.yaml")
	if err := l.WriteConfig(cfg); err != nil {
		t.Fatal(err)
	}
	esxi, far := l.DataPathHosts()
	code, stdout, stderr := runBot(t, "diagnose", "edge-01", "--config", cfg, "--capture-seconds", "1", "--out", t.TempDir())
	if code != 0 || strings.Contains(stdout, "Data path") || len(esxi.Commands())+len(far.Commands()) > 0 {
		t.Fatalf("without --data-path: exit %d, host commands %q %q\n%s\n%s", code, esxi.Commands(), far.Commands(), stdout, stderr)
	}
	code, stdout, stderr = runBot(t, "diagnose", "edge-01", "--config", cfg, "--capture-seconds", "1", "--out", t.TempDir(), "--data-path")
	if code != 0 || !strings.Contains(stdout, "Cause: peer_not_decrypting (") || !strings.Contains(stdout, "Data path (step 8)") {
		t.Fatalf("--data-path: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
