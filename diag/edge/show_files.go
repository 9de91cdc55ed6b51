package edge

import (
	"regexp"
	"strconv"
	"strings"
)

// File is one entry of `debug show files`.
type File struct {
	Name string
	Size int64
}

// fileLine matches "-rw------- 1 708 Mar 16 05:45 tcpdump_vNic_0.0" (docs/nsx-formats.md §1.7) and
// the same with owner and group columns, as a full `ls -l` prints them.
var fileLine = regexp.MustCompile(`^[-dlrwxsStT]{10}\.?\s+\d+\s+(?:\S+\s+\S+\s+)?(\d+)\s+[A-Z][a-z]{2}\s+\d+\s+[\d:]+\s+(\S+)$`)

// ParseFiles reads `debug show files`; an empty listing ("total 0") is no files.
func ParseFiles(out string) ([]File, error) {
	const cmd = "debug show files"
	var fs []File
	seenTotal := false
	for n, l := range lines(out) {
		t := strings.TrimSpace(l)
		switch {
		case t == "":
		case strings.HasPrefix(t, "total "):
			seenTotal = true
		default:
			m := fileLine.FindStringSubmatch(t)
			if m == nil {
				return nil, unreadable(cmd, t, n+1, "unreadable file line %q", truncate(t, 80))
			}
			size, _ := strconv.ParseInt(m[1], 10, 64)
			fs = append(fs, File{Name: m[2], Size: size})
		}
	}
	if !seenTotal && len(fs) == 0 && strings.TrimSpace(cleanOutput(out)) != "" {
		return nil, formatError(cmd, 0, "no listing")
	}
	return fs, nil
}

var dfSize = regexp.MustCompile(`^(\d+(?:\.\d+)?)([KMGT]?)$`)

// ParseStorage reads `show system storage` and returns the bytes available on "/" (or on the
// first filesystem if "/" is not listed).
// [UNVERIFIED] We assume a df table: "Filesystem 1K-blocks Used Available Use% Mounted on", or
// df -h with K/M/G suffixes.
func ParseStorage(out string) (int64, error) {
	const cmd = "show system storage"
	ls := lines(out)
	human := true
	found, best := false, int64(0)
	for n, l := range ls {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if f[0] == "Filesystem" {
			human = !strings.Contains(l, "1K-blocks")
			continue
		}
		if len(f) < 6 {
			continue
		}
		m := dfSize.FindStringSubmatch(f[3])
		if m == nil {
			return 0, formatError(cmd, n+1, "available column %q", f[3])
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		unit := map[string]float64{"": 1024, "K": 1024, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[m[2]]
		if human && m[2] == "" {
			unit = 1
		}
		if v*unit > 1<<62 {
			return 0, formatError(cmd, n+1, "available column %q out of range", f[3])
		}
		bytes := int64(v * unit)
		if f[5] == "/" || !found {
			best, found = bytes, true
		}
	}
	if !found {
		return 0, unreadable(cmd, out, 0, "no filesystem listed")
	}
	return best, nil
}

var pingSummary = regexp.MustCompile(`(\d+) packets transmitted, (\d+) (?:packets )?received`)

// ParsePing reads a ping's summary line ("5 packets transmitted, 4 received, 20% packet loss").
func ParsePing(out string) (sent, received int, err error) {
	m := pingSummary.FindStringSubmatch(cleanOutput(out))
	if m == nil {
		return 0, 0, unreadable("ping", out, 0, "no summary line")
	}
	sent, _ = strconv.Atoi(m[1])
	received, _ = strconv.Atoi(m[2])
	return sent, received, nil
}
