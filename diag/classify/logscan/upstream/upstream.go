// Package upstream reads the inventories of upstream failure log sites
// (diag/classify/logscan/testdata/upstream/*.tsv, listed by scripts/upstream-sites.sh): every
// log call on a failure path of an open-source IKE daemon, with what the scanner makes of it.
// The tests use it to prove each claimed mapping and to count coverage per vendor.
package upstream

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Disposition prefixes of the inventory's fifth column.
const (
	prefixPattern  = "pattern: "  // followed by the ERE of the pattern that reads the line
	prefixNoCause  = "no cause: " // followed by why the line names no cause
	prefixUnmapped = "unmapped: " // followed by why the line may deserve a pattern
)

// Kind is what an inventory row says of a site.
type Kind int

const (
	Mapped   Kind = iota // a pattern reads the line
	NoCause              // read and deliberately left without a cause
	Unmapped             // a failure no pattern reads yet
)

// Site is one log call in an upstream source file.
type Site struct {
	File     string
	Line     int
	Function string
	Format   string // the format string as logged
	Kind     Kind
	Detail   string // the pattern's ERE (Mapped) or the reason (NoCause, Unmapped)
	Sample   string // a rendered line given by hand; empty: Render(Format)
}

// Where names the site for messages: file:line function.
func (s Site) Where() string { return fmt.Sprintf("%s:%d %s", s.File, s.Line, s.Function) }

// Inventory is one vendor's file.
type Inventory struct {
	Vendor string // the file's base name: strongswan, libreswan
	Source string // the first header line: the tree and tag walked
	Sites  []Site
}

// Load reads one inventory. A row without a disposition, or with an unknown one, is an error
// naming its line.
func Load(path string) (Inventory, error) {
	inv := Inventory{Vendor: strings.TrimSuffix(filepath.Base(path), ".tsv")}
	f, err := os.Open(path)
	if err != nil {
		return inv, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if strings.HasPrefix(text, "#") {
			if inv.Source == "" {
				inv.Source = strings.TrimSpace(strings.TrimPrefix(text, "#"))
			}
			continue
		}
		if text == "" {
			continue
		}
		s, err := parseRow(text)
		if err != nil {
			return inv, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		inv.Sites = append(inv.Sites, s)
	}
	return inv, sc.Err()
}

func parseRow(text string) (Site, error) {
	c := strings.Split(text, "\t")
	if len(c) < 5 || len(c) > 6 {
		return Site{}, fmt.Errorf("want 5 or 6 tab-separated columns, got %d", len(c))
	}
	line, err := strconv.Atoi(c[1])
	if err != nil {
		return Site{}, fmt.Errorf("line %q is not a number", c[1])
	}
	s := Site{File: c[0], Line: line, Function: c[2], Format: c[3]}
	if len(c) == 6 {
		s.Sample = c[5]
	}
	d := c[4]
	switch {
	case strings.HasPrefix(d, prefixPattern):
		s.Kind, s.Detail = Mapped, strings.TrimPrefix(d, prefixPattern)
	case strings.HasPrefix(d, prefixNoCause):
		s.Kind, s.Detail = NoCause, strings.TrimPrefix(d, prefixNoCause)
	case strings.HasPrefix(d, prefixUnmapped):
		s.Kind, s.Detail = Unmapped, strings.TrimPrefix(d, prefixUnmapped)
	default:
		return s, fmt.Errorf("%s %q: no disposition (want %q, %q or %q)", s.Function, s.Format, prefixPattern, prefixNoCause, prefixUnmapped)
	}
	if strings.TrimSpace(s.Detail) == "" {
		return s, fmt.Errorf("%s %q: disposition %q says nothing", s.Function, s.Format, d)
	}
	return s, nil
}

// LoadDir reads every inventory in dir, ordered by vendor.
func LoadDir(dir string) ([]Inventory, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.tsv"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no inventory (*.tsv) in %s", dir)
	}
	sort.Strings(paths)
	var out []Inventory
	for _, p := range paths {
		inv, err := Load(p)
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, nil
}

// Coverage counts an inventory's sites by disposition.
type Coverage struct {
	Sites, Mapped, NoCause, Unmapped int
}

// Count is the inventory's coverage.
func (inv Inventory) Count() Coverage {
	c := Coverage{Sites: len(inv.Sites)}
	for _, s := range inv.Sites {
		switch s.Kind {
		case Mapped:
			c.Mapped++
		case NoCause:
			c.NoCause++
		case Unmapped:
			c.Unmapped++
		}
	}
	return c
}

// conversion is one printf conversion of strongSwan's (%Y identity, %H host, %N enum name,
// %R traffic selector, %P proposals, %B chunk, %T time) or libreswan's (C printf) formats.
var conversion = regexp.MustCompile(`%[-#+ 0-9.*]*(?:ll|l|z|h|j)?([a-zA-Z%])`)

// values are plausible renderings of each conversion; %s renders empty, since both daemons
// use it for optional words as often as for names.
var values = map[string]string{
	"Y": "moon.example.org", "H": "192.0.2.1", "N": "AES_CBC", "R": "10.1.0.0/24",
	"P": "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048", "B": "c1:a2:b3:c4",
	"T": "Dec 01 00:00:00 2026", "s": "", "d": "3", "u": "3", "i": "3", "x": "c1a2b3c4",
	"X": "C1A2B3C4", "c": "x", "p": "0x1", "%": "%",
}

// Render turns a format string into a plausible log line.
func Render(format string) string {
	return conversion.ReplaceAllStringFunc(format, func(m string) string {
		if v, ok := values[m[len(m)-1:]]; ok {
			return v
		}
		return "x"
	})
}

// Instance reports whether line contains an instance of format: the format's text verbatim,
// each conversion standing for any text. A line may carry more than the format: libreswan
// builds lines piecewise, and both daemons prefix context. A format that is not UTF-8 has no
// instance.
func Instance(format, line string) bool {
	var b strings.Builder
	last := 0
	for _, m := range conversion.FindAllStringIndex(format, -1) {
		b.WriteString(regexp.QuoteMeta(format[last:m[0]]))
		if format[m[1]-1] == '%' {
			b.WriteString("%")
		} else {
			b.WriteString(".*")
		}
		last = m[1]
	}
	b.WriteString(regexp.QuoteMeta(format[last:]))
	re, err := regexp.Compile(b.String())
	return err == nil && re.MatchString(line) // err: the format is not UTF-8, so no log line holds it

}

// SampleLine is the line the site logs: the sample given by hand, or the rendered format.
func (s Site) SampleLine() string {
	if s.Sample != "" {
		return s.Sample
	}
	return Render(s.Format)
}
