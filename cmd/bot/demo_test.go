package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, s := range lab.Scenarios() {
		if !strings.Contains(stdout, s.Name+"\n") {
			t.Errorf("no %s in:\n%s", s.Name, stdout)
		}
	}
}

func TestDemo_Usage(t *testing.T) {
	for _, args := range [][]string{{"demo", "--scenario", "nope"}, {"demo", "extra"}, {"demo", "--capture-seconds", "-1"}} {
		if code, _, stderr := runBot(t, args...); code != 2 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// Ensure --list names every scenario --scenario accepts, the IKEv1 variants included, one a line.
func TestDemo_ListHasIKEv1Variants(t *testing.T) {
	code, stdout, _ := runBot(t, "demo", "--list")
	if code != 0 || stdout != strings.Join(append(lab.ScenarioNames(), dataPathScenarios()...), "\n")+"\n" {
		t.Errorf("exit %d, stdout:\n%s", code, stdout)
	}
	if !strings.Contains(stdout, "ikev1-auth_failed\n") {
		t.Errorf("no IKEv1 variants:\n%s", stdout)
	}
}

// Ensure demo refuses a capture window above the edge's time cap, as diagnose does, before
// anything starts.
func TestDemo_CaptureSecondsAboveCapRefused(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	code, _, stderr := runBot(t, "demo", "--capture-seconds", "100000", "--out", out)
	if code != 2 || !strings.Contains(stderr, "max_seconds") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s was created by a refused run", out)
	}
}

// Ensure an empty --out is refused and an unwritable one is found before the run starts.
func TestDemo_OutChecked(t *testing.T) {
	if code, _, stderr := runBot(t, "demo", "--out", ""); code != 2 || !strings.Contains(stderr, "--out") {
		t.Errorf("empty --out: exit %d, stderr %q", code, stderr)
	}
	// Below a regular file: no directory can be made there, not even by root.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runBot(t, "demo", "--out", filepath.Join(file, "out"), "--capture-seconds", "1")
	if code != 1 || strings.Contains(stderr, "Step ") {
		t.Errorf("unwritable --out: exit %d (the run should not start), stderr:\n%s", code, stderr)
	}
}

// Ensure a reused --out holds only the new report's files: the earlier report's artifacts are
// cleared; a non-empty directory that holds no report is refused and left as it is.
func TestDemo_ReusedOut(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	if code, _, stderr := runBot(t, "demo", "--scenario", "mtu_fragmentation", "--out", out, "--capture-seconds", "1"); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "capture.pcap")); err != nil {
		t.Fatal(err)
	}
	// The earlier report also lists a file the next run does not write; a file it does not
	// list (someone's note) is not the report's to clear.
	addListedArtifact(t, out, "show/earlier-only.txt")
	if err := os.WriteFile(filepath.Join(out, "stale-note.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runBot(t, "demo", "--out", out, "--capture-seconds", "1"); code != 0 {
		t.Fatalf("second run: exit %d\n%s", code, stderr)
	}
	var rep struct {
		Artifacts []struct{ Name string } `json:"artifacts"`
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("report.json: %v", err)
	}
	listed := map[string]bool{"report.json": true, "report.md": true}
	for _, a := range rep.Artifacts {
		listed[a.Name] = true
	}
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		if rel == "stale-note.txt" {
			return nil // not the earlier report's: kept
		}
		if !listed[filepath.ToSlash(rel)] {
			t.Errorf("%s is in --out but not in the new report", rel)
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(out, "show", "earlier-only.txt")); err == nil {
		t.Errorf("the earlier report's show/earlier-only.txt survived")
	}
	if _, err := os.Stat(filepath.Join(out, "stale-note.txt")); err != nil {
		t.Errorf("a file the earlier report did not list was removed: %v", err)
	}

	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runBot(t, "demo", "--out", other, "--capture-seconds", "1"); code != 2 || !strings.Contains(stderr, "not empty") {
		t.Errorf("non-empty non-report --out: exit %d, stderr %q", code, stderr)
	}
}

// cancelOnWrite cancels once what was written contains trigger, after delay.
type cancelOnWrite struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	trigger string
	delay   time.Duration
	once    sync.Once
	cancel  context.CancelFunc
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.trigger) {
		w.once.Do(func() { time.AfterFunc(w.delay, w.cancel) })
	}
	return len(p), nil
}

func (w *cancelOnWrite) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// Ensure a demo interrupted during its capture window (SIGINT cancels the command's context)
// still classifies what it collected, prints that verdict saying it was interrupted and
// writes the report, and exits 1 with one line.
func TestDemo_InterruptedPrintsVerdict(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stderr := &cancelOnWrite{trigger: "Step 2:", delay: 1500 * time.Millisecond, cancel: cancel} // inside the capture window
	var stdout bytes.Buffer
	out := filepath.Join(t.TempDir(), "out")
	code := run(ctx, &env{stdout: &stdout, stderr: stderr, getenv: func(string) string { return "" }},
		[]string{"demo", "--out", out, "--capture-seconds", "30"})
	if code != 1 || !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if strings.Contains(stderr.String(), "classify: context canceled") {
		t.Errorf("step 6 did not classify:\n%s", stderr)
	}
	for _, want := range []string{"Cause:", "This diagnosis was interrupted"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil || !strings.Contains(string(b), `"interrupted"`) {
		t.Errorf("report.json: %v\n%s", err, b)
	}
	// The lab outlives the interrupt, so what the window collected is kept.
	for _, name := range []string{"capture.pcap", "logs/peer.log"} {
		if fi, err := os.Stat(filepath.Join(out, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s not kept after the interrupt: %v\nstderr:\n%s", name, err, stderr)
		}
	}
}

// addListedArtifact writes name into the report directory dir and lists it in its report.json.
func addListedArtifact(t *testing.T, dir, name string) {
	t.Helper()
	path := filepath.Join(dir, "report.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	rep["artifacts"] = append(rep["artifacts"].([]any), map[string]any{"name": name, "kind": "show"})
	if b, err = json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte("earlier"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Ensure --help says what happens to a reused --out, for demo and diagnose alike.
func TestOutHelp_SaysWhatAReusedDirectoryGets(t *testing.T) {
	for _, cmd := range []string{"demo", "diagnose"} {
		code, out, _ := runBot(t, "help", cmd)
		if code != 0 || !strings.Contains(out, "an earlier report's files in it are replaced") || !strings.Contains(out, "refused") {
			t.Errorf("%s --help (exit %d) does not say what a reused --out gets:\n%s", cmd, code, out)
		}
	}
}
