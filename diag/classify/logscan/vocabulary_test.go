package logscan

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every pattern says where its wording comes from: an upstream source file and function, the
// NSX procedure's table, an RFC's notify name, or a vendor's document marked verified or inferred.
func TestPatterns_HaveOrigins(t *testing.T) {
	upstream := []string{"strongswan src/", "libreswan ", "openswan programs/pluto"}
	for i, p := range table {
		o := p.Origin
		switch {
		case o == "":
			t.Errorf("pattern %d %q has no origin", i, p.ERE)
		case hasAnyPrefix(o, upstream...):
			if !strings.Contains(o, ".c") {
				t.Errorf("pattern %d %q: upstream origin %q names no source file", i, p.ERE, o)
			}
		case hasAnyPrefix(o, "vendor verified: ", "vendor inferred: ", "rfc ", "vmware nsx-v "):
		default:
			t.Errorf("pattern %d %q: origin %q is neither upstream source nor a named document", i, p.ERE, o)
		}
	}
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// sample is one published log line and the event it must give.
type sample struct {
	event Event
	where string
	line  string
}

func readSamples(t *testing.T) []sample {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "vocabulary-samples.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []sample
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sc.Text() == "" || strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		parts := strings.SplitN(sc.Text(), "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("bad sample line %q", sc.Text())
		}
		out = append(out, sample{Event(parts[0]), parts[1], parts[2]})
	}
	return out
}

// Published lines of strongSwan, libreswan and other vendors give the event the table says.
func TestPatterns_PublishedSamples(t *testing.T) {
	for _, s := range readSamples(t) {
		i := MatchString(s.line)
		if i < 0 {
			t.Errorf("%s: no pattern matches %q", s.where, s.line)
			continue
		}
		if got := table[i].Event; got != s.event {
			t.Errorf("%s: %q gives %s (pattern %q), want %s", s.where, s.line, got, table[i].ERE, s.event)
		}
	}
}

// Every pattern not marked inferred is matched by a published sample or by a line of the
// strongSwan fixtures: a pattern no real line has ever matched is a guess.
func TestPatterns_EachMatchedByARealLine(t *testing.T) {
	seen := make([]bool, len(table))
	for _, s := range readSamples(t) {
		if i := MatchString(s.line); i >= 0 {
			seen[i] = true
		}
	}
	logs, _ := filepath.Glob(filepath.Join("..", "testdata", "*", "*", "*.log"))
	for _, path := range logs {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if i := MatchString(line); i >= 0 {
				seen[i] = true
			}
		}
	}
	for i, p := range table {
		exempt := hasAnyPrefix(p.Origin, "vendor inferred: ", "vmware nsx-v ") || strings.HasSuffix(p.Origin, sourceOnly)
		if seen[i] && strings.HasSuffix(p.Origin, sourceOnly) {
			t.Errorf("pattern %d %q is marked source only but a real line matches it: drop the mark", i, p.ERE)
		}
		if !seen[i] && !exempt {
			t.Errorf("pattern %d %q (%s) is matched by no published sample or fixture line", i, p.ERE, p.Origin)
		}
	}
}

// A bare notify name is heard when the line says it was received, decided when sent.
func TestRoleOf_NotifyDirection(t *testing.T) {
	for _, s := range readSamples(t) {
		i := MatchString(s.line)
		if i < 0 || table[i].Role != RoleNotify {
			continue
		}
		want := RoleHeard
		if strings.Contains(s.line, "sending ") {
			want = RoleDecided
		}
		if got := RoleOf(i, s.line); got != want {
			t.Errorf("%s: %q: role %d, want %d", s.where, s.line, got, want)
		}
	}
}

// matchNaive is the definition Match speeds up: the first pattern, in table order, whose key
// the line contains and whose ERE matches it.
func matchNaive(line []byte) int {
	for i := range table {
		p := &table[i]
		if bytes.Contains(line, p.key) && (p.re == nil || p.re.Match(line)) {
			return i
		}
	}
	return -1
}

// The one-pass key search gives the same pattern as trying every pattern in turn, on every line
// of the fixtures and the published samples.
func TestMatchLine_SameAsNaive(t *testing.T) {
	var lines []string
	for _, s := range readSamples(t) {
		lines = append(lines, s.line)
	}
	logs, _ := filepath.Glob(filepath.Join("..", "testdata", "*", "*", "*.log"))
	for _, path := range logs {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Split(string(b), "\n")...)
	}
	for _, l := range lines {
		if got, want := Match([]byte(l)), matchNaive([]byte(l)); got != want {
			t.Errorf("%q: Match %d, naive %d", l, got, want)
		}
	}
}
