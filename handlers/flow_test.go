package handlers

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag/engine"
	"ipsecbot/incident"
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

// Ensure step 8 from Slack against the lab: `/ipsec diagnose edge-01 datapath` on a tunnel
// that is up while ESP is lost between the Edge and the far side names lost_on_wan with the
// frames that prove it, shows the four-point table in the verdict, uploads the four captures
// and the ladder into its thread, and leaves no capture on the Edge, the ESXi host or the far
// side.
func TestFlow_DataPathAgainstLab(t *testing.T) {
	checkLeaks(t)
	l, b := startLabBotWith(t, lab.Options{Scenario: "healthy", DataPath: "datapath-lost_on_wan", CaptureSeconds: 2})
	if ack := b.command("U123", "C1", "diagnose edge-01 datapath"); !strings.Contains(ack.Text, "INC-1") {
		t.Fatalf("ack = %q", ack.Text)
	}
	inc := waitIncident(t, b, "INC-1", isFinal)
	b.waitIdle()
	b.stop()

	if inc.Cause != "lost_on_wan" {
		t.Errorf("incident cause %q, want lost_on_wan", inc.Cause)
	}
	root := rootMessage(t, b.slack, "C1")
	for _, want := range []string{"lost_on_wan", "point-3.pcap#", "3 Edge uplink"} {
		if !strings.Contains(root.Blocks, want) {
			t.Errorf("verdict message lacks %q: %s", want, root.Blocks)
		}
	}
	names := map[string]bool{}
	for _, u := range b.slack.Uploads() {
		names[u.Filename] = true
		if !u.Completed || u.ThreadTS != root.TS {
			t.Errorf("upload %s: completed %v into thread %s; want the verdict's thread %s", u.Filename, u.Completed, u.ThreadTS, root.TS)
		}
	}
	for _, want := range []string{"point-1.pcap", "point-2.pcap", "point-3.pcap", "point-4.pcap", "datapath-ladder.png"} {
		if !names[want] {
			t.Errorf("%s not uploaded (uploads: %v)", want, names)
		}
	}
	for _, c := range l.Edge().Captures() {
		if c.Running || !c.Removed {
			t.Errorf("edge capture left: %+v", c)
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
}

// Ensure a diagnosis cut short by the bot stopping (SIGTERM) is recorded as interrupted, not
// as a finished one: the incident says so, the capture is off the Edge, the channel message
// becomes the verdict from what was collected (naming the cause and saying it was
// interrupted), what exists is uploaded into its thread, and shutdown still returns within
// its grace plus the short budget Slack gets after the cancel.
func TestFlow_ShutdownDuringCaptureMarksInterrupted(t *testing.T) {
	checkLeaks(t)
	l, b := startLabBot(t, 120)
	b.command("U123", "C1", "diagnose edge-01 capture 60")
	running := waitIncident(t, b, "INC-1", func(i store.Incident) bool { return i.ThreadTS != "" })
	waitFor(t, "the capture running on the edge", func() bool {
		caps := l.Edge().Captures()
		return len(caps) > 0 && caps[0].Running
	})
	time.Sleep(time.Second) // let the window collect a little, as a real SIGTERM would
	began := time.Now()
	b.stop()
	took, bound := time.Since(began), b.srv.grace+interruptPostTimeout
	t.Logf("shutdown took %v", took)
	if took > bound {
		t.Errorf("shutdown took %v; want it within its grace and the Slack budget (%v)", took, bound)
	}

	db := reopen(t, b)
	inc, err := db.Incident("INC-1")
	if err != nil || inc.Status != store.StatusInterrupted || inc.Cause != "auth_failed" {
		t.Fatalf("incident after shutdown: %+v %v; want interrupted with cause auth_failed", inc, err)
	}
	for _, c := range l.Edge().Captures() {
		if c.Running || !c.Removed {
			t.Errorf("edge captures: %+v", l.Edge().Captures())
		}
	}
	root := rootMessage(t, b.slack, "C1")
	if root.TS != running.ThreadTS {
		t.Fatalf("root message %s, incident thread %s", root.TS, running.ThreadTS)
	}
	if !strings.Contains(root.Blocks, "auth_failed") || !strings.Contains(root.Blocks, "interrupted:") ||
		!strings.Contains(root.Blocks, "verdict from what was collected") {
		t.Errorf("verdict message after shutdown: %s", root.Blocks)
	}
	// What exists is uploaded: report.md always, the capture when the window got to fetch it.
	names := map[string]bool{}
	for _, u := range b.slack.Uploads() {
		if u.Completed && u.ThreadTS == root.TS {
			names[u.Filename] = true
		}
	}
	fetched := false
	if fi, err := os.Stat(filepath.Join(b.srv.artifacts, "INC-1", "capture.pcap")); err == nil && fi.Size() > 0 {
		fetched = true
	}
	if !names["report.md"] || names["capture.pcap"] != fetched {
		t.Errorf("uploads into the thread: %v; want report.md, and capture.pcap as it was fetched (%v)", names, fetched)
	}
	if !fetched {
		t.Log("the cancel came before the capture was fetched; only the report was uploaded")
	}
	tl, err := db.Timeline("INC-1")
	if err != nil || !slices.ContainsFunc(tl, func(e store.Event) bool { return e.Kind == store.EventInterruptionNoted }) {
		t.Errorf("timeline %+v, %v; want the interruption noted so the next start does not note it again", tl, err)
	}
}

// startLabBot runs the lab's auth_failed scenario with the given capture cap, and a bot with a
// real store and the real engine pointed at it.
func startLabBot(t *testing.T, captureSeconds int) (*lab.Lab, *testBot) {
	t.Helper()
	return startLabBotWith(t, lab.Options{Scenario: "auth_failed", CaptureSeconds: captureSeconds})
}

// startLabBotWith runs the lab with opts (its directory a temporary one) and a bot with a real
// store and the real engine pointed at it, its options changed by engOpts.
func startLabBotWith(t *testing.T, opts lab.Options, engOpts ...func(*engine.Options)) (*lab.Lab, *testBot) {
	t.Helper()
	opts.Dir = t.TempDir()
	l, err := lab.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	cfg := l.Config()
	db, err := store.Open(filepath.Join(t.TempDir(), "bot.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	incidents := incident.New(db, incident.Options{})
	eo := engine.Options{ArtifactsDir: t.TempDir(), Incidents: incidents}
	for _, f := range engOpts {
		f(&eo)
	}
	eng, err := engine.New(cfg, db, eo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return l, startBot(t, cfg, incidents, eng, nil)
}
