package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ipsecbot/config"
	"ipsecbot/handlers/slacktestx"
	"ipsecbot/lab"
	"ipsecbot/store"
)

// Ensure `bot serve` with watch.auto_diagnose says the automatic diagnosis of the lab's
// flapping tunnel in the tunnel's alert thread, end to end: the alert, the verdict naming
// auth_failed with its buttons in the alert's thread, the capture uploaded there, and the
// alert linking the incident and its cause; once the bot stopped, the store holds the
// automatic incident with the alert's thread.
func TestServe_AutomaticDiagnosisInTheAlertThread(t *testing.T) {
	var cfgPath string
	var alert, verdict slacktestx.Message
	// Registered before the lab's and the bot's cleanups, this check runs after them (bot serve
	// has let go of the store), and before the temporary directories are removed.
	t.TempDir()
	t.Cleanup(func() {
		if cfgPath == "" || alert.TS == "" {
			return
		}
		db, err := store.Open(filepath.Join(filepath.Dir(cfgPath), lab.FileStore), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		inc, err := db.Incident("INC-1")
		if err != nil || inc.Origin != store.OriginAutomatic || inc.Channel != "CALERTS" || inc.ThreadTS != alert.TS || inc.Cause != "auth_failed" {
			t.Errorf("incident %+v %v: want automatic, auth_failed, in the alert's thread %s", inc, err, alert.TS)
		}
	})
	_, fake, cfgPath := serveWatchLab(t, lab.Options{Scenario: "healthy", Edges: 1, FlapEvery: 3 * time.Second, CaptureSeconds: 2},
		func(c *config.Config) { c.Watch.AutoDiagnose = true })
	waitUntil(t, 120*time.Second, "the automatic verdict and its capture in the alert's thread", func() bool {
		alert, verdict = slacktestx.Message{}, slacktestx.Message{}
		for _, m := range fake.Messages() {
			switch {
			case m.Channel != "CALERTS":
			case m.ThreadTS == "" && strings.Contains(m.Text, "IPsec tunnel"):
				alert = m
			case m.ThreadTS != "" && strings.Contains(m.Blocks, `"header"`):
				verdict = m
			}
		}
		if alert.TS == "" || verdict.ThreadTS != alert.TS || !strings.Contains(alert.Blocks, "Diagnosed automatically as *INC-1*") {
			return false
		}
		for _, u := range fake.Uploads() {
			if u.Filename == "capture.pcap" && u.Completed && u.ThreadTS == alert.TS && u.Channel == "CALERTS" {
				return bytes.HasPrefix(u.Data, []byte{0xd4, 0xc3, 0xb2, 0xa1}) || bytes.HasPrefix(u.Data, []byte{0xa1, 0xb2, 0xc3, 0xd4})
			}
		}
		return false
	})
	for _, want := range []string{"INC-1 · edge-01: auth_failed", "started automatically by the watcher", `"action_id":"escalate","value":"INC-1"`} {
		if !strings.Contains(verdict.Blocks, want) {
			t.Errorf("the verdict lacks %q: %s", want, verdict.Blocks)
		}
	}
	for _, want := range []string{"IPsec tunnel unstable: edge-01 / ipsecsite-1", "Diagnosed automatically as *INC-1*: cause `auth_failed`"} {
		if !strings.Contains(alert.Blocks, want) {
			t.Errorf("the alert lacks %q: %s", want, alert.Blocks)
		}
	}
}
