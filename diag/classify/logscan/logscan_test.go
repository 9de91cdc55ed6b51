package logscan

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// naiveCount matches line by line with the plain EREs of the dialects found in data: the
// reference the chunked, prefiltered scan must equal.
func naiveCount(data []byte) (lines, matched int64) {
	patterns := naiveMatch(data)
	for _, p := range patterns {
		if p >= 0 {
			matched++
		}
	}
	return int64(len(patterns)), matched
}

// naiveMatch returns, per line of data, the pattern the plain EREs give it (-1: none).
func naiveMatch(data []byte) []int {
	allowed := allowedPatterns(DetectFormats(data[:min(len(data), DetectSize)]))
	var out []int
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var line []byte
		if i < 0 {
			line, data = data, nil
		} else {
			line, data = data[:i], data[i+1:]
		}
		out = append(out, matchPlain(line, allowed))
	}
	return out
}

func scanBytes(t testing.TB, data []byte, opts Options) ([]Hit, Stats) {
	t.Helper()
	hits, st, err := ScanLog(t.Context(), bytes.NewReader(data), "mem.log", opts)
	if err != nil {
		t.Fatal(err)
	}
	return hits, st
}

// Ensure chunking, the prefilter and the parallel merge give the same lines as matching each
// line on its own, with hits in line order, for any chunk size.
func TestScanLog_SameAsLineByLine(t *testing.T) {
	for _, every := range []int{sparse, dense} {
		sameAsLineByLine(t, benchLog(t, 1<<20, every))
	}
	// Every line a match, many times maxPartHits to a chunk: hits handed over in parts.
	var all bytes.Buffer
	for l := range bytes.Lines(benchLog(t, 4<<20, dense)) {
		if Match(bytes.TrimSuffix(l, []byte("\n"))) >= 0 {
			all.Write(l)
		}
	}
	for all.Len() < 1<<20 {
		all.WriteString("TS_UNACCEPTABLE\n")
	}
	sameAsLineByLine(t, all.Bytes())
}

func sameAsLineByLine(t *testing.T, data []byte) {
	want := naiveMatch(data)
	wantMatched := int64(0)
	for _, p := range want {
		if p >= 0 {
			wantMatched++
		}
	}
	lines := bytes.Split(data, []byte("\n"))
	for _, size := range []int{512, 4096, 65536, 1 << 20} {
		hits, st := scanBytes(t, data, Options{ChunkSize: size, Workers: 1 + size%3, MaxHitsPerPattern: 1 << 20})
		if st.Lines != int64(len(want)) || st.MatchedLines != wantMatched || int64(len(hits)) != wantMatched {
			t.Fatalf("chunk %d: lines %d matched %d hits %d, want %d %d", size, st.Lines, st.MatchedLines, len(hits), len(want), wantMatched)
		}
		for i, h := range hits {
			if h.Pattern != want[h.Line-1] {
				t.Fatalf("hit line %d: pattern %d, plain regexps %d", h.Line, h.Pattern, want[h.Line-1])
			}
			if i > 0 && h.Line <= hits[i-1].Line {
				t.Fatalf("hits out of order at %d", i)
			}
			if got := printable(lines[h.Line-1]); got != h.Text {
				t.Fatalf("hit line %d text %q, file has %q", h.Line, h.Text, got)
			}
		}
	}
}

// Ensure a line longer than a chunk, NUL bytes and invalid UTF-8 are read past, counted, and do
// not hide the matches around them.
func TestScanLog_LongLinesAndGarbage(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("Nov 27 04:18:39 gw charon: 15[IKE] <s2s|1> received AUTHENTICATION_FAILED notify error\n")
	b.WriteString(strings.Repeat("x", 10000) + " DPD check timed out, enforcing DPD action " + strings.Repeat("y", 10000) + "\n")
	b.Write([]byte{0, 1, 2, 0xff, 0xfe, '\n'})
	b.WriteString("\xff\xfe giving up after 5 retransmits \x00\n")
	b.WriteString("last line without newline: no proposal found")
	hits, st := scanBytes(t, b.Bytes(), Options{ChunkSize: 4096})
	if st.Lines != 5 || st.LongLines != 1 {
		t.Fatalf("stats %+v", st)
	}
	var events []Event
	for _, h := range hits {
		events = append(events, h.Event)
	}
	want := []Event{EvAuthFailedNotify, EvGiveUp, EvNoProposalFound}
	if !equalEvents(events, want) || hits[1].Line != 4 || hits[2].Line != 5 {
		t.Fatalf("hits %+v", hits)
	}
	if strings.Contains(hits[1].Text, "\x00") || !utf8.ValidString(hits[1].Text) {
		t.Errorf("hit text not printable: %q", hits[1].Text)
	}
}

func equalEvents(a, b []Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Ensure only MaxHitsPerPattern hits of a pattern are kept while all are counted, and Keep can
// refuse hits.
func TestScanLog_Caps(t *testing.T) {
	data := []byte(strings.Repeat("sending retransmit 1 of request message ID 0, seq 1\n", 100))
	hits, st := scanBytes(t, data, Options{MaxHitsPerPattern: 10})
	if len(hits) != 10 || st.MatchedLines != 100 || st.DroppedHits != 90 {
		t.Fatalf("kept %d, stats %+v", len(hits), st)
	}
	hits, st = scanBytes(t, data, Options{Keep: func(h *Hit) bool { return h.Line%2 == 0 }})
	if len(hits) != 50 || st.MatchedLines != 100 {
		t.Fatalf("kept %d, stats %+v", len(hits), st)
	}
}

// Ensure a cancelled scan stops with the context's error.
func TestScanLog_Cancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := ScanLog(ctx, bytes.NewReader(benchLog(t, 4<<20, sparse)), "x", Options{ChunkSize: 4096})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}

func gz(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// Ensure .gz logs and tar.gz bundles (with a gzipped member) are read in place, members keep
// their own line numbers, and refs read bundle!member:LINE.
func TestScanFile_GzipAndBundle(t *testing.T) {
	dir := t.TempDir()
	log := []byte("a\nb\n2026-11-27T04:18:39.102 15[IKE] <s2s|1> received AUTHENTICATION_FAILED notify error\n")
	plain := filepath.Join(dir, "edge.log.gz")
	os.WriteFile(plain, gz(t, log), 0o644)
	hits, st, err := ScanFile(t.Context(), plain, Options{})
	if err != nil || len(hits) != 1 || hits[0].Ref() != plain+":3" || st.Lines != 3 {
		t.Fatalf("gz: %v %+v %+v", err, hits, st)
	}

	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	add := func(name string, body []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write(body)
	}
	add("var/log/messages", []byte("noise\nJun  8 00:59:20 edge pluto[99]: \"s2s\" #1: DPD: No response from peer - declaring peer dead\n"))
	add("var/log/ipsec.log.1.gz", gz(t, log))
	tw.Close()
	bundle := filepath.Join(dir, "NSX_Edge_Support_edge-1.tgz")
	os.WriteFile(bundle, gz(t, tb.Bytes()), 0o644)
	hits, st, err = ScanFile(t.Context(), bundle, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 2 || hits[0].Ref() != bundle+"!var/log/messages:2" || hits[1].Ref() != bundle+"!var/log/ipsec.log.1.gz:3" || st.Lines != 5 {
		t.Fatalf("bundle hits %+v stats %+v", hits, st)
	}

	r, err := OpenLog(bundle, 0)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := io.ReadAll(r)
	r.Close()
	if bytes.Count(all, []byte("\n")) != 5 {
		t.Fatalf("OpenLog bundle stream:\n%s", all)
	}
}

// Ensure the decompression cap stops a gzip bomb with ErrTooLarge, keeping what was read.
func TestScanFile_DecompressionCap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bomb.gz")
	os.WriteFile(path, gz(t, bytes.Repeat([]byte("no proposal found\n"), 100000)), 0o644)
	hits, st, err := ScanFile(t.Context(), path, Options{MaxBytes: 1 << 16})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err %v", err)
	}
	if st.Lines == 0 || len(hits) == 0 || st.Bytes > 1<<16 {
		t.Fatalf("stats %+v hits %d", st, len(hits))
	}
}

// Ensure a truncated gzip yields the lines before the cut and an error.
func TestScanFile_TruncatedGzip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cut.gz")
	z := gz(t, bytes.Repeat([]byte("2026-11-27T04:18:39.102 15[IKE] <s2s|1> no proposal found\n"), 5000))
	os.WriteFile(path, z[:len(z)/2], 0o644)
	_, st, err := ScanFile(t.Context(), path, Options{})
	if err == nil || st.MatchedLines == 0 {
		t.Fatalf("err %v stats %+v", err, st)
	}
}

func TestParseLine(t *testing.T) {
	ref := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	for name, tc := range map[string]struct {
		line           string
		tc             TimeContext
		want           time.Time
		prog, conn, sa string
		msgPrefix      string
	}{
		"charon-file":          {"2026-11-27T04:18:39.102 15[IKE] <s2s|1> received AUTHENTICATION_FAILED notify error", TimeContext{}, time.Date(2026, 11, 27, 4, 18, 39, 102e6, time.UTC), "charon", "s2s", "1", "15[IKE]"},
		"charon-file-zone":     {"2026-11-27T04:18:39.102 15[IKE] <7> x", TimeContext{Loc: tokyo}, time.Date(2026, 11, 27, 4, 18, 39, 102e6, tokyo), "charon", "", "7", "15[IKE]"},
		"syslog-charon":        {"Jun  8 00:59:20 r1-roll charon: 07[IKE] <peer-192.0.2.2-tunnel-0|1> initiating Main Mode IKE_SA", TimeContext{Ref: ref}, time.Date(2026, 6, 8, 0, 59, 20, 0, time.UTC), "charon", "peer-192.0.2.2-tunnel-0", "1", "07[IKE]"},
		"syslog-year-rollover": {"Dec 31 23:59:59 gw charon: 01[IKE] x", TimeContext{Ref: time.Date(2027, 1, 1, 0, 5, 0, 0, time.UTC)}, time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), "charon", "", "", "01[IKE]"},
		"syslog-explicit-year": {"Dec 31 23:59:59 gw charon: 01[IKE] x", TimeContext{Year: 2020}, time.Date(2020, 12, 31, 23, 59, 59, 0, time.UTC), "charon", "", "", "01[IKE]"},
		"pluto":                {"Jun  8 00:59:20 edge pluto[4321]: \"s2s\" #12: DPD: No response from peer - declaring peer dead", TimeContext{Year: 2026}, time.Date(2026, 6, 8, 0, 59, 20, 0, time.UTC), "pluto", "s2s", "#12", "\"s2s\""},
		"rfc5424":              {"<30>1 2026-03-04T10:55:16.330Z edge-1 iked 46794 - - Message: Authentication failed (24)", TimeContext{}, time.Date(2026, 3, 4, 10, 55, 16, 330e6, time.UTC), "", "", "", "iked"},
		"iso-syslog":           {"2026-03-04T10:55:16+09:00 fw iked[12]: msg_id=\"0203-0002\" IKE phase-1 negotiation from 1.2.3.4:500 to 5.6.7.8:500 failed.", TimeContext{}, time.Date(2026, 3, 4, 1, 55, 16, 0, time.UTC), "iked", "", "", "msg_id"},
		"sonicwall":            {"1\t11/15/2017 10:34:02.176\tInfo\tVPN IKE\tIKE Responder: Remote party timeout - Retransmitting IKE request.", TimeContext{}, time.Date(2017, 11, 15, 10, 34, 2, 176e6, time.UTC), "sonicwall", "", "", "IKE Responder"},
	} {
		t.Run(name, func(t *testing.T) {
			l, ok := ParseLine(tc.line, tc.tc)
			if !ok || !l.Time.Equal(tc.want) {
				t.Fatalf("time %v ok %v, want %v", l.Time, ok, tc.want)
			}
			if l.Program != tc.prog || l.Conn != tc.conn || l.SA != tc.sa || !strings.HasPrefix(l.Msg, tc.msgPrefix) {
				t.Fatalf("got %+v", l)
			}
		})
	}
	if _, ok := ParseLine("no time here", TimeContext{}); ok {
		t.Error("a line without a time parsed")
	}
}

// checkClocks checks the readers of ISO and BSD times against the time package: wherever they
// accept a stamp, the time package gives the same time in the same location.
func checkClocks(t *testing.T, s string, loc *time.Location) {
	t.Helper()
	if len(s) >= 19 && isISODate(s) && (s[10] == 'T' || s[10] == ' ') {
		if got, ok := isoLocal(s, loc); ok {
			stamp := strings.Replace(s[:10]+"T"+s[11:], ",", ".", 1)
			want, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", stamp, loc)
			if err != nil || !got.Equal(want) || got.Location() != want.Location() {
				t.Fatalf("%q: isoLocal %v, time package %v (%v)", s, got, want, err)
			}
		}
	}
	if len(s) >= 15 && isMonth(s[:3]) {
		if month, day, hour, minute, sec, nsec, ok := bsdClock(s); ok {
			want, err := time.ParseInLocation("Jan _2 15:04:05.999999999", s, loc)
			if err != nil || month != want.Month() || day != want.Day() || hour != want.Hour() || minute != want.Minute() || sec != want.Second() || nsec != want.Nanosecond() {
				t.Fatalf("%q: bsdClock %v %d %d:%d:%d.%d, time package %v (%v)", s, month, day, hour, minute, sec, nsec, want, err)
			}
		}
	}
}

// The ISO and BSD stamps read without the time package give what it gives, and refuse what it
// refuses (the line then has no time).
func TestParseLine_ClocksAsTimePackage(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	for _, c := range []struct {
		stamp string
		ok    bool
	}{
		{"2026-11-27T04:18:39.102", true}, {"2026-11-27 04:18:39,5", true}, {"2024-02-29T00:00:00", true},
		{"2026-11-27T04:18:39.1234567891", true}, {"2026-11-27T04:18:39", true},
		{"2023-02-29T00:00:00", false}, {"2026-04-31T00:00:00", false}, {"2026-13-01T00:00:00", false},
		{"2026-00-01T00:00:00", false}, {"2026-11-27T24:00:00", false}, {"2026-11-27T23:60:00", false},
		{"2026-11-27T23:59:60", false}, {"2026-11-27T04:18:39.", false}, {"2026-11-27T04:18:39.1.2", false},
		{"Jun  8 00:59:20", true}, {"Jun 08 00:59:20.123456", true}, {"Feb 29 12:00:00", true},
		{"Feb 30 12:00:00", false}, {"Jun  0 00:59:20", false}, {"Jun 31 00:59:20", false}, {"Jun  8 25:59:20", false},
		{"1970-01-01T00:00:00", true}, {"1969-12-31T23:59:59", false}, {"0001-01-01T00:00:00", false},
	} {
		for _, loc := range []*time.Location{time.UTC, tokyo} {
			checkClocks(t, c.stamp, loc)
			l, ok := ParseLine(c.stamp+" 15[IKE] x", TimeContext{Loc: loc, Year: 2026})
			if ok != c.ok {
				t.Errorf("%q: ok %v (time %v), want %v", c.stamp, ok, l.Time, c.ok)
			}
		}
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"2026-11-27T04:18:39.102 15[IKE] <s2s|1> received AUTHENTICATION_FAILED notify error",
		"Jun  8 00:59:20 r1-roll charon: 07[IKE] <peer|1> initiating Main Mode IKE_SA",
		"Jun  8 00:59:20 edge pluto[4321]: \"s2s\" #12: DPD: No response from peer - declaring peer dead",
		"<30>1 2026-03-04T10:55:16.330Z edge-1 iked 46794 - - Message: Authentication failed (24)",
		"1\t11/15/2017 10:34:02.176\tInfo\tVPN IKE\tIKE Responder: Remote party timeout",
		"2026-03-04T10:55:16+09:00 fw iked[12]: x", "<1>", "Jan 1", "2026-13-45T99:99:99",
		"2024-02-29 23:59:59,123456789", "Feb 29 23:59:59.5",
	} {
		f.Add(s)
	}
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	f.Fuzz(func(t *testing.T, line string) {
		checkClocks(t, line, tokyo)
		l, ok := ParseLine(line, TimeContext{Year: 2026})
		if !ok && !l.Time.IsZero() {
			t.Fatalf("not ok but time %v", l.Time)
		}
		if ok && l.Time.IsZero() {
			t.Fatal("ok without a time")
		}
		if ok && l.Time.Year() < 1970 {
			t.Fatalf("ok with a time in %d", l.Time.Year())
		}
		if len(l.Msg) > len(line) {
			t.Fatalf("message longer than the line")
		}
	})
}

// FuzzScan checks the chunked, prefiltered, parallel scan against line-by-line matching.
func FuzzScan(f *testing.F) {
	logs, _ := filepath.Glob("../testdata/fixtures/ikev2-p*/*.log")
	for _, p := range logs {
		b, _ := os.ReadFile(p)
		f.Add(b[:min(len(b), 1024)], uint16(64))
	}
	f.Add([]byte("giving up after 5 retransmits\nno acceptable proposal found"), uint16(7))
	f.Add([]byte{0, '\n', 0xff, 'N', 'O', '_'}, uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16) {
		size := int(chunk%4096) + 16
		_, st, err := ScanLog(t.Context(), bytes.NewReader(data), "fuzz", Options{Workers: 1, ChunkSize: size, MaxHitsPerPattern: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		lines, matched := naiveCount(data)
		if st.LongLines == 0 && (st.Lines != lines || st.MatchedLines != matched) {
			t.Fatalf("chunk %d: lines %d matched %d, line by line %d %d", size, st.Lines, st.MatchedLines, lines, matched)
		}
		if st.Bytes > int64(len(data)) {
			t.Fatalf("read %d bytes of %d", st.Bytes, len(data))
		}
	})
}
