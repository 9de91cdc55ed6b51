package edge

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzSinkPath: whatever target and name the Edge sends, an accepted path is a plain file
// directly inside the transfer's directory.
func FuzzSinkPath(f *testing.F) {
	for _, s := range [][2]string{
		{"capture.pcap", "tcpdump_vNic_0.0"}, {".", "tcpdump_vNic_0.0"}, {"", "x"}, {"dir/", "x"},
		{"../x", "y"}, {"/etc/passwd", "y"}, {".", "../../x"}, {"a/../b", "c"}, {"..", "x"}, {"x\\..\\y", "z"},
	} {
		f.Add(s[0], s[1])
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, target, name string) {
		p, err := sinkPath(dir, target, name)
		if err != nil {
			return
		}
		if filepath.Dir(p) != dir || strings.ContainsAny(filepath.Base(p), `/\`) || filepath.Base(p) == ".." || filepath.Base(p) == "." {
			t.Fatalf("target %q name %q -> %q, outside %q", target, name, p, dir)
		}
	})
}

func FuzzSinkTarget(f *testing.F) {
	for _, s := range []string{"scp -t capture.pcap", "scp -v -t -- .", "scp -f /etc/passwd", "/usr/bin/scp -t x", "sh -c x", "scp -t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		target, ok := sinkTarget(cmd)
		if ok && (!slices.Contains(shellWords(cmd), "-t") || target == "" || strings.ContainsAny(target, " \t\n")) {
			t.Fatalf("%q accepted as a sink for %q", cmd, target)
		}
	})
}
