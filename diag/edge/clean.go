package edge

import (
	"regexp"
	"strings"
)

// ansiEscape matches CSI sequences (colours, cursor moves) and the few two-byte escapes a
// terminal-oriented CLI emits.
var ansiEscape = regexp.MustCompile(`\x1b(\[[0-9;?]*[A-Za-z]|[()][A-Z0-9]|[=>])`)

// pagerArtefact matches what a less-like pager leaves in captured text: a "byte NNNN" status
// line, "--More--", "(END)". Field scripts remove these too (docs/nsx-formats.md §1.1).
var pagerArtefact = regexp.MustCompile(`(?m)^[ \t]*(byte \d+.*|--More--.*|<--- More --->.*|\(END\)[ \t]*|lines \d+-\d+.*)$\n?`)

// eraseLine matches a line's text up to a carriage return followed by erase-line, which is how
// a pager removes its status line: the text is gone from the screen.
var eraseLine = regexp.MustCompile(`[^\n]*\r\x1b\[[02]?K`)

// StripANSI removes terminal escape sequences (text erased with CR + erase-line goes too).
func StripANSI(s string) string {
	return ansiEscape.ReplaceAllString(eraseLine.ReplaceAllString(s, ""), "")
}

// cleanOutput normalises text for the parsers: no escapes, no carriage returns, no pager marks.
// Parsers call it themselves so they accept raw transcripts as well as Session output.
func cleanOutput(s string) string {
	s = StripANSI(s)
	s = overwriteCR(s)
	s = strings.ReplaceAll(s, "\b", "")
	return pagerArtefact.ReplaceAllString(s, "")
}

// overwriteCR turns CRLF into LF and lets a lone carriage return overwrite the line, as a
// terminal shows it (a pager erases its status line with "\r" + erase-line).
func overwriteCR(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	ls := strings.Split(s, "\n")
	for i, l := range ls {
		l = strings.TrimRight(l, "\r")
		if j := strings.LastIndexByte(l, '\r'); j >= 0 {
			l = l[j+1:]
		}
		ls[i] = l
	}
	return strings.Join(ls, "\n")
}

// lines splits cleaned output into lines without trailing blanks.
func lines(s string) []string {
	out := strings.Split(cleanOutput(s), "\n")
	for i := range out {
		out[i] = strings.TrimRight(out[i], " \t")
	}
	return out
}

// EdgeError returns the Edge's error text if output is one, else "".
// [INF] The ESG's CLI is a zebra/quagga-style shell; like those it answers an unknown or
// incomplete command with a line starting "% " (e.g. "% Unrecognized command"). The lab's Edge
// emits that shape.
func EdgeError(output string) string {
	for _, l := range lines(output) {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		if strings.HasPrefix(t, "% ") {
			return t
		}
		return ""
	}
	return ""
}

// keyValues splits a line like "PeerIp: 1.2.3.4  LocalIP: 5.6.7.8  Status: DOWN Reason: x y"
// into its fields. Keys are matched case-insensitively; a value runs to the next known key;
// the last known key (e.g. Reason) takes the rest of the line.
func keyValues(line string, keys ...string) map[string]string {
	lower := asciiLower(line)
	type hit struct {
		key        string
		start, val int
	}
	var hits []hit
	for _, k := range keys {
		needle := strings.ToLower(k) + ":"
		from := 0
		for {
			i := strings.Index(lower[from:], needle)
			if i < 0 {
				break
			}
			i += from
			// A key starts the line or follows a space, so "LocalIP:" is not found inside "xLocalIP:".
			if i == 0 || lower[i-1] == ' ' || lower[i-1] == '\t' {
				hits = append(hits, hit{k, i, i + len(needle)})
				break
			}
			from = i + 1
		}
	}
	// Order by position.
	for i := 1; i < len(hits); i++ {
		for j := i; j > 0 && hits[j].start < hits[j-1].start; j-- {
			hits[j], hits[j-1] = hits[j-1], hits[j]
		}
	}
	out := make(map[string]string, len(hits))
	for i, h := range hits {
		end := len(line)
		if i+1 < len(hits) {
			end = hits[i+1].start
		}
		out[h.key] = strings.TrimSpace(line[h.val:end])
	}
	return out
}

// asciiLower lower-cases ASCII letters only, so that every byte offset in the result is the
// same offset in s (strings.ToLower turns invalid UTF-8 into longer replacement runes).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
