package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ipsecbot/diag"
	"ipsecbot/lab"
)

// Ensure `bot diagnose edge-01 --config lab.yaml` works against `bot lab` running as a
// separate process: with --json stdout holds exactly the report, whose cause is the
// scenario's, and the artifacts are in --out.
func TestDiagnose_AgainstSeparateLab(t *testing.T) {
	lp := startLabProcess(t, "peer_unreachable")
	path := lp.config
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runBot(t, "diagnose", "edge-01", "--config", path, "--json", "--capture-seconds", "1", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
	}
	var rep diag.Report
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not a report: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Error("stdout holds more than one JSON document")
	}
	if rep.Cause != diag.CausePeerUnreachable || rep.Edge != "edge-01" || len(rep.Steps) == 0 {
		t.Errorf("report: cause %s, edge %s, %d steps", rep.Cause, rep.Edge, len(rep.Steps))
	}
	for _, f := range []string{"report.json", "report.md", "capture.pcap", "logs/peer.log"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// Progress went to stderr, one line per step.
	if n := strings.Count(stderr, "] "); n < len(rep.Steps) {
		t.Errorf("%d progress lines for %d steps:\n%s", n, len(rep.Steps), stderr)
	}
}

// Ensure the run records its incident in the configured store.
func TestDiagnose_RecordsIncident(t *testing.T) {
	l, err := lab.Start(t.Context(), lab.Options{Scenario: "healthy", Dir: t.TempDir(), CaptureSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	path := filepath.Join(l.Dir(), "lab.yaml")
	if err := l.WriteConfig(path); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runBot(t, "diagnose", "edge-01", "--config", path, "--capture-seconds", "1", "--out", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "Cause: healthy") || !strings.Contains(stdout, "report.json") {
		t.Errorf("stdout:\n%s", stdout)
	}
	code, stdout, stderr = runBot(t, "incidents", "list", "--config", path)
	if code != 0 || !strings.Contains(stdout, "INC-1") || !strings.Contains(stdout, "healthy") {
		t.Errorf("incidents list: exit %d\n%s%s", code, stdout, stderr)
	}
}

// Ensure usage mistakes exit 2 and a run that cannot happen exits 1, each with one line.
func TestDiagnose_Errors(t *testing.T) {
	l, err := lab.Start(t.Context(), lab.Options{Scenario: "healthy", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	path := filepath.Join(l.Dir(), "lab.yaml")
	if err := l.WriteConfig(path); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no-edge", []string{"diagnose", "--config", path}, 2, "exactly one EDGE"},
		{"no-config", []string{"diagnose", "edge-01"}, 2, "--config"},
		{"bad-seconds", []string{"diagnose", "edge-01", "--config", path, "--capture-seconds", "0"}, 2, "positive"},
		{"above-cap", []string{"diagnose", "edge-01", "--config", path, "--capture-seconds", "100000"}, 2, "capture.max_seconds (300)"},
		{"out-not-empty", []string{"diagnose", "edge-01", "--config", path, "--out", l.Dir()}, 2, "not empty"},
		{"unknown-edge", []string{"diagnose", "edge-99", "--config", path}, 2, `unknown edge "edge-99"`},
		{"unknown-peer", []string{"diagnose", "edge-01", "--peer", "nope", "--config", path}, 2, `no peer "nope"`},
		{"missing-config", []string{"diagnose", "edge-01", "--config", filepath.Join(t.TempDir(), "none.yaml")}, 1, "none.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runBot(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and one line with %q", code, stdout, stderr, tt.code, tt.want)
			}
		})
	}
}
