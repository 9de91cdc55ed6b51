package handlers

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"ipsecbot/diag/engine"
	"ipsecbot/lab"
	"ipsecbot/store"
)

// Ensure the whole flow against the real engine and the lab over SSH and HTTPS:
// `/ipsec diagnose edge-01` → progress in the channel → a verdict naming auth_failed →
// the lab's capture uploaded into the verdict's thread.
func TestFlow_DiagnoseEdge01AgainstLab(t *testing.T) {
	checkLeaks(t)
	_, b := startLabBot(t, 2)
	ack := b.command("U123", "C1", "diagnose edge-01")
	if !strings.Contains(ack.Text, "Diagnosing edge-01 as INC-1") {
		t.Fatalf("ack = %q", ack.Text)
	}
	inc := waitIncident(t, b, "INC-1", isFinal)
	b.waitIdle()
	b.stop()

	if inc.Cause != "auth_failed" {
		t.Errorf("incident cause %q, want auth_failed", inc.Cause)
	}
	root := rootMessage(t, b.slack, "C1")
	if !strings.Contains(root.Blocks, "auth_failed") || !strings.Contains(root.Blocks, `"resolve"`) {
		t.Errorf("verdict message: %s", root.Blocks)
	}
	var pcap *bytes.Buffer
	names := map[string]bool{}
	for _, u := range b.slack.Uploads() {
		names[u.Filename] = true
		if !u.Completed || u.ThreadTS != root.TS || u.Channel != "C1" {
			t.Errorf("upload %s: completed %v into %s/%s; want the verdict's thread %s", u.Filename, u.Completed, u.Channel, u.ThreadTS, root.TS)
		}
		if u.Filename == "capture.pcap" {
			pcap = bytes.NewBuffer(u.Data)
		}
	}
	if !names["report.md"] || !names["INC-1-outputs.zip"] {
		t.Errorf("uploads: %v; want report.md and the outputs zip beside the capture", names)
	}
	if pcap == nil || pcap.Len() < 24 {
		t.Fatalf("no capture.pcap uploaded: %+v", b.slack.Uploads())
	}
	arts, err := reopen(t, b).Artifacts("INC-1")
	if err != nil || len(arts) == 0 {
		t.Errorf("artifacts = %v, %v", arts, err)
	}
}

// Ensure a diagnosis cut short by the bot stopping (SIGTERM) is recorded as interrupted, not
// as a finished one: the incident says so, the capture is off the Edge, and the thread gets
// the interruption note while the bot shuts down.
func TestFlow_ShutdownDuringCaptureMarksInterrupted(t *testing.T) {
	checkLeaks(t)
	l, b := startLabBot(t, 120)
	b.command("U123", "C1", "diagnose edge-01 capture 60")
	running := waitIncident(t, b, "INC-1", func(i store.Incident) bool { return i.ThreadTS != "" })
	waitFor(t, "the capture running on the edge", func() bool {
		caps := l.Edge().Captures()
		return len(caps) > 0 && caps[0].Running
	})
	b.stop()

	inc, err := reopen(t, b).Incident("INC-1")
	if err != nil || inc.Status != store.StatusInterrupted {
		t.Fatalf("incident after shutdown: %+v %v", inc, err)
	}
	for _, c := range l.Edge().Captures() {
		if c.Running || !c.Removed {
			t.Errorf("edge captures: %+v", l.Edge().Captures())
		}
	}
	noted := false
	for _, m := range b.slack.Messages() {
		if m.ThreadTS == running.ThreadTS && strings.Contains(m.Text, "interrupted") {
			noted = true
		}
	}
	if !noted {
		t.Errorf("no interruption note in the thread: %+v", b.slack.Messages())
	}
}

// startLabBot runs the lab's auth_failed scenario with the given capture cap, and a bot with a
// real store and the real engine pointed at it.
func startLabBot(t *testing.T, captureSeconds int) (*lab.Lab, *testBot) {
	t.Helper()
	l, err := lab.Start(t.Context(), lab.Options{Scenario: "auth_failed", Dir: t.TempDir(), CaptureSeconds: captureSeconds})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	cfg := l.Config()
	db, err := store.Open(filepath.Join(t.TempDir(), "bot.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(cfg, db, engine.Options{ArtifactsDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return l, startBot(t, cfg, db, eng, nil)
}
