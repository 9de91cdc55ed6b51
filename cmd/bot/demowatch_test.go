package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Ensure `bot demo --watch` shows the watcher catching the lab's flapping tunnel, the
// automatic diagnosis it starts, and a verdict that cites the watch history it kept.
func TestDemo_Watch(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runBot(t, "demo", "--watch", "--out", out, "--capture-seconds", "1")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"up -> unstable", "automatic diagnosis of edge-01 started", "Cause: auth_failed", "api/watch-history.tsv:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if fi, err := os.Stat(filepath.Join(out, "api", "watch-history.tsv")); err != nil || fi.Size() == 0 {
		t.Errorf("watch history: %v", err)
	}
}
