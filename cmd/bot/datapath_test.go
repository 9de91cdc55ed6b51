package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ipsecbot/diag/datapath/scene"
)

// Ensure every data-path scenario is listed and, run over SSH against the lab's hosts, prints
// its fault as the cause with the four-point table and the frames that prove it, and that a
// second run into the same directory replaces the first.
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
			for range 2 {
				code, stdout, stderr := runBot(t, "demo", "--scenario", name, "--out", dir)
				if code != 0 || !strings.HasPrefix(stdout, "Cause: "+want+"\n") || !strings.Contains(stdout, "1 VM port") {
					t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
				}
				if want != "healthy" && !strings.Contains(stdout, "stopped at") || !strings.Contains(stdout, ".pcap#") {
					t.Fatalf("no stop point or frame refs:\n%s", stdout)
				}
			}
			data, err := os.ReadFile(filepath.Join(dir, "report.json"))
			if err != nil {
				t.Fatal(err)
			}
			var rep dataPathReport
			if err := json.Unmarshal(data, &rep); err != nil || string(rep.Cause) != want || len(rep.Artifacts) != 4 {
				t.Fatalf("report.json: %v\n%s", err, data)
			}
		})
	}
}
