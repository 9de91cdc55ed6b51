package lab

import (
	"io/fs"
	"strings"
	"testing"
)

// fixtureFiles returns the contents of every fixture file with the given base name.
func fixtureFiles(f interface{ Add(...any) }, name string, cut func(string) string) {
	fs.WalkDir(fixtures, "testdata/fixtures", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, "/"+name) {
			b, _ := fixtures.ReadFile(path)
			f.Add(cut(string(b)))
		}
		return nil
	})
}

func FuzzParseSwanctlConf(f *testing.F) {
	fixtureFiles(f, "swanctl.conf", func(s string) string { return s })
	f.Fuzz(func(t *testing.T, text string) {
		c, err := parseSwanctlConf(text)
		if err != nil {
			return
		}
		out := listConns(c) // whatever was parsed renders
		if !strings.HasPrefix(out, c.Name+": IKEv") {
			t.Fatalf("list-conns starts %q", out)
		}
	})
}

func FuzzToSyslog(f *testing.F) {
	fixtureFiles(f, "edgeA-charon.log", func(s string) string { return s[:min(len(s), 4000)] })
	f.Add("2026-11-27T04:18:38.915 00[DMN] x\nnot a line\n")
	f.Fuzz(func(t *testing.T, log string) {
		out, err := toSyslog(log, "edge-01-0")
		if err != nil {
			return
		}
		for line := range strings.Lines(out) {
			if !syslogLine.MatchString(line) {
				t.Fatalf("not syslog: %q", line)
			}
		}
	})
}

func FuzzMirrorListSAs(f *testing.F) {
	fixtureFiles(f, "swanctl-list-sas.txt", func(s string) string { return sasSection(s, "edgeA") })
	f.Fuzz(func(t *testing.T, text string) {
		mirrorListSAs(text) // must not panic on any text
	})
}

// Ensure mirroring is its own inverse on the fixtures' SA listings.
func TestMirrorListSAs_Involution(t *testing.T) {
	var samples []string
	fixtureFiles(addFunc(func(v ...any) { samples = append(samples, v[0].(string)) }), "swanctl-list-sas.txt",
		func(s string) string { return sasSection(s, "edgeA") })
	for _, s := range samples {
		if got := mirrorListSAs(mirrorListSAs(s)); got != s {
			t.Errorf("mirror twice:\n%s\nwant:\n%s", got, s)
		}
	}
}

type addFunc func(...any)

func (a addFunc) Add(v ...any) { a(v...) }

func FuzzRewriteText(f *testing.F) {
	fixtureFiles(f, "peerB-charon.log", func(s string) string { return s[:min(len(s), 2000)] })
	f.Add("192.0.2.1...192.0.2.2 x192.0.2.1 192.0.2.10")
	f.Fuzz(func(t *testing.T, s string) {
		out := rewriteText(s)
		if !strings.Contains(s, "192.0.2.") && out != s {
			t.Fatalf("changed text without a fixture address: %q -> %q", s, out)
		}
	})
}
