package main

import (
	"os"
	"strings"
	"testing"
)

func TestHelp_ListsEveryCommand(t *testing.T) {
	code, out, errOut := runBot(t, "help")
	if code != 0 || errOut != "" {
		t.Fatalf("help: exit %d, stderr %q", code, errOut)
	}
	for _, c := range commands {
		if !strings.Contains(out, "  "+c.name+" ") {
			t.Errorf("help does not list %q:\n%s", c.name, out)
		}
	}
}

func TestHelp_CommandShowsItsFlags(t *testing.T) {
	for _, args := range [][]string{{"help", "diagnose"}, {"diagnose", "--help"}} {
		code, out, errOut := runBot(t, args...)
		if code != 0 || errOut != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
		}
		for _, want := range []string{"usage: bot diagnose EDGE", "-capture-seconds", "-config", "-json"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: output lacks %q:\n%s", args, want, out)
			}
		}
	}
}

func TestRun_UsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, "usage: bot COMMAND"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"version", "extra"}, "version takes no arguments"},
		{[]string{"diagnose", "edge-01", "--config", "x.yaml", "--deadline", "-1s"}, "--deadline must not be negative"},
	}
	for _, c := range cases {
		code, _, errOut := runBot(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runBot(t, "version")
	if code != 0 || !strings.HasPrefix(out, "bot ") || !strings.Contains(out, "go1.") {
		t.Fatalf("version: exit %d, output %q", code, out)
	}
}

func TestHelp_EveryCommandAnswersHelpFlag(t *testing.T) {
	for _, c := range commands {
		code, out, errOut := runBot(t, c.name, "--help")
		if c.name == "help" || c.name == "version" {
			continue
		}
		if code != 0 || errOut != "" || !strings.Contains(out, "usage: bot "+c.name) {
			t.Errorf("bot %s --help: exit %d, stdout %q, stderr %q", c.name, code, out, errOut)
		}
	}
}

func TestAnalyze_PrintPatternsTakesNoOtherFlags(t *testing.T) {
	code, out, errOut := runBot(t, "analyze", "--print-patterns", "--json")
	if code != 2 || out != "" || !strings.Contains(errOut, "--print-patterns takes no other flags but --format") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestAnalyze_RefusesWhatCannotBeEvidence(t *testing.T) {
	dir := t.TempDir()
	binary := dir + "/core"
	if err := os.WriteFile(binary, []byte("ELF\x00\x01\x02 received AUTHENTICATION_FAILED notify error\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badXML, wrongRoot := dir+"/bad.xml", dir+"/config.xml"
	if err := os.WriteFile(badXML, []byte("<ipsecStatusAndStats><siteStatistics>"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wrongRoot, []byte("<ipsec><enabled>true</enabled></ipsec>"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--log", dir}, "is a directory"},
		{[]string{"--pcap", dir}, "is a directory"},
		{[]string{"--log", binary}, "does not look like a text log"},
		{[]string{"--show", binary}, "does not look like a text log"},
		{[]string{"--pcap", binary}, "is not a pcap or pcapng capture"},
		{[]string{"--stats", binary}, "is not an XML document"},
		{[]string{"--pcap", os.DevNull}, "is empty"},
		{[]string{"--stats", badXML}, "XML syntax error"},
		{[]string{"--stats", wrongRoot}, "root element is <ipsec>"},
	}
	for _, c := range cases {
		code, out, errOut := runBot(t, append([]string{"analyze", "--json"}, c.args...)...)
		if code != 1 || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("analyze %v: exit %d, stdout %q, stderr %q; want exit 1 and %q", c.args, code, out, errOut, c.want)
		}
	}
}
