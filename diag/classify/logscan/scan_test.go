package logscan

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Ensure matched_lines equals grep -c -E -f on every fixture log (when grep is installed).
func TestScanLog_MatchesGrep(t *testing.T) {
	grep, err := exec.LookPath("grep")
	if err != nil {
		t.Skip("grep not installed")
	}
	pat := filepath.Join(t.TempDir(), "patterns.txt")
	if err := os.WriteFile(pat, []byte(strings.Join(Patterns(), "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logs, _ := filepath.Glob("../testdata/fixtures/*/*.log")
	if len(logs) == 0 {
		t.Fatal("no fixture logs")
	}
	for _, path := range logs {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		_, st, err := ScanLog(t.Context(), f, path, Options{ChunkSize: 4096})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(grep, "-c", "-E", "-f", pat, path)
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		out, _ := cmd.Output()
		want, _ := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if st.MatchedLines != want {
			t.Errorf("%s: matched %d lines, grep -c says %d", path, st.MatchedLines, want)
		}
		wc, _ := exec.Command("wc", "-l", path).Output()
		lines, _ := strconv.ParseInt(strings.Fields(string(wc))[0], 10, 64)
		if st.Lines != lines {
			t.Errorf("%s: %d lines, wc -l says %d", path, st.Lines, lines)
		}
	}
}
