//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ipsecbot/diag"
	"ipsecbot/internal/opencount"
)

// hostileCaptures holds captures whose length fields claim gigabytes: a pcap record of 2 GiB
// (104 bytes in all) and a pcapng block of 2 GiB.
const hostileCaptures = "../../diag/ike/testdata/hostile"

// copyFile copies src into dir and returns the copy's path, so a test watches a file nobody else opens.
func copyFile(t *testing.T, src, dir string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(filepath.Dir(src))+"-"+filepath.Base(src))
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// Ensure `bot analyze` opens each capture once, whole or windowed, alone or with the other
// site's: its check of the file and the classifier's whole reading are one pass.
func TestAnalyze_OpensEachCaptureOnce(t *testing.T) {
	dir := t.TempDir()
	edge := copyFile(t, filepath.Join(altFixtures, "ikev2-esp_blocked", "capture.pcap"), dir)
	peer := copyFile(t, filepath.Join(altFixtures, "ikev2-esp_blocked", "capture-peerB.pcap"), dir)
	for name, args := range map[string][]string{
		"Edge":     {"--pcap", edge},
		"Window":   {"--pcap", edge, "--since", "2000-01-01"},
		"TwoSites": {"--pcap", edge, "--pcap", peer},
	} {
		t.Run(name, func(t *testing.T) {
			edgeOpens, peerOpens := opencount.Watch(t, edge), opencount.Watch(t, peer)
			code, out, errOut := runBot(t, append([]string{"analyze", "--json"}, args...)...)
			var v diag.Verdict
			if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Cause != diag.CauseESPBlocked {
				t.Fatalf("exit %d, cause %q, stderr %q", code, v.Cause, errOut)
			}
			wantPeer := strings.Count(strings.Join(args, " "), peer)
			if n, m := edgeOpens(), peerOpens(); n != 1 || m != wantPeer {
				t.Errorf("the Edge's capture opened %d times, the peer's %d; want 1 and %d", n, m, wantPeer)
			}
		})
	}
}

// Ensure no command that reads a capture allocates from a length it has not bounded: run as
// the shipped binary (static, as the Dockerfile builds it) under an address-space limit, every
// one refuses the hostile captures with one line and exit status 1, never a crash. The Go
// runtime reserves about 1.3 GB of address space when it starts, so 2 GB leaves it room to
// work and none for the 2 GiB a length field claims.
func TestCaptureCommands_HostileLengthsUnderMemoryLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "bot")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, file := range []string{"huge-record.pcap", "huge-block.pcapng"} {
		path := filepath.Join(hostileCaptures, file)
		for _, args := range [][]string{
			{"analyze", "--pcap", path},
			{"analyze", "--json", "--pcap", path},
			{"pcap", "summary", path},
			{"pcap", "summary", "--json", path},
			{"pcap", "decode", "--json", path},
		} {
			cmd := exec.Command("sh", append([]string{"-c", `ulimit -v 2000000 && exec "$0" "$@"`, bin}, args...)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			_ = cmd.Run()
			code, errOut := cmd.ProcessState.ExitCode(), stderr.String()
			if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "bot ") || !strings.Contains(errOut, "bytes") {
				t.Errorf("%s %v: exit %d, stderr (%d bytes) %.300q", file, args, code, len(errOut), errOut)
			}
		}
	}
}
