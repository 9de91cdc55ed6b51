package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ipsecbot/config"
	"ipsecbot/diag/engine"
	"ipsecbot/lab"
	"ipsecbot/lab/edgesim"
	"ipsecbot/store"
)

// eventually waits for cond, checking every 50 ms, and fails the test after a minute.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func runningCapture(caps []edgesim.Capture) bool {
	for _, c := range caps {
		if c.Running {
			return true
		}
	}
	return false
}

// Ensure a `bot diagnose` run while another process (the running bot) holds the store records
// its capture in the capture journal, and that when it is killed mid-capture, the holder's
// engine takes the capture over and removes it from the Edge; the journal is empty after.
func TestDiagnose_KilledWhileStoreHeldIsCleanedUp(t *testing.T) {
	bin := builtBot(t)
	l, err := lab.Start(t.Context(), lab.Options{Scenario: "auth_failed", Dir: t.TempDir(), CaptureSeconds: 60, BotElsewhere: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	path := filepath.Join(l.Dir(), "lab.yaml")
	if err := l.WriteConfig(path); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(cfg.Path(cfg.Store.Path), store.Options{}) // what `bot serve` holds
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	journal := store.JournalFor(cfg.Path(cfg.Store.Path))

	cmd := exec.Command(bin, "diagnose", "edge-01", "--config", path, "--capture-seconds", "60", "--out", t.TempDir())
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() { cmd.Process.Kill(); <-exited }()
	eventually(t, "the capture to run on the Edge", func() bool {
		select {
		case <-exited:
			t.Fatalf("diagnose exited before its capture ran:\n%s", stderr.String())
		default:
		}
		return runningCapture(l.Edge().Captures())
	})
	if !strings.Contains(stderr.String(), "its capture is recorded in "+journal.Dir()) {
		t.Errorf("stderr does not say where the capture is recorded:\n%s", stderr.String())
	}
	entries, _ := os.ReadDir(journal.Dir())
	if len(entries) != 1 {
		t.Fatalf("journal holds %d entries while the run captures, want 1", len(entries))
	}
	// While the run lives, its journal entry is not taken over.
	if n, err := journal.Adopt(db); n != 0 || err != nil {
		t.Fatalf("adopted %d (%v) from a live process", n, err)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: nothing of the run's cleanup runs
		t.Fatal(err)
	}
	<-exited
	if !runningCapture(l.Edge().Captures()) {
		t.Fatal("the killed run's capture is not running: the test proves nothing")
	}

	// The holder's engine, as `bot serve` makes it, takes the capture over within a poll.
	eng, err := engine.New(cfg, db, engine.Options{Journal: journal, JournalPoll: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	eventually(t, "the capture's removal from the Edge", func() bool {
		for _, c := range l.Edge().Captures() {
			if c.Running || !c.Removed {
				return false
			}
		}
		return true
	})
	eventually(t, "the capture's record to go", func() bool {
		recs, err := db.Captures()
		entries, _ := os.ReadDir(journal.Dir())
		return err == nil && len(recs) == 0 && len(entries) == 0
	})
}
