package classify

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag"
)

// rewrite copies a fixture log into dir through fn, line by line (line numbers are kept).
func rewrite(t *testing.T, src, dir string, fn func(string) string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out.WriteString(fn(sc.Text()))
		out.WriteByte('\n')
	}
	path := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// renamer changes every name and address the lab used, so no rule can lean on them.
var renamer = strings.NewReplacer(
	"s2s-net", "corp-lan-to-dc", "s2s", "branch-vpn-7",
	"192.0.2.1", "203.0.113.77", "192.0.2.2", "198.51.100.9",
	"10.1.1.", "172.16.40.", "10.2.2.", "172.31.8.", "10.2.3.", "172.31.9.",
	"edgeA", "nsx-edge-east", "peerB", "fw-west", "peerb.example.net", "gw.branch.example",
	"Lab CA", "Corp Root CA", "lab.example", "corp.example",
	// the alt set's
	"dc-remote-net", "hq-lan-to-branch", "dc-remote", "tunnel-kk-3",
	"100.64.20.5", "198.18.4.20", "100.64.90.7", "198.18.77.3",
	"192.168.50.", "10.77.5.", "192.168.60.", "10.88.6.", "192.168.61.", "10.88.7.",
	"edge-gw.example.org", "vpn-a.corp.example", "remote-gw-2.example.net", "vpn-c.partner.example",
	"remote-gw.example.net", "vpn-b.partner.example", "Example Org Root", "Corp Trust Root", "Remote KK Issuing CA", "Partner Issuing CA",
)

// Ensure the label holds when names and addresses change and when the two logs swap roles
// (the peer's log given as the Edge's and first).
func TestClassify_RenamedAndSwapped(t *testing.T) {
	for dir, sc := range loadScenarios(t) {
		t.Run(sc.Name, func(t *testing.T) {
			tmp := t.TempDir()
			edge := rewrite(t, filepath.Join(dir, "edgeA-charon.log"), tmp, renamer.Replace)
			peer := rewrite(t, filepath.Join(dir, "peerB-charon.log"), tmp, renamer.Replace)
			in := Input{
				Logs:     []LogSource{{Path: peer, Site: "edge"}, {Path: edge, Site: "peer"}},
				Captures: []CaptureSource{{Path: filepath.Join(dir, "capture.pcap")}},
			}
			v, err := Classify(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			if !sc.accepts(v.Cause) {
				t.Fatalf("cause %s, want %s (%s)", v.Cause, sc.ExpectedLabel, v.Summary)
			}
			checkRefs(t, v.Evidence)
		})
	}
}

// syslogForm turns a charon file-log line into the syslog form a real Edge or peer forwards,
// with the time written in loc: "Nov 27 13:18:39 host charon: 15[IKE] <s2s|1> ...".
func syslogForm(host string, loc *time.Location) func(string) string {
	return func(line string) string {
		stamp, rest, ok := strings.Cut(line, " ")
		ts, err := time.Parse("2006-01-02T15:04:05.000", stamp)
		if !ok || err != nil {
			return line
		}
		return ts.In(loc).Format(time.Stamp) + " " + host + " charon: " + rest
	}
}

// Ensure syslog-form logs (no year, local time of another zone) classify the same, and their
// evidence times land on the same timeline as the file logs' UTC times.
func TestClassify_SyslogFormInAnotherZone(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skip("no zoneinfo")
	}
	for dir, sc := range loadScenarios(t, "testdata/fixtures") { // the default set's log time format
		if !strings.Contains(sc.Name, "psk_mismatch") && !strings.Contains(sc.Name, "flapping") && !strings.Contains(sc.Name, "ts_") && !strings.Contains(sc.Name, "traffic_selector") {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			tmp := t.TempDir()
			edge := rewrite(t, filepath.Join(dir, "edgeA-charon.log"), tmp, syslogForm("edge-01", tokyo))
			peer := rewrite(t, filepath.Join(dir, "peerB-charon.log"), tmp, syslogForm("branch-fw", time.UTC))
			v, err := Classify(t.Context(), Input{Logs: []LogSource{
				{Path: edge, Site: "edge", Loc: tokyo, Year: 2026},
				{Path: peer, Site: "peer", Year: 2026},
			}})
			if err != nil {
				t.Fatal(err)
			}
			if !sc.accepts(v.Cause) {
				t.Fatalf("cause %s, want %s", v.Cause, sc.ExpectedLabel)
			}
			for _, e := range v.Evidence {
				if e.Time.Year() != 2026 || e.Time.Month() != time.November || e.Time.UTC().Hour() != 4 {
					t.Errorf("evidence %s at %v, want 2026-11-27 04:xx UTC", e.Ref, e.Time.UTC())
				}
			}
		})
	}
}

// Ensure only the problem window counts: the flapping tunnel, cut off before its first drop,
// shows its SAs up and nothing wrong (and, from logs, nothing of its traffic); the authentication failure, cut off before it happened, is unknown and says
// why.
func TestClassify_Window(t *testing.T) {
	logs := func(name string) []LogSource {
		dir := filepath.Join("testdata/fixtures", name)
		return []LogSource{{Path: filepath.Join(dir, "edgeA-charon.log"), Site: "edge"}, {Path: filepath.Join(dir, "peerB-charon.log"), Site: "peer"}}
	}
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	v, _ := Classify(t.Context(), Input{Logs: logs("ikev2-flapping"), Until: at("2026-11-27T04:19:58Z")})
	if v.Cause != diag.CauseUnknown || !strings.Contains(v.Summary, saysSAsUpNotTraffic) {
		t.Errorf("flapping before the first drop: %s (%s)", v.Cause, v.Summary)
	}
	v, _ = Classify(t.Context(), Input{Logs: logs("ikev2-flapping"), Since: at("2026-11-27T04:20:00Z")})
	if v.Cause != diag.CauseDPDPeerDead {
		t.Errorf("flapping after the first drop: %s", v.Cause)
	}
	v, _ = Classify(t.Context(), Input{Logs: logs("ikev2-psk_mismatch"), Until: at("2026-11-27T04:18:00Z")})
	if v.Cause != diag.CauseUnknown || !strings.Contains(v.Summary, "no packet capture") {
		t.Errorf("psk mismatch before it happened: %s (%s)", v.Cause, v.Summary)
	}
	if v.Scanned.MatchedLines == 0 {
		t.Error("matched_lines counts every matching line, window or not")
	}
}

// Ensure a flapping tunnel is reported with its cycles and the cause of its drops.
func TestClassify_FlapCycles(t *testing.T) {
	for _, name := range []string{"ikev1-flapping", "ikev2-flapping"} {
		dir := filepath.Join("testdata/fixtures", name)
		v, _ := Classify(t.Context(), Input{Logs: []LogSource{{Path: filepath.Join(dir, "edgeA-charon.log"), Site: "edge"}}})
		if v.Cause != diag.CauseDPDPeerDead || !strings.Contains(v.Summary, "re-established 3 time(s) in the window); the drops: dead peer") {
			t.Errorf("%s: %s: %s", name, v.Cause, v.Summary)
		}
	}
}

// Ensure the capture alone decides where the wire shows the fault (the rest is encrypted and
// needs the logs): unanswered IKE, NO_PROPOSAL_CHOSEN in the clear, ESP one way, large packets
// lost, short rekey answers, unanswered liveness checks; IKEv1 Main Mode with a pre-shared key
// whose encrypted identity message the responder refused (MM5) or whose answer the initiator
// refused (MM6); a first request answered yet resent (the answers are lost on the way back).
func TestClassify_CaptureOnly(t *testing.T) {
	for name, want := range map[string]diag.Cause{
		"ikev1-psk_mismatch": diag.CauseAuthFailed, "../alt/ikev1-psk_mismatch": diag.CauseAuthFailed,
		"../alt/ikev1-id_mismatch": diag.CauseAuthFailed, "ikev1-id_mismatch": diag.CauseInvalidID,
		"../alt/ikev1-peer_unreachable": diag.CausePeerUnreachable, "../alt/ikev2-peer_unreachable": diag.CausePeerUnreachable,
		"ikev1-peer_unreachable": diag.CausePeerUnreachable, "ikev2-nat_t_blocked": diag.CausePeerUnreachable,
		"ikev1-ike_proposal_mismatch": diag.CauseIKEProposalMismatch, "ikev2-ike_proposal_mismatch": diag.CauseIKEProposalMismatch,
		"ikev1-esp_blocked": diag.CauseESPBlocked, "ikev2-esp_blocked": diag.CauseESPBlocked,
		"ikev1-mtu_fragmentation": diag.CauseMTUFragmentation, "ikev2-mtu_fragmentation": diag.CauseMTUFragmentation,
		"ikev2-pfs_mismatch": diag.CausePFSMismatch, "ikev2-dpd_peer_dead": diag.CauseDPDPeerDead,
		"ikev1-healthy": diag.CauseHealthy, "ikev2-healthy": diag.CauseHealthy,
	} {
		t.Run(name, func(t *testing.T) {
			v, err := Classify(t.Context(), Input{Captures: []CaptureSource{{Path: filepath.Join("testdata/fixtures", name, "capture.pcap")}}})
			if err != nil {
				t.Fatal(err)
			}
			if v.Cause != want {
				t.Fatalf("cause %s, want %s", v.Cause, want)
			}
			checkRefs(t, v.Evidence)
		})
	}
}
