package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ipsecbot/lab"
)

// Ensure `bot demo` runs the procedure against the in-process lab, shows a real failure by
// default, prints the verdict with evidence and writes report.json, report.md and capture.pcap.
func TestDemo_Default(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runBot(t, "demo", "--out", out, "--capture-seconds", "1")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"Cause: auth_failed", "Evidence:", "What to do:", "Artifacts in"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "Step 3: IKE/ESP capture on the Edge ... ok") {
		t.Errorf("progress:\n%s", stderr)
	}
	for _, f := range []string{"report.json", "report.md", "capture.pcap"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestDemo_Scenario(t *testing.T) {
	code, stdout, stderr := runBot(t, "demo", "--scenario", "mtu_fragmentation", "--out", t.TempDir(), "--capture-seconds", "1")
	if code != 0 || !strings.Contains(stdout, "Cause: mtu_fragmentation") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}

func TestDemo_List(t *testing.T) {
	code, stdout, _ := runBot(t, "demo", "--list")
	var want []string
	for _, s := range lab.Scenarios() {
		want = append(want, s.Name)
	}
	if code != 0 || stdout != strings.Join(want, "\n")+"\n" {
		t.Errorf("exit %d, stdout:\n%s", code, stdout)
	}
	if !strings.Contains(stdout, "flapping\n") || !strings.Contains(stdout, "healthy\n") {
		t.Errorf("missing scenarios:\n%s", stdout)
	}
}

func TestDemo_Usage(t *testing.T) {
	for _, args := range [][]string{{"demo", "--scenario", "nope"}, {"demo", "extra"}, {"demo", "--capture-seconds", "-1"}} {
		if code, _, stderr := runBot(t, args...); code != 2 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}
