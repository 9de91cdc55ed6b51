package edge

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// LogLine is one line of `show log`.
//
// [UNVERIFIED] The ESG's log format is not public (docs/nsx-formats.md §1.6). We assume syslog
// lines "<timestamp> <host> <program>[pid]: <message>", with either an RFC 3339 timestamp or
// the BSD "Jan  2 15:04:05" form, and for the IKE daemon the charon message shape
// "NN[GRP] <conn|N> text" (§7.3). charon's own file-log form ("<timestamp> NN[GRP] text", no host
// or program) is accepted too.
type LogLine struct {
	Time    time.Time // UTC unless the line says otherwise; year 0 when the line has none
	HasYear bool
	Host    string
	Program string // "charon", "pluto", "kernel" ...
	PID     int
	Thread  int    // charon's thread number, -1 when absent
	Group   string // charon's log group: IKE, CFG, NET, ENC, CHD, KNL, ...
	Conn    string // "<conn|N>" prefix without brackets, when present
	Message string // the text after all the prefixes
}

var (
	logRFC3339 = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\s+`)
	logBSD     = regexp.MustCompile(`^([A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}(?:\.\d+)?)\s+`)
	logProgram = regexp.MustCompile(`^(\S+)\s+([A-Za-z0-9_./-]+)(?:\[(\d+)\])?:\s?`)
	logCharon  = regexp.MustCompile(`^(\d{2})\[([A-Z]{3})\]\s?(?:<([^>]*)>\s?)?`)
)

// ParseLog reads one `show log` line.
func ParseLog(line string) (LogLine, error) {
	const cmd = CmdLog
	s := strings.TrimRight(cleanOutput(line), "\n")
	ll := LogLine{Thread: -1}
	switch {
	case logRFC3339.MatchString(s):
		m := logRFC3339.FindStringSubmatch(s)
		t, err := parseRFC3339ish(m[1])
		if err != nil {
			return ll, formatError(cmd, 0, "timestamp %q", m[1])
		}
		ll.Time, ll.HasYear = t, true
		s = s[len(m[0]):]
	case logBSD.MatchString(s):
		m := logBSD.FindStringSubmatch(s)
		t, err := time.Parse("Jan _2 15:04:05", strings.SplitN(m[1], ".", 2)[0])
		if err != nil {
			return ll, formatError(cmd, 0, "timestamp %q", m[1])
		}
		if _, frac, ok := strings.Cut(m[1], "."); ok {
			ns, _ := strconv.Atoi((frac + "000000000")[:9])
			t = t.Add(time.Duration(ns))
		}
		ll.Time = t
		s = s[len(m[0]):]
	default:
		return ll, formatError(cmd, 0, "no timestamp at the start of %q", truncate(s, 60))
	}
	if !logCharon.MatchString(s) {
		if m := logProgram.FindStringSubmatch(s); m != nil {
			ll.Host, ll.Program = m[1], m[2]
			ll.PID, _ = strconv.Atoi(m[3])
			s = s[len(m[0]):]
		}
	}
	if m := logCharon.FindStringSubmatch(s); m != nil {
		ll.Thread, _ = strconv.Atoi(m[1])
		ll.Group, ll.Conn = m[2], m[3]
		if ll.Program == "" {
			ll.Program = "charon"
		}
		s = s[len(m[0]):]
	}
	ll.Message = s
	return ll, nil
}

// ParseLogText reads every line of a `show log` output; lines that do not parse (continuations,
// banners) are counted in bad and skipped.
func ParseLogText(out string) (parsed []LogLine, bad int) {
	for _, l := range lines(out) {
		if strings.TrimSpace(l) == "" {
			continue
		}
		ll, err := ParseLog(l)
		if err != nil {
			bad++
			continue
		}
		parsed = append(parsed, ll)
	}
	return parsed, bad
}

func parseRFC3339ish(s string) (time.Time, error) {
	s = strings.Replace(s, " ", "T", 1)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fieldError("timestamp")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
