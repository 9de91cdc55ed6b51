package logscan

import (
	"bytes"
	"regexp"
	"regexp/syntax"
)

// Format is the dialect of a log: which daemon or product wrote it. A file is matched only
// against the patterns of the formats found in its first bytes (plus those any format may
// carry: the NSX messages and the RFC notify names), so a wording of one product is never read
// into another's log. A file whose dialect is not recognised is matched against every pattern.
type Format string

const (
	FormatAny        Format = ""           // a pattern any log may carry; for a file: not recognised
	FormatCharon     Format = "charon"     // strongSwan's IKE daemon
	FormatPluto      Format = "pluto"      // libreswan's (and Openswan's) IKE daemon
	FormatSonicWall  Format = "sonicwall"  // SonicOS log export
	FormatWatchGuard Format = "watchguard" // Fireware iked
	FormatASA        Format = "asa"        // Cisco ASA / FTD syslog
	FormatPANOS      Format = "panos"      // Palo Alto PAN-OS system log
	FormatFortiOS    Format = "fortios"    // FortiGate event log
	FormatJunos      Format = "junos"      // Juniper SRX kmd/iked syslog (KMD_* messages)
)

// Formats are the recognised dialects, in the order --print-patterns --format lists them.
var Formats = []Format{FormatCharon, FormatPluto, FormatSonicWall, FormatWatchGuard, FormatASA, FormatPANOS, FormatFortiOS, FormatJunos}

// DetectSize is how much of a file's start DetectFormats reads.
const DetectSize = 256 << 10

// signs recognise a dialect's lines by their shape, not by what they say.
var signs = []struct {
	format Format
	re     *regexp.Regexp
}{
	{FormatCharon, regexp.MustCompile(`(^|[ :T])[0-9]{2}\[[A-Z]{2,4}\] |charon(-systemd)?(\[[0-9]+\])?: `)},
	{FormatPluto, regexp.MustCompile(`pluto(\[[0-9]+\])?: |^([0-9]{3} )?"[^"]+"(\[[0-9]+\])?( [^#]*)? #[0-9]+: `)},
	{FormatSonicWall, regexp.MustCompile(`\tVPN IKE\t|\tVPN\t`)},
	{FormatWatchGuard, regexp.MustCompile(`iked(\[[0-9]+\])?: `)},
	{FormatASA, regexp.MustCompile(`%(ASA|FTD)-[0-7]-[0-9]{6}`)},
	{FormatPANOS, regexp.MustCompile(`IKE phase[- ][12] negotiation is|ikemgr`)},
	{FormatFortiOS, regexp.MustCompile(`logid="?[0-9]{10}"? .*subtype="?vpn`)},
	{FormatJunos, regexp.MustCompile(`kmd(\[[0-9]+\])?: |KMD_[A-Z_]+: `)},
}

// signLiterals holds, per sign, literals one of which every line it matches contains (nil:
// none known), so that the regular expression runs only on the lines that hold one.
var signLiterals = func() [][][]byte {
	out := make([][][]byte, len(signs))
	for i, s := range signs {
		re, err := syntax.Parse(s.re.String(), syntax.Perl)
		if err != nil {
			panic("logscan: " + err.Error())
		}
		out[i] = anyLiteral(re.Simplify())
	}
	return out
}()

// DetectFormats returns the dialects whose lines appear in the start of a file; none when no
// line is recognised.
func DetectFormats(start []byte) []Format {
	var out []Format
	for i, s := range signs {
		lits := signLiterals[i]
		if lits != nil && !containsAny(start, lits) {
			continue
		}
		for line := range bytes.Lines(start) {
			if (lits == nil || containsAny(line, lits)) && s.re.Match(line) {
				out = append(out, s.format)
				break
			}
		}
	}
	return out
}

func containsAny(b []byte, literals [][]byte) bool {
	for _, l := range literals {
		if bytes.Contains(b, l) {
			return true
		}
	}
	return false
}

// anyLiteral returns literals one of which every match of re contains, or nil when it cannot
// tell: a literal, the best literal of a concatenation, one literal from each branch of an
// alternation.
func anyLiteral(re *syntax.Regexp) [][]byte {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil
		}
		return [][]byte{[]byte(string(re.Rune))}
	case syntax.OpCapture, syntax.OpPlus:
		return anyLiteral(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return anyLiteral(re.Sub[0])
		}
	case syntax.OpConcat:
		var best [][]byte
		for _, sub := range re.Sub {
			if l := anyLiteral(sub); l != nil && (best == nil || shortest(l) > shortest(best)) {
				best = l
			}
		}
		return best
	case syntax.OpAlternate:
		var all [][]byte
		for _, sub := range re.Sub {
			l := anyLiteral(sub)
			if l == nil {
				return nil
			}
			all = append(all, l...)
		}
		return all
	}
	return nil
}

func shortest(literals [][]byte) int {
	n := len(literals[0])
	for _, l := range literals[1:] {
		n = min(n, len(l))
	}
	return n
}

// allowedPatterns says, per pattern, whether a file of the given dialects is matched against it.
func allowedPatterns(formats []Format) []bool {
	allowed := make([]bool, len(table))
	for i, p := range table {
		allowed[i] = len(formats) == 0 || p.Format == FormatAny
		for _, f := range formats {
			allowed[i] = allowed[i] || p.Format == f
		}
	}
	return allowed
}

// PatternsFor returns the EREs a file of the given dialect is matched against, in table order:
// what `bot analyze --print-patterns --format F` prints for grep.
func PatternsFor(f Format) []string {
	var out []string
	for i, ok := range allowedPatterns([]Format{f}) {
		if ok {
			out = append(out, table[i].ERE)
		}
	}
	return out
}
