package diag_test

import (
	"encoding/json"
	"testing"

	"ipsecbot/diag"
)

// Ensure each constructor writes the form docs/design.md documents and ParseRef reads it back to
// the same reference.
func TestRef_RoundTrip(t *testing.T) {
	for _, tc := range []struct {
		ref  diag.Ref
		want string
	}{
		{diag.LineRef("logs/edge.log", 812), "logs/edge.log:812"},
		{diag.FrameRef("capture.pcap", 4), "capture.pcap#4"},
		{diag.ElementRef("stats.xml", "siteStatistics[1]/tunnelStats[1]/failureMessage"), "stats.xml:siteStatistics[1]/tunnelStats[1]/failureMessage"},
		{diag.MemberLineRef("/tmp/ts.tgz", "var/log/messages", 3), "/tmp/ts.tgz!var/log/messages:3"},
		{diag.LineRef("/tmp/ts.tgz!var/log/messages", 3), "/tmp/ts.tgz!var/log/messages:3"},
		{diag.LineRef("interop.txt", 12), "interop.txt:12"},
		{diag.ConfigFieldRef("dh_group"), "interop:dh_group"},
		{diag.FileRef("show/show-ip-route.txt"), "show/show-ip-route.txt"},
		{diag.ElementRef("api/firewall-config", "firewallRules/firewallRule[2]"), "api/firewall-config:firewallRules/firewallRule[2]"},
		{diag.FrameRef("/a:b/c.pcap", 1), "/a:b/c.pcap#1"},
		{diag.LineRef("/a#1/edge.log", 9), "/a#1/edge.log:9"},
	} {
		if got := tc.ref.String(); got != tc.want {
			t.Errorf("%+v: String %q, want %q", tc.ref, got, tc.want)
		}
		back, err := diag.ParseRef(tc.want)
		if err != nil || back != tc.ref {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", tc.want, back, err, tc.ref)
		}
		js, _ := json.Marshal(tc.ref)
		var dec diag.Ref
		if err := json.Unmarshal(js, &dec); err != nil || dec != tc.ref || string(js) != `"`+tc.want+`"` {
			t.Errorf("JSON %s -> %+v, %v", js, dec, err)
		}
	}
}

// Ensure what is no reference is refused with a clear error.
func TestParseRef_Refuses(t *testing.T) {
	for _, s := range []string{"", ":12", "#3", "interop:", ":element"} {
		if r, err := diag.ParseRef(s); err == nil {
			t.Errorf("ParseRef(%q) = %+v, want an error", s, r)
		}
	}
}

// Ensure numbers that would not write back the same (zero, leading zeros, signs) are not read
// as lines or frames.
func TestParseRef_NonCanonicalNumbers(t *testing.T) {
	for _, s := range []string{"a.log:0", "a.log:012", "a.log:+3", "c.pcap#0", "c.pcap#-1"} {
		r, err := diag.ParseRef(s)
		if err != nil || r.Kind == diag.RefLine || r.Kind == diag.RefFrame || r.String() != s {
			t.Errorf("ParseRef(%q) = %+v, %v", s, r, err)
		}
	}
}

// Ensure references into a report's directory become relative to it, a bundle's member is
// left alone, and references elsewhere are unchanged.
func TestRef_RelativeTo(t *testing.T) {
	dir := "/var/lib/ipsecbot/INC-1/"
	for _, tc := range []struct{ in, want string }{
		{"/var/lib/ipsecbot/INC-1/logs/edge.log:812", "logs/edge.log:812"},
		{"/var/lib/ipsecbot/INC-1/capture.pcap#4", "capture.pcap#4"},
		{"/var/lib/ipsecbot/INC-1/api/stats-end.xml:siteStatistics[1]/tunnelStats[1]/packetsIn", "api/stats-end.xml:siteStatistics[1]/tunnelStats[1]/packetsIn"},
		{"/var/lib/ipsecbot/INC-1/logs/ts.tgz!/var/lib/ipsecbot/INC-1/x:2", "logs/ts.tgz!/var/lib/ipsecbot/INC-1/x:2"},
		{"/elsewhere/edge.log:3", "/elsewhere/edge.log:3"},
		{"/var/lib/ipsecbot/INC-1/interop:x:5", "/var/lib/ipsecbot/INC-1/interop:x:5"}, // would read as a setting
		{"/var/lib/ipsecbot/INC-10/edge.log:3", "/var/lib/ipsecbot/INC-10/edge.log:3"},
		{"interop:dh_group", "interop:dh_group"},
		{"", ""},
	} {
		if got := diag.RelativeRef(tc.in, dir); got != tc.want {
			t.Errorf("RelativeRef(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzParseRef: whatever ParseRef accepts writes back the same string and reads back the same
// reference; nothing panics.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		"logs/edge.log:812", "capture.pcap#4", "stats.xml:siteStatistics[1]/tunnelStats[1]/failureMessage",
		"ts.tgz!var/log/messages:3", "interop:dh_group", "interop.txt:12", "show/ping.txt", "a!b#3",
		"a:b:c", "x#y:1", "a.log:012", "!", "a!", "!b:1", ":", "#", "a:#1", "p:99999999999999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := diag.ParseRef(s)
		if err != nil {
			return
		}
		if r.String() != s {
			t.Fatalf("ParseRef(%q) = %+v writes back %q", s, r, r.String())
		}
		again, err := diag.ParseRef(r.String())
		if err != nil || again != r {
			t.Fatalf("ParseRef(%q) = %+v, then %+v, %v", s, r, again, err)
		}
		rel := r.RelativeTo("/d")
		if _, err := diag.ParseRef(rel.String()); err != nil {
			t.Fatalf("RelativeTo(%q) = %q: %v", s, rel.String(), err)
		}
	})
}
