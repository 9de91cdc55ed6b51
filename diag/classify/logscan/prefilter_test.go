package logscan

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// plainRegexps are the table's EREs as grep reads them, without keys or prefilter.
var plainRegexps = func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(table))
	for i, p := range table {
		out[i] = regexp.MustCompilePOSIX(p.ERE)
	}
	return out
}()

// matchPlain is the definition the prefilter and matcher speed up: the first pattern, in table
// order, that applies (allowed nil: all do) and whose ERE matches line.
func matchPlain(line []byte, allowed []bool) int {
	for i, re := range plainRegexps {
		if (allowed == nil || allowed[i]) && re.Match(line) {
			return i
		}
	}
	return -1
}

// dialectSets are the pattern sets a file can be matched against: all, each dialect's, and two
// dialects together.
func dialectSets() [][]bool {
	sets := [][]bool{nil, allowedPatterns([]Format{FormatCharon, FormatPluto})}
	for _, f := range Formats {
		sets = append(sets, allowedPatterns([]Format{f}))
	}
	return sets
}

// corpus is every line the repository has of real logs: the strongSwan fixtures, libreswan's
// transcripts and the published samples.
func corpus(t *testing.T) [][]byte {
	t.Helper()
	var lines [][]byte
	for _, s := range readSamples(t) {
		lines = append(lines, []byte(s.line))
	}
	logs, _ := filepath.Glob(filepath.Join("..", "testdata", "*", "*", "*.log"))
	txt, _ := filepath.Glob(filepath.Join("..", "testdata", "libreswan", "*.txt"))
	for _, path := range append(logs, txt...) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, bytes.Split(b, []byte("\n"))...)
	}
	if len(lines) < 1000 {
		t.Fatalf("only %d corpus lines", len(lines))
	}
	return lines
}

// The prefilter never drops a line a pattern's ERE matches, and the matcher names the same
// pattern as trying every ERE in turn, for every set of dialects.
func TestMatcher_SameAsPlainRegexps(t *testing.T) {
	lines := corpus(t)
	matching := make([][]int, len(lines)) // per line: every pattern whose ERE matches it
	for n, l := range lines {
		for i, re := range plainRegexps {
			if re.Match(l) {
				matching[n] = append(matching[n], i)
			}
		}
	}
	matched := 0
	for _, allowed := range dialectSets() {
		m := everyPattern
		if allowed != nil {
			m = matcherFor(allowed)
		}
		for n, l := range lines {
			want := -1
			for _, i := range matching[n] {
				if allowed == nil || allowed[i] {
					want = i
					break
				}
			}
			if got := m.match(l, m.f.present(l)); got != want {
				t.Errorf("%q: matcher %d, plain regexps %d", l, got, want)
			}
			if want >= 0 {
				matched++
			}
		}
	}
	if matched == 0 {
		t.Fatal("no corpus line matched")
	}
}

// One pass of nextLine over a text finds the same lines, with the same keys, as looking for
// every key in every line.
func TestNextLine_SameAsContains(t *testing.T) {
	data := bytes.Join(corpus(t), []byte("\n"))
	checkNextLine(t, everyPattern.f, data)
	checkNextLine(t, matcherFor(allowedPatterns([]Format{FormatCharon})).f, data)
}

func checkNextLine(t *testing.T, f *prefilter, data []byte) {
	t.Helper()
	type found struct {
		start int
		keys  keySet
	}
	var want []found
	for start := 0; start <= len(data); {
		end := bytes.IndexByte(data[start:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += start
		}
		var keys keySet
		for k, key := range f.keys {
			if bytes.Contains(data[start:end], key) {
				keys.add(k)
			}
		}
		if keys != (keySet{}) {
			want = append(want, found{start, keys})
		}
		start = end + 1
	}
	var got []found
	for pos := 0; pos < len(data); {
		start, end, keys := f.nextLine(data, pos)
		if start < 0 {
			break
		}
		if end < len(data) && data[end] != '\n' || bytes.IndexByte(data[start:end], '\n') >= 0 {
			t.Fatalf("nextLine gave [%d:%d], not one line", start, end)
		}
		got = append(got, found{start, keys})
		pos = end + 1
	}
	if len(got) != len(want) {
		t.Fatalf("nextLine found %d lines, bytes.Contains %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("line %d: nextLine %+v, bytes.Contains %+v", i, got[i], want[i])
		}
	}
}

// versionOfNaive is the definition VersionOf speeds up.
func versionOfNaive(text string) int {
	for _, w := range versionWords {
		if w.version == 1 && strings.Contains(text, w.word) {
			return 1
		}
	}
	for _, w := range versionWords {
		if w.version == 2 && strings.Contains(text, w.word) {
			return 2
		}
	}
	return 0
}

func TestVersionOf_SameAsNaive(t *testing.T) {
	counts := map[int]int{}
	lines := corpus(t)
	for _, w := range versionWords { // each word alone, at the start and at the end of a line
		lines = append(lines, []byte(w.word), []byte(w.word+" x"), []byte("x "+w.word))
	}
	for _, l := range lines {
		got, want := VersionOf(string(l)), versionOfNaive(string(l))
		if got != want {
			t.Errorf("%q: VersionOf %d, naive %d", l, got, want)
		}
		counts[want]++
	}
	if counts[1] == 0 || counts[2] == 0 {
		t.Fatalf("corpus has no line of some version: %v", counts)
	}
}

// detectNaive is the definition DetectFormats speeds up: each sign's regular expression on
// every line until one matches.
func detectNaive(start []byte) []Format {
	var out []Format
	for _, s := range signs {
		for line := range bytes.Lines(start) {
			if s.re.Match(line) {
				out = append(out, s.format)
				break
			}
		}
	}
	return out
}

// Looking for each sign's literals first finds the same dialects in every log of the corpus.
func TestDetectFormats_SameAsNaive(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "*", "*", "*.log"))
	txt, _ := filepath.Glob(filepath.Join("..", "testdata", "libreswan", "*.txt"))
	var lines []string
	for _, s := range readSamples(t) {
		lines = append(lines, s.line)
	}
	found := map[Format]bool{}
	texts := append(readAll(t, append(paths, txt...)), []byte(strings.Join(lines, "\n")), []byte(dialectLines))
	for _, text := range texts {
		got, want := DetectFormats(text), detectNaive(text)
		if !slices.Equal(got, want) {
			t.Errorf("%.60q...: DetectFormats %v, naive %v", text, got, want)
		}
		for _, f := range want {
			found[f] = true
		}
	}
	if len(found) < len(Formats) {
		t.Errorf("the corpus shows only the dialects %v", found)
	}
}

// dialectLines has a line of each dialect's shape.
const dialectLines = "2026-11-27T04:18:39.102 15[IKE] <s2s|1> x\n" +
	"Jun  8 00:59:20 edge pluto[4321]: \"s2s\" #12: x\n" +
	"1\t11/15/2017 10:34:02.176\tInfo\tVPN IKE\tx\n" +
	"<30>1 2026-03-04T10:55:16.330Z fw iked[1]: x\n" +
	"Nov 27 04:18:39 fw %ASA-5-713061: x\n" +
	"2026/03/04 10:55:16 ikemgr: x\n" +
	"date=2026-03-04 logid=\"0101037124\" type=\"event\" subtype=\"vpn\" x\n" +
	"Nov 27 04:18:39 srx kmd[1827]: KMD_PM_SA_ESTABLISHED: x\n"

func readAll(t *testing.T, paths []string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzMatch checks the fast paths of matching against their definitions on any input: the
// prefilter and matcher against the plain EREs, nextLine against bytes.Contains, VersionOf
// against one strings.Contains per word, DetectFormats against every sign on every line,
// plainASCII against a byte-by-byte check.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{
		"2026-11-27T04:18:39.102 15[IKE] <s2s|1> received AUTHENTICATION_FAILED notify error",
		"retransmit 3 of request with message ID 0\ngiving up after 5 retransmits",
		"traffic selectors 10.0.0.0/24 === 10.1.0.0/24 unacceptable",
		"IKE_SA s2s[1] established between 192.0.2.1[a]...192.0.2.2[b]",
		"closing CHILD_SA s2s{1} with SPIs c1_i (0 bytes) c2_o (84 bytes) and TS 10.0.0.0/24",
		"\"conn\" #4: NSS: ERROR: x certificate y invalid: SEC_ERROR_EXPIRED",
		"initiating Main Mode IKE_SA with STATE_QUICK\ttab\x00\xff",
		dialectLines,
	} {
		f.Add([]byte(s))
	}
	sets := dialectSets()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, allowed := range sets {
			m := everyPattern
			if allowed != nil {
				m = matcherFor(allowed)
			}
			if got, want := m.match(data, m.f.present(data)), matchPlain(data, allowed); got != want {
				t.Fatalf("%q: matcher %d, plain regexps %d", data, got, want)
			}
		}
		checkNextLine(t, everyPattern.f, data)
		if got, want := VersionOf(string(data)), versionOfNaive(string(data)); got != want {
			t.Fatalf("%q: VersionOf %d, naive %d", data, got, want)
		}
		if got, want := DetectFormats(data), detectNaive(data); !slices.Equal(got, want) {
			t.Fatalf("%q: DetectFormats %v, naive %v", data, got, want)
		}
		if got, want := plainASCII(data), plainBytes(data); got != want {
			t.Fatalf("%q: plainASCII %v, byte by byte %v", data, got, want)
		}
	})
}
