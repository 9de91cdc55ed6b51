package upstream

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRenderAndInstance(t *testing.T) {
	for _, f := range []string{
		"no shared key found for '%Y' - '%Y'",
		"tried %d shared key%s for '%Y' - '%Y', but MAC mismatched",
		"traffic selectors %#R === %#R unacceptable",
		"unable to rekey, %N CHILD_SA with SPI %+B not found",
		"max number of retransmissions (%lu) reached after ",
		"100%% done",
	} {
		got := Render(f)
		if !Instance(f, got) || strings.Contains(got, "%") != (f == "100%% done") {
			t.Errorf("Render(%q) = %q: not an instance, or a conversion left in", f, got)
		}
	}
	if Instance("no shared key found for '%Y'", "no shared key found for moon") {
		t.Error("a line without the format's quotes passed as an instance")
	}
}

func TestLoad_RefusesRowsWithoutDisposition(t *testing.T) {
	dir := t.TempDir()
	good := "# vendor 1.0 (commit abc)\nsrc/a.c\t10\tf\tno shared key found for '%Y'\tpattern: no shared key found for\n" +
		"src/a.c\t12\tg\tnonce allocation failed\tno cause: local\n" +
		"src/a.c\t14\th\tpeer selected invalid traffic selectors\tunmapped: a selector refusal\tpeer selected invalid traffic selectors\n"
	if err := os.WriteFile(filepath.Join(dir, "v.tsv"), []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	invs, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c := invs[0].Count(); c != (Coverage{Sites: 3, Mapped: 1, NoCause: 1, Unmapped: 1}) || invs[0].Source != "vendor 1.0 (commit abc)" || invs[0].Vendor != "v" {
		t.Fatalf("got %+v, coverage %+v", invs[0], c)
	}
	for _, bad := range []string{
		"src/a.c\t10\tf\tno shared key found\t\n",
		"src/a.c\t10\tf\tno shared key found\tmaybe\n",
		"src/a.c\t10\tf\tno shared key found\tno cause: \n",
		"src/a.c\tten\tf\tno shared key found\tno cause: x\n",
		"src/a.c\t10\tf\n",
	} {
		p := filepath.Join(dir, "bad.tsv")
		if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "bad.tsv:1") {
			t.Errorf("Load(%q) = %v, want an error naming bad.tsv:1", bad, err)
		}
	}
}

// Any (UTF-8) format's rendering is an instance of it, and no row, however broken, panics the loader.
func FuzzRenderRow(f *testing.F) {
	f.Add("no shared key found for '%Y' - '%Y'", "src/a.c\t1\tf\tx\tno cause: y")
	f.Add("traffic selectors %#R === %#R unacceptable", "src/a.c\t1\tf\tx\tpattern: x\tx")
	f.Add("100%% %-08.3lu (%s) [%]", "a\tb\tc")
	f.Fuzz(func(t *testing.T, format, row string) {
		if got := Render(format); utf8.ValidString(format) && !Instance(format, got) {
			t.Fatalf("Render(%q) = %q is not an instance of it", format, got)
		}
		if s, err := parseRow(row); err == nil && s.Detail == "" {
			t.Fatalf("parseRow(%q) accepted a row without a disposition", row)
		}
	})
}
