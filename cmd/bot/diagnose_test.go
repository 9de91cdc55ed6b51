package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag"
	"ipsecbot/lab"
)

// Ensure `bot diagnose edge-01 --config lab.yaml` works against `bot lab` running as a
// separate process: with --json stdout holds exactly the report, whose cause is the
// scenario's, and the artifacts are in --out.
func TestDiagnose_AgainstSeparateLab(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bot")
	if out, err := exec.CommandContext(t.Context(), gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "lab", "lab.yaml")
	if err := os.Mkdir(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	var labOut, labErr lockedBuffer
	cmd := exec.Command(bin, "lab", "--scenario", "peer_unreachable", "--write-config", path)
	cmd.Stdout, cmd.Stderr = &labOut, &labErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	waitForFile(t, path, exited)

	out := filepath.Join(dir, "out")
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
	l, err := lab.Start(t.Context(), lab.Options{Scenario: "healthy", Dir: t.TempDir(), CaptureSeconds: 1})
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
		{"unknown-edge", []string{"diagnose", "edge-99", "--config", path}, 1, `unknown edge "edge-99"`},
		{"unknown-peer", []string{"diagnose", "edge-01", "--peer", "nope", "--config", path}, 1, `no peer "nope"`},
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
