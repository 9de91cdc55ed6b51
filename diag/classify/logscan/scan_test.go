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

// A log is matched by the patterns of the dialect found in it: matched_lines equals grep -c -E
// -f with `--print-patterns --format F`, for strongSwan fixtures (charon) and libreswan's own
// transcripts (pluto).
func TestScanLog_MatchesGrepPerFormat(t *testing.T) {
	grep, err := exec.LookPath("grep")
	if err != nil {
		t.Skip("grep not installed")
	}
	charon, _ := filepath.Glob("../testdata/*/*/*.log")
	pluto, _ := filepath.Glob("../testdata/libreswan/*.txt")
	for format, paths := range map[Format][]string{FormatCharon: charon, FormatPluto: pluto} {
		if len(paths) == 0 {
			t.Fatalf("no %s logs", format)
		}
		pat := filepath.Join(t.TempDir(), "patterns.txt")
		if err := os.WriteFile(pat, []byte(strings.Join(PatternsFor(format), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
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
			if len(st.Formats) != 1 || st.Formats[0] != format {
				t.Errorf("%s: dialects %v, want %s", path, st.Formats, format)
			}
			cmd := exec.Command(grep, "-c", "-E", "-f", pat, path)
			cmd.Env = append(os.Environ(), "LC_ALL=C")
			out, _ := cmd.Output()
			want, _ := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
			if st.MatchedLines != want {
				t.Errorf("%s: matched %d lines, grep -c with the %s patterns says %d", path, st.MatchedLines, format, want)
			}
		}
	}
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
