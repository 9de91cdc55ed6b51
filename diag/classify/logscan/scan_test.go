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
	logs, _ := filepath.Glob("../testdata/fixtures/*/*.log")
	for _, st := range matchWithGrep(t, Patterns(), logs) {
		wc, _ := exec.Command("wc", "-l", st.path).Output()
		lines, _ := strconv.ParseInt(strings.Fields(string(wc))[0], 10, 64)
		if st.Lines != lines {
			t.Errorf("%s: %d lines, wc -l says %d", st.path, st.Lines, lines)
		}
	}
}

// A log is matched by the patterns of the dialect found in it: matched_lines equals grep -c -E
// -f with `--print-patterns --format F`, for strongSwan fixtures (charon) and libreswan's own
// transcripts (pluto).
func TestScanLog_MatchesGrepPerFormat(t *testing.T) {
	charon, _ := filepath.Glob("../testdata/*/*/*.log")
	pluto, _ := filepath.Glob("../testdata/libreswan/*.txt")
	for format, paths := range map[Format][]string{FormatCharon: charon, FormatPluto: pluto} {
		for _, st := range matchWithGrep(t, PatternsFor(format), paths) {
			if len(st.Formats) != 1 || st.Formats[0] != format {
				t.Errorf("%s: dialects %v, want %s", st.path, st.Formats, format)
			}
		}
	}
}

type pathStats struct {
	Stats
	path string
}

// matchWithGrep scans each path and checks its matched_lines against grep -c -E -f patterns.
func matchWithGrep(t *testing.T, patterns, paths []string) []pathStats {
	t.Helper()
	grep, err := exec.LookPath("grep")
	if err != nil {
		t.Skip("grep not installed")
	}
	if len(paths) == 0 {
		t.Fatal("no logs")
	}
	pat := filepath.Join(t.TempDir(), "patterns.txt")
	if err := os.WriteFile(pat, []byte(strings.Join(patterns, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out []pathStats
	for _, path := range paths {
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
		got, _ := cmd.Output()
		want, _ := strconv.ParseInt(strings.TrimSpace(string(got)), 10, 64)
		if st.MatchedLines != want {
			t.Errorf("%s: matched %d lines, grep -c says %d", path, st.MatchedLines, want)
		}
		out = append(out, pathStats{st, path})
	}
	return out
}

// A log holding both dialects (a syslog collector's file) is matched against both: a real
// charon line of the fixtures and a real pluto line of libreswan's transcripts.
func TestScanLog_BothDialects(t *testing.T) {
	log := "2026-11-27T04:18:32.961 08[IKE] <s2s|1> IKE_SA s2s[1] established between 192.0.2.1[192.0.2.1]...192.0.2.2[192.0.2.2]\n" +
		`004 "westnet-eastnet-ah" #1: IKE SA established {auth=RSA_SIG cipher=AES_CBC_256 integ=HMAC_SHA2_256 group=MODP2048}` + "\n"
	hits, st, err := ScanLog(t.Context(), strings.NewReader(log), "mixed.log", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Formats) != 2 || len(hits) != 2 {
		t.Errorf("formats %v, %d hits; want charon and pluto, both lines", st.Formats, len(hits))
	}
}
