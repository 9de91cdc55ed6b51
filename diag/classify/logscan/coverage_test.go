package logscan

import (
	"path/filepath"
	"testing"

	"ipsecbot/diag/classify/logscan/upstream"
)

// The inventories of upstream failure log sites (testdata/upstream, listed by
// scripts/upstream-sites.sh) claim, per site, the pattern that reads it, or why none does.
// A claim holds only if the scanner, given the line the site logs, reports that very pattern;
// a site said to have no pattern must not be read by one either.
func TestUpstreamSites_Dispositions(t *testing.T) {
	invs, err := upstream.LoadDir(filepath.Join("testdata", "upstream"))
	if err != nil {
		t.Fatal(err)
	}
	patterns := Table()
	byERE := map[string]int{}
	for i, p := range patterns {
		byERE[p.ERE] = i
	}
	for _, inv := range invs {
		for _, s := range inv.Sites {
			line := s.SampleLine()
			if s.Sample != "" && !upstream.Instance(s.Format, s.Sample) {
				t.Errorf("%s %s: sample %q is not an instance of the format %q", inv.Vendor, s.Where(), s.Sample, s.Format)
				continue
			}
			got := MatchString(line)
			switch s.Kind {
			case upstream.Mapped:
				want, ok := byERE[s.Detail]
				switch {
				case !ok:
					t.Errorf("%s %s: no pattern has the ERE %q", inv.Vendor, s.Where(), s.Detail)
				case got != want:
					t.Errorf("%s %s: %q is read by %s, not by the claimed %q", inv.Vendor, s.Where(), line, describe(patterns, got), s.Detail)
				}
			default:
				if got >= 0 {
					t.Errorf("%s %s: %q is read by %q, yet the inventory says %q", inv.Vendor, s.Where(), line, patterns[got].ERE, s.Detail)
				}
			}
		}
		c := inv.Count()
		t.Logf("%s (%s): %d failure log sites: %d mapped to a pattern, %d no cause, %d unmapped",
			inv.Vendor, inv.Source, c.Sites, c.Mapped, c.NoCause, c.Unmapped)
	}
}

func describe(patterns []Pattern, i int) string {
	if i < 0 {
		return "no pattern"
	}
	return "pattern " + patterns[i].ERE
}
