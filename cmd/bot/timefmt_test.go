package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// stamped matches a printed time with its date and zone (diag.FormatTime, FormatTimeMicro).
var stamped = regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})? UTC`)

// Ensure every time `bot pcap` prints as text carries a date and the zone.
func TestPcap_TimesCarryDateAndZone(t *testing.T) {
	capture := filepath.Join(pcapFixtures, "ikev2-peer_unreachable", "capture.pcap")
	code, out, _ := runBot(t, "pcap", "summary", capture)
	first := strings.SplitN(out, "\n", 2)[0]
	if code != 0 || !strings.Contains(first, "2026-11-27 04:19:08.480693 UTC to 2026-11-27 04:19:12.841603 UTC") {
		t.Errorf("summary: exit %d, first line %q", code, first)
	}
	code, out, _ = runBot(t, "pcap", "decode", capture)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 4 {
		t.Fatalf("decode: exit %d:\n%s", code, out)
	}
	for _, l := range lines {
		if !stamped.MatchString(l) {
			t.Errorf("decode line without date and zone: %q", l)
		}
	}
}

// Ensure `bot incidents list` and `show` print times with their date and zone.
func TestIncidents_TimesCarryDateAndZone(t *testing.T) {
	cfg, _ := incidentsFixture(t)
	code, out, errOut := runBot(t, "incidents", "list", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		if !stamped.MatchString(l) {
			t.Errorf("list row without date and zone: %q", l)
		}
	}
	code, out, errOut = runBot(t, "incidents", "show", "INC-1", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, field := range []string{"created:", "updated:", "diagnose edge-01", "resolved in Slack"} {
		seen := false
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, field) {
				seen = true
				if !stamped.MatchString(l) {
					t.Errorf("show line without date and zone: %q", l)
				}
			}
		}
		if !seen {
			t.Errorf("show prints no %q:\n%s", field, out)
		}
	}
}
