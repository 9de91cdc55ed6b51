package logscan

import (
	"strings"
	"time"
)

// Line is what ParseLine reads from the front of a log line.
type Line struct {
	Time    time.Time // zero when the line carries no time ParseLine knows
	Host    string    // syslog host, when present
	Program string    // "charon", "pluto", "iked", ...; "charon" for charon's own file log
	Msg     string    // the text after the header
	Conn    string    // charon <conn|N> / pluto "conn": the connection name, when present
	SA      string    // charon's IKE SA unique number, pluto's state "#N", when present
}

// TimeContext says how to read times that carry no year or no zone.
type TimeContext struct {
	Loc  *time.Location // the source's zone for times without one; nil: UTC
	Year int            // the year for year-less times; 0: taken from Ref
	Ref  time.Time      // the file's modification time: year-less times later than Ref+1 day fall in the year before
}

// ParseLine reads the timestamp, host, program and message of a log line in any of the forms
// the product meets:
//
//	2026-11-27T04:18:39.102 15[IKE] <s2s|1> msg          charon file log (no zone)
//	2026-03-04T10:55:16.330Z host prog[pid]: msg         ISO syslog, RFC 5424 (<pri>1 ...)
//	Jun  8 00:59:20 host charon: 07[IKE] <conn|1> msg     BSD syslog (no year, no zone)
//	Jun  8 00:59:20 host pluto[123]: "conn" #4: msg       pluto via syslog
//	1<TAB>11/15/2017 10:34:02.176<TAB>Info<TAB>VPN IKE<TAB>msg   SonicWall log export
//
// ok is false when no timestamp was found; Msg is then the whole line.
func ParseLine(line string, tc TimeContext) (l Line, ok bool) {
	loc := tc.Loc
	if loc == nil {
		loc = time.UTC
	}
	s := strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(s, "<") { // syslog priority, maybe RFC 5424's version "1 "
		if i := strings.IndexByte(s, '>'); i > 0 && i <= 4 && allDigits(s[1:i]) {
			s = strings.TrimPrefix(s[i+1:], "1 ")
		}
	}
	var rest string
	switch {
	case len(s) >= 10 && isISODate(s):
		l.Time, rest, ok = parseISO(s, loc)
	case len(s) >= 15 && isMonth(s[:3]) && s[3] == ' ':
		l.Time, rest, ok = parseBSD(s, loc, tc)
	default:
		l.Time, rest, ok = parseSonicWall(s, loc)
		if ok {
			l.Program = "sonicwall"
			l.Msg = rest
			return l, true
		}
	}
	// Year 1 and such: digits that only look like a date. (A time two days past the epoch is in
	// 1970 or later in every zone; Year, the costlier question, is asked only before that.)
	if !ok || l.Time.Unix() < 2*86400 && l.Time.Year() < 1970 {
		return Line{Msg: s}, false
	}
	rest = strings.TrimLeft(rest, " ")
	if isCharonThread(rest) {
		l.Program = "charon"
	} else {
		l.Host, rest = cutWord(rest)
		prog, after, found := strings.Cut(rest, ": ")
		if found && !strings.ContainsAny(prog, " ") {
			if i := strings.IndexByte(prog, '['); i > 0 {
				prog = prog[:i]
			}
			l.Program, rest = prog, after
		}
	}
	l.Msg = rest
	l.Conn, l.SA = connOf(rest)
	return l, true
}

// connOf reads charon's "NN[GRP] <conn|N> " or pluto's "\"conn\" #N: " prefix.
func connOf(msg string) (conn, sa string) {
	if isCharonThread(msg) {
		_, msg, _ = strings.Cut(msg, "] ")
		if strings.HasPrefix(msg, "<") {
			if tag, _, ok := strings.Cut(msg[1:], ">"); ok {
				if c, n, ok := strings.Cut(tag, "|"); ok {
					return c, n
				}
				return "", tag
			}
		}
		return "", ""
	}
	if strings.HasPrefix(msg, "\"") {
		if c, after, ok := strings.Cut(msg[1:], "\""); ok {
			after = strings.TrimLeft(after, " ")
			if strings.HasPrefix(after, "#") {
				n, _, _ := strings.Cut(after, ":")
				return c, n
			}
			return c, ""
		}
	}
	return "", ""
}

// isCharonThread reports whether s starts with charon's "NN[GRP] ".
func isCharonThread(s string) bool {
	i := 0
	for i < len(s) && i < 3 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i >= len(s) || s[i] != '[' {
		return false
	}
	j := strings.IndexByte(s[i:], ']')
	return j > 1 && j <= 5
}

func isISODate(s string) bool {
	return allDigits(s[0:4]) && s[4] == '-' && allDigits(s[5:7]) && s[7] == '-' && allDigits(s[8:10])
}

// parseISO reads "2006-01-02T15:04:05[.frac][Z|±hh:mm]" (or a space instead of T).
func parseISO(s string, loc *time.Location) (time.Time, string, bool) {
	if len(s) < 19 || (s[10] != 'T' && s[10] != ' ') {
		return time.Time{}, s, false
	}
	end := 19
	for end < len(s) && (s[end] == '.' || s[end] == ',' || (s[end] >= '0' && s[end] <= '9')) {
		end++
	}
	zoneEnd := end
	if zoneEnd < len(s) && s[zoneEnd] == 'Z' {
		zoneEnd++
	} else if zoneEnd+6 <= len(s) && (s[zoneEnd] == '+' || s[zoneEnd] == '-') && s[zoneEnd+3] == ':' {
		zoneEnd += 6
	}
	if zoneEnd == end { // the common form, read without the time package's layout machinery
		if t, ok := isoLocal(s[:end], loc); ok {
			return t, s[end:], true
		}
	}
	stamp := strings.Replace(s[:zoneEnd], ",", ".", 1)
	stamp = stamp[:10] + "T" + stamp[11:]
	var t time.Time
	var err error
	if zoneEnd > end {
		t, err = time.Parse(time.RFC3339Nano, stamp)
	} else {
		t, err = time.ParseInLocation("2006-01-02T15:04:05.999999999", stamp, loc)
	}
	if err != nil {
		return time.Time{}, s, false
	}
	return t, s[zoneEnd:], true
}

// parseBSD reads "Jan _2 15:04:05[.frac]" and, if present, a year after it ("Jan _2 2006 15:04:05"
// is not a syslog form and is not read).
func parseBSD(s string, loc *time.Location, tc TimeContext) (time.Time, string, bool) {
	end := 15
	for end < len(s) && (s[end] == '.' || (s[end] >= '0' && s[end] <= '9')) {
		end++
	}
	month, day, hour, minute, sec, nsec, ok := bsdClock(s[:end])
	if !ok {
		t, err := time.ParseInLocation("Jan _2 15:04:05.999999999", s[:end], loc)
		if err != nil {
			return time.Time{}, s, false
		}
		month, day, hour, minute, sec, nsec = t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond()
	}
	year := tc.Year
	ref := tc.Ref
	if year == 0 {
		if ref.IsZero() {
			ref = time.Now()
		}
		year = ref.In(loc).Year()
	}
	t := time.Date(year, month, day, hour, minute, sec, nsec, loc)
	if tc.Year == 0 && t.After(ref.Add(24*time.Hour)) {
		t = t.AddDate(-1, 0, 0) // December lines in a file written in January
	}
	rest := strings.TrimPrefix(s[end:], ":") // pluto's own log: "Jun  8 00:59:20.123456: ..."
	return t, rest, true
}

// isoLocal reads "2006-01-02T15:04:05[.frac]" (T or a space, a period or a comma, isISODate
// already checked) as time.ParseInLocation with "2006-01-02T15:04:05.999999999" does, and the
// same values fail; ok is false for any other shape, which the caller leaves to the time package.
func isoLocal(s string, loc *time.Location) (time.Time, bool) {
	year, month, day := atoi2(s[0:2])*100+atoi2(s[2:4]), atoi2(s[5:7]), atoi2(s[8:10])
	hour, minute, sec, nsec, ok := clock(s[11:])
	if !ok || month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc), true
}

// bsdClock reads "Jan _2 15:04:05[.frac]" as time.Parse with "Jan _2 15:04:05.999999999" does
// (a missing year counts as a leap year, so Feb 29 passes); ok is false for any other shape.
func bsdClock(s string) (month time.Month, day, hour, minute, sec, nsec int, ok bool) {
	if len(s) < 15 || s[3] != ' ' || s[6] != ' ' || !allDigits(s[5:6]) {
		return 0, 0, 0, 0, 0, 0, false
	}
	switch {
	case s[4] == ' ':
		day = int(s[5] - '0')
	case allDigits(s[4:5]):
		day = atoi2(s[4:6])
	default:
		return 0, 0, 0, 0, 0, 0, false
	}
	month = time.Month(strings.Index(months, s[:3])/3 + 1)
	hour, minute, sec, nsec, ok = clock(s[7:])
	if !ok || day < 1 || day > daysIn(month, 0) {
		return 0, 0, 0, 0, 0, 0, false
	}
	return month, day, hour, minute, sec, nsec, true
}

// clock reads "15:04:05" and an optional fraction (a period or a comma and digits, the first
// nine counting) that must end s, with the time package's ranges.
func clock(s string) (hour, minute, sec, nsec int, ok bool) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' || !allDigits(s[0:2]) || !allDigits(s[3:5]) || !allDigits(s[6:8]) {
		return 0, 0, 0, 0, false
	}
	hour, minute, sec = atoi2(s[0:2]), atoi2(s[3:5]), atoi2(s[6:8])
	if hour >= 24 || minute >= 60 || sec >= 60 {
		return 0, 0, 0, 0, false
	}
	if frac := s[8:]; frac != "" {
		if frac[0] != '.' && frac[0] != ',' || !allDigits(frac[1:]) {
			return 0, 0, 0, 0, false
		}
		digits := frac[1:]
		for i := range 9 {
			nsec *= 10
			if i < len(digits) {
				nsec += int(digits[i] - '0')
			}
		}
	}
	return hour, minute, sec, nsec, true
}

// atoi2 reads two decimal digits.
func atoi2(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }

// daysIn is the number of days of month in year (proleptic Gregorian, as the time package counts).
func daysIn(m time.Month, year int) int {
	if m == time.February {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 31 - int(m-1)%7%2
}

// parseSonicWall reads "ID<TAB>MM/DD/YYYY HH:MM:SS[.mmm]<TAB>priority<TAB>category<TAB>message".
func parseSonicWall(s string, loc *time.Location) (time.Time, string, bool) {
	f := strings.SplitN(s, "\t", 5)
	if len(f) < 5 || !allDigits(f[0]) {
		return time.Time{}, s, false
	}
	t, err := time.ParseInLocation("01/02/2006 15:04:05.999999999", f[1], loc)
	if err != nil {
		return time.Time{}, s, false
	}
	msg, _, _ := strings.Cut(f[4], "\t") // then the source and destination columns
	return t, msg, true
}

var months = "JanFebMarAprMayJunJulAugSepOctNovDec"

func isMonth(s string) bool {
	for i := 0; i+3 <= len(months); i += 3 {
		if months[i:i+3] == s {
			return true
		}
	}
	return false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func cutWord(s string) (word, rest string) {
	w, r, _ := strings.Cut(s, " ")
	return w, strings.TrimLeft(r, " ")
}

// VersionOf guesses the IKE version a line speaks of from its wording: 1, 2, or 0. A wording
// of IKEv1 anywhere in the line wins over one of IKEv2.
func VersionOf(text string) int {
	v := 0
	if text == "" {
		return 0
	}
	pair := uint16(text[0]) << 8
	for i := 1; i < len(text); i++ {
		pair = pair>>8 | uint16(text[i])<<8 // the bytes at i-1 and i
		if versionPairs[pair>>6]&(1<<(pair&63)) == 0 {
			continue
		}
		for _, w := range versionByFirst[text[i-1]] {
			if strings.HasPrefix(text[i-1:], w.word) {
				if w.version == 1 {
					return 1
				}
				v = 2
			}
		}
	}
	return v
}

type versionWord struct {
	word    string
	version int
}

// versionWords are the wordings VersionOf reads.
var versionWords = []versionWord{
	{"IKEv1", 1}, {"_V1", 1}, {"Main Mode", 1}, {"Aggressive Mode", 1}, {"QUICK_MODE", 1}, {"Quick Mode", 1},
	{"STATE_MAIN", 1}, {"STATE_QUICK", 1}, {"ISAKMP SA", 1}, {"phase-1", 1}, {"Phase 1", 1},
	{"error notify", 1}, {"request message ID", 1},
	{"IKEv2", 2}, {"IKE_SA_INIT", 2}, {"IKE_AUTH", 2}, {"CREATE_CHILD_SA", 2}, {"STATE_PARENT", 2},
	{"with message ID", 2}, {"notify error", 2}, {"Child SA", 2}, {"IKE SA", 2},
}

// versionPairs is the set of the words' first two bytes (a bit per byte pair), so that one
// pass over a line stops only where a word can start; versionByFirst has the words by first byte.
var versionPairs, versionByFirst = func() (pairs [1 << 16 / 64]uint64, byFirst [256][]versionWord) {
	for _, w := range versionWords {
		pair := uint16(w.word[0]) | uint16(w.word[1])<<8
		pairs[pair>>6] |= 1 << (pair & 63)
		byFirst[w.word[0]] = append(byFirst[w.word[0]], w)
	}
	return pairs, byFirst
}()
