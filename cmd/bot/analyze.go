package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/classify"
	"ipsecbot/diag/classify/logscan"
	"ipsecbot/diag/ike"
	"ipsecbot/diag/nsx"
)

// runAnalyze classifies evidence already collected: `bot analyze [--pcap F]... [--log F]...
// [--stats F]... [--show F]... [--since T] [--until T] [--tz ZONE] [--year N] [--json]`, or
// prints the log scanner's patterns with --print-patterns.
func runAnalyze(ctx context.Context, e *env, args []string) error {
	fs := newFlags("analyze", e)
	var pcaps, logs, edgeLogs, peerLogs, stats, shows multiFlag
	fs.Var(&pcaps, "pcap", "packet capture (pcap or pcapng); repeatable: give both sites' captures to compare their ESP")
	fs.Var(&logs, "log", "log file: plain, .gz or tar.gz bundle; repeatable")
	fs.Var(&edgeLogs, "edge-log", "a log of the NSX Edge's side; repeatable")
	fs.Var(&peerLogs, "peer-log", "a log of the third-party gateway's side; repeatable")
	fs.Var(&stats, "stats", "NSX IPsec statistics XML; repeat for two reads to use counter deltas")
	fs.Var(&shows, "show", "output of show service ipsec [sa|sp]; repeatable")
	since := fs.String("since", "", "start of the problem window (RFC 3339 or 2006-01-02 15:04:05); log lines, capture frames and statistics outside it do not count")
	until := fs.String("until", "", "end of the problem window")
	tz := fs.String("tz", "UTC", "time zone of log times that carry none (IANA name)")
	year := fs.Int("year", 0, "year of year-less log times (default: from each file's modification time)")
	asJSON := fs.Bool("json", false, "print the verdict as one JSON document")
	keysPath := fs.String("keys", "", "the tunnel's keys (esp/ike lines, docs/design.md): Wireshark's esp_sa and ikev2_decryption_table are written beside the first --pcap")
	printPatterns := fs.Bool("print-patterns", false, "print the log scanner's patterns, one POSIX ERE a line")
	format := fs.String("format", "", "with --print-patterns: only the patterns a log of this dialect is matched against (charon, pluto, sonicwall, watchguard, asa, panos, fortios, junos)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q (files are given with --pcap, --log, --stats, --show)", pos[0])
	}
	if *format != "" && !*printPatterns {
		return usagef("--format goes with --print-patterns (logs are matched by the dialect found in each)")
	}
	if *printPatterns {
		if n := fs.NFlag(); n > 1 && (n > 2 || *format == "") {
			return usagef("--print-patterns takes no other flags but --format")
		}
		patterns := logscan.Patterns()
		if *format != "" {
			if !slices.Contains(logscan.Formats, logscan.Format(*format)) {
				return usagef("--format %q: not one of %v", *format, logscan.Formats)
			}
			patterns = logscan.PatternsFor(logscan.Format(*format))
		}
		for _, p := range patterns {
			fmt.Fprintln(e.stdout, p)
		}
		return nil
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return usagef("--tz %q: %v", *tz, err)
	}
	in := classify.Input{}
	if in.Since, err = parseWindowTime(*since, loc); err != nil {
		return usagef("--since: %v", err)
	}
	if in.Until, err = parseWindowTime(*until, loc); err != nil {
		return usagef("--until: %v", err)
	}
	if !in.Since.IsZero() && !in.Until.IsZero() && in.Until.Before(in.Since) {
		return usagef("--until is before --since")
	}
	if len(pcaps)+len(logs)+len(edgeLogs)+len(peerLogs)+len(stats)+len(shows) == 0 {
		return usagef("nothing to analyze: give at least one --pcap, --log, --stats or --show")
	}
	if *keysPath != "" && len(pcaps) == 0 {
		return usagef("--keys goes with --pcap (the tables are written beside the capture)")
	}
	keys, err := readKeys(*keysPath)
	if err != nil {
		return err
	}
	// Each capture is opened once, here: its first block is checked on the reader the
	// classifier then reads the whole file from, in one pass.
	var captureErrs []error
	for _, p := range pcaps {
		f, br, err := openInput(p, inputCapture)
		if err != nil {
			return err
		}
		defer f.Close()
		in.Captures = append(in.Captures, classify.CaptureSource{Path: p, Data: br, Read: func(_ *ike.Summary, err error) {
			if err != nil {
				captureErrs = append(captureErrs, fmt.Errorf("%s: %w", p, err))
			}
		}})
	}
	inputs := []struct {
		kind  inputKind
		paths []string
	}{{inputXML, stats}, {inputText, logs}, {inputText, edgeLogs}, {inputText, peerLogs}, {inputText, shows}}
	for _, in := range inputs {
		for _, p := range in.paths {
			if err := checkInputFile(p, in.kind); err != nil {
				return err
			}
		}
	}
	addLogs := func(dst *[]classify.LogSource, paths []string, site string) {
		for _, p := range paths {
			*dst = append(*dst, classify.LogSource{Path: p, Site: site, Loc: loc, Year: *year})
		}
	}
	addLogs(&in.Logs, edgeLogs, "edge")
	addLogs(&in.Logs, peerLogs, "peer")
	addLogs(&in.Logs, logs, "")
	addLogs(&in.Shows, shows, "edge")
	for _, p := range stats {
		// Parsed here, once, so a document that is not NSX statistics ends the command with one
		// line instead of a note under "missing".
		st, err := readStatistics(p)
		if err != nil {
			return err
		}
		in.Stats = append(in.Stats, classify.StatsSource{Path: p, Stats: st})
	}
	v, err := classify.Classify(ctx, in)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeJSON(e.stdout, v); err != nil {
			return err
		}
	} else {
		printVerdict(e.stdout, v)
	}
	if keys != nil {
		writeKeyTables(e, filepath.Dir(pcaps[0]), keys)
	}
	// A capture that could not be read whole (cut short, a record refused) fails the command
	// as `bot pcap` does, after the verdict on what was read.
	if len(captureErrs) > 0 {
		return fmt.Errorf("%w (the verdict covers what was read before)", captureErrs[0])
	}
	return nil
}

// readStatistics reads an NSX IPsec statistics document named on the command line.
func readStatistics(path string) (*nsx.Statistics, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := nsx.ParseStatistics(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// inputKind is what a file named on the command line must look like.
type inputKind int

const (
	inputText    inputKind = iota // a log or show output: plain text, .gz or a tar.gz bundle
	inputCapture                  // pcap or pcapng
	inputXML                      // an NSX API document
)

// headSize is how much of a file named on the command line is checked before it is read.
const headSize = 8192

// checkInputFile refuses, with one line, what the user named but cannot be evidence of its
// kind (see openInput).
func checkInputFile(path string, kind inputKind) error {
	f, _, err := openInput(path, kind)
	if err != nil {
		return err
	}
	return f.Close()
}

// openInput opens a file named on the command line and refuses, with one line, what cannot be
// evidence of its kind: a missing path, a directory, an empty file, a text file with NUL bytes
// in its first block (a binary, not a log), a capture without a pcap/pcapng magic, statistics
// that are not XML. Only the first block is checked, on the reader returned, which still starts
// at the file's first byte; the parsers check the rest.
func openInput(path string, kind inputKind) (*os.File, *bufio.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(f, headSize)
	err = checkHead(f, br, kind)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, br, nil
}

// checkHead checks what openInput opened: a regular file whose first block fits kind.
func checkHead(f *os.File, br *bufio.Reader, kind inputKind) error {
	path := f.Name()
	if fi, err := f.Stat(); err != nil {
		return err
	} else if fi.IsDir() {
		return fmt.Errorf("%s is a directory, not a file", path)
	}
	head, err := br.Peek(headSize)
	if err != nil && err != io.EOF {
		return err
	}
	if len(head) == 0 {
		return fmt.Errorf("%s is empty", path)
	}
	switch kind {
	case inputCapture:
		if !isCaptureMagic(head) {
			return fmt.Errorf("%s is not a pcap or pcapng capture", path)
		}
	case inputXML:
		if t := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf"); len(t) == 0 || t[0] != '<' {
			return fmt.Errorf("%s is not an XML document (NSX statistics are XML)", path)
		}
	case inputText:
		if bytes.HasPrefix(head, []byte{0x1f, 0x8b}) { // gzip: a .gz log or a tar.gz bundle
			return nil
		}
		if bytes.IndexByte(head, 0) >= 0 {
			return fmt.Errorf("%s does not look like a text log (it holds NUL bytes)", path)
		}
	}
	return nil
}

// isCaptureMagic recognises the pcap magics (µs and ns, both byte orders) and pcapng's
// section header block.
func isCaptureMagic(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	switch string(b[:4]) {
	case "\xd4\xc3\xb2\xa1", "\xa1\xb2\xc3\xd4", "\x4d\x3c\xb2\xa1", "\xa1\xb2\x3c\x4d", "\x0a\x0d\x0d\x0a":
		return true
	}
	return false
}

// parseWindowTime reads RFC 3339, or "2006-01-02 15:04:05" (optionally with T) in loc.
func parseWindowTime(s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor 2006-01-02 15:04:05", s)
}

// printVerdict renders a verdict for a terminal.
func printVerdict(w io.Writer, v *diag.Verdict) {
	fmt.Fprintf(w, "Cause:      %s (confidence %.2f)\n", v.Cause, v.Confidence)
	if v.IKEVersion != 0 {
		fmt.Fprintf(w, "IKE:        v%d\n", v.IKEVersion)
	}
	fmt.Fprintf(w, "Summary:    %s\n", v.Summary)
	printEvidence(w, "Evidence:", v.Evidence)
	for _, f := range v.AlsoSeen {
		printEvidence(w, fmt.Sprintf("Also seen:  %s (%.2f)", f.Cause, f.Confidence), f.Evidence)
	}
	for _, r := range v.RuledOut {
		fmt.Fprintf(w, "Ruled out:  %s: %s (%s)\n", r.Cause, r.Why, r.Ref)
	}
	if len(v.Remediation) > 0 {
		fmt.Fprintln(w, "Next:")
		for _, r := range v.Remediation {
			fmt.Fprintf(w, "  - %s\n", r)
		}
	}
	if len(v.Missing) > 0 {
		missing := make([]string, len(v.Missing))
		for i, m := range v.Missing {
			missing[i] = m
			if flag, ok := missingFlags[m]; ok {
				missing[i] += " (" + flag + ")"
			}
		}
		fmt.Fprintf(w, "Missing:    %s\n", strings.Join(missing, "; "))
	}
	s := v.Scanned
	fmt.Fprintf(w, "Scanned:    %d log lines (%d matched), %d packets, %d IKE messages\n", s.LogLines, s.MatchedLines, s.Packets, s.IKEMessages)
}

// missingFlags names the flag that supplies each kind of evidence the verdict says is missing.
var missingFlags = map[string]string{
	classify.MissingLogs:    "--log",
	classify.MissingCapture: "--pcap",
	classify.MissingStats:   "--stats",
	classify.MissingShow:    "--show",
}

func printEvidence(w io.Writer, title string, evs []diag.Evidence) {
	fmt.Fprintln(w, title)
	for _, e := range evs {
		fmt.Fprintf(w, "  %-5s %s%s\n        %s\n", e.Source, e.Ref, e.StampNote(), e.Text)
	}
}
