package main

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"ipsecbot/lab"
)

// labConfig starts the lab on scenario and writes its configuration; it returns the path.
func labConfig(t *testing.T, scenario string) string {
	t.Helper()
	l, err := lab.Start(t.Context(), lab.Options{Scenario: scenario, Dir: t.TempDir(), CaptureSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	path := filepath.Join(l.Dir(), "lab.yaml")
	if err := l.WriteConfig(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// acceptAndClose listens on loopback and closes every connection as soon as it is accepted:
// an SSH or HTTPS client fails at once.
func acceptAndClose(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// Ensure a diagnosis whose edge, manager and peer all hang up exits 3 with the verdict
// printed, and one the lab answers (auth_failed) exits 0, with --keys' table beside its capture.
func TestDiagnose_NothingCollectedExits3(t *testing.T) {
	path := labConfig(t, "auth_failed")
	keys := filepath.Join(t.TempDir(), "keys.txt")
	if err := os.WriteFile(keys, []byte("esp * * 0x1 null - null -\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	code, stdout, stderr := runBot(t, "diagnose", "edge-01", "--config", path, "--capture-seconds", "1", "--out", out, "--keys", keys)
	if code != 0 || !strings.Contains(stdout, "auth_failed") {
		t.Fatalf("auth_failed: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	// --keys: Wireshark's table is beside the capture, and the verdict says how to open it.
	if _, err := os.Stat(filepath.Join(out, "esp_sa")); err != nil || !strings.Contains(stdout, "with Wireshark, or `tshark -r ") {
		t.Errorf("esp_sa beside the capture: %v; verdict:\n%s", err, stdout)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dead := acceptAndClose(t)
	// Every address the bot dials (the manager's URL, the edge's and the peer's SSH) points
	// at the listener that hangs up; the capture endpoint the bot binds stays as the lab set it.
	re := regexp.MustCompile(`(url: https://|address: )127\.0\.0\.1:\d+`)
	cfg := re.ReplaceAllString(string(data), "${1}"+dead)
	if strings.Count(cfg, dead) != 3 {
		t.Fatalf("rewrote %d addresses, want 3:\n%s", strings.Count(cfg, dead), cfg)
	}
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runBot(t, "diagnose", "edge-01", "--config", path, "--capture-seconds", "1", "--out", t.TempDir())
	if code != 3 || !strings.Contains(stderr, "nothing was collected") || !strings.Contains(stdout, "Cause:") {
		t.Fatalf("all unreachable: exit %d, want 3 with the verdict printed\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}
