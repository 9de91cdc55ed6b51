package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"ipsecbot/diag"
	"ipsecbot/diag/classify/logscan"
)

// The two real data sets: the lab's default variant and its alt variant (other addresses,
// names, proposals, timers, log time format; the peer initiates).
const (
	fixtures    = "../../diag/classify/testdata/fixtures"
	altFixtures = "../../diag/classify/testdata/alt"
)

// Ensure every real fixture classifies to its label through `bot analyze --json`, with evidence
// whose references resolve, from the capture and both logs only.
func TestAnalyze_Fixtures(t *testing.T) { analyzeFixtureSet(t, fixtures, false) }

// Ensure the same holds for the second, independent data set, from the Edge's capture and
// both logs.
func TestAnalyze_AltFixtures(t *testing.T) { analyzeFixtureSet(t, altFixtures, false) }

// Ensure both sets keep their labels when both sites' captures are given, and the ESP-blocked
// scenarios then cite the SPI that left one site and never arrived at the other.
func TestAnalyze_BothCaptures(t *testing.T) {
	analyzeFixtureSet(t, fixtures, true)
	analyzeFixtureSet(t, altFixtures, true)
}

// analyzeFixtureSet runs every scenario folder of set through `bot analyze --json` with the
// Edge's capture (and, with peerCapture, the peer's) and both logs.
func analyzeFixtureSet(t *testing.T, set string, peerCapture bool) {
	dirs, _ := filepath.Glob(filepath.Join(set, "ikev*"))
	if len(dirs) < 32 {
		t.Fatalf("%s: %d fixtures, want 32", set, len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(set)+"/"+filepath.Base(dir), func(t *testing.T) {
			var sc struct {
				IKEVersion int          `json:"ike_version"`
				Expected   diag.Cause   `json:"expected_label"`
				AlsoAccept []diag.Cause `json:"also_accept"`
			}
			b, err := os.ReadFile(filepath.Join(dir, "scenario.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &sc); err != nil {
				t.Fatal(err)
			}
			args := []string{"analyze", "--json", "--pcap", filepath.Join(dir, "capture.pcap")}
			if peerCapture {
				args = append(args, "--pcap", filepath.Join(dir, "capture-peerB.pcap"))
			}
			args = append(args, "--log", filepath.Join(dir, "edgeA-charon.log"), "--log", filepath.Join(dir, "peerB-charon.log"))
			v := analyzeJSON(t, args...)
			if v.Cause != sc.Expected && !slices.Contains(sc.AlsoAccept, v.Cause) {
				t.Fatalf("cause %s, want %s (%s)", v.Cause, sc.Expected, v.Summary)
			}
			if v.IKEVersion != sc.IKEVersion {
				t.Errorf("ike_version %d, want %d", v.IKEVersion, sc.IKEVersion)
			}
			if len(v.Evidence) == 0 || len(v.Remediation) == 0 || v.Summary == "" {
				t.Fatalf("verdict lacks evidence, remediation or summary: %+v", v)
			}
			for _, e := range v.Evidence {
				resolveRef(t, e)
			}
			if v.Scanned.LogLines == 0 || v.Scanned.Packets == 0 {
				t.Errorf("scanned %+v", v.Scanned)
			}
			if peerCapture && sc.Expected == diag.CauseESPBlocked &&
				!(strings.Contains(v.Evidence[0].Text, "packets left ") && strings.Contains(v.Evidence[0].Text, "0 arrived at ")) {
				t.Errorf("the loss between the sites is not the first evidence: %+v", v.Evidence)
			}
		})
	}
}

// analyzeJSON runs `bot` with args that include --json and decodes its one JSON document.
func analyzeJSON(t *testing.T, args ...string) diag.Verdict {
	t.Helper()
	code, stdout, stderr := runBot(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var v diag.Verdict
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatal("stdout holds more than one JSON document")
	}
	return v
}

// Ensure --until applies to the capture too: the dead-peer capture cut off before the peer died
// (04:19:21.1, after its tenth frame) shows an established IKE SA and ESP both ways.
func TestAnalyze_WindowAppliesToCaptures(t *testing.T) {
	pcap := filepath.Join(fixtures, "ikev2-dpd_peer_dead", "capture.pcap")
	if v := analyzeJSON(t, "analyze", "--json", "--pcap", pcap); v.Cause != diag.CauseDPDPeerDead {
		t.Fatalf("whole capture: %s", v.Cause)
	}
	v := analyzeJSON(t, "analyze", "--json", "--pcap", pcap, "--until", "2026-11-27T04:19:21.1Z")
	if v.Cause != diag.CauseHealthy || v.Scanned.IKEMessages != 4 {
		t.Fatalf("until 04:19:21.1: %s, %d IKE messages", v.Cause, v.Scanned.IKEMessages)
	}
}

// resolveRef checks that a log reference names a line holding the evidence text and a frame
// reference a frame the capture has.
func resolveRef(t *testing.T, e diag.Evidence) {
	t.Helper()
	switch e.Source {
	case diag.SourceLog:
		i := strings.LastIndexByte(e.Ref, ':')
		n, err := strconv.Atoi(e.Ref[i+1:])
		b, rerr := os.ReadFile(e.Ref[:i])
		if err != nil || rerr != nil {
			t.Fatalf("ref %q: %v %v", e.Ref, err, rerr)
		}
		lines := strings.Split(string(b), "\n")
		if n < 1 || n > len(lines) || !strings.Contains(lines[n-1], e.Text) {
			t.Errorf("ref %q does not hold %q", e.Ref, e.Text)
		}
	case diag.SourcePcap:
		path, frame, _ := strings.Cut(e.Ref, "#")
		n, err := strconv.Atoi(frame)
		if err != nil || n < 1 {
			t.Fatalf("ref %q", e.Ref)
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("ref %q: %v", e.Ref, err)
		}
	default:
		t.Errorf("unexpected evidence source %q (%s)", e.Source, e.Ref)
	}
}

// Ensure --print-patterns prints exactly the scanner's set, one a line.
func TestAnalyze_PrintPatterns(t *testing.T) {
	code, stdout, _ := runBot(t, "analyze", "--print-patterns")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	got := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if !slices.Equal(got, logscan.Patterns()) {
		t.Fatalf("printed %d patterns, scanner has %d", len(got), len(logscan.Patterns()))
	}
}

// Ensure the human rendering names the cause, the evidence and what to do.
func TestAnalyze_Text(t *testing.T) {
	dir := filepath.Join(fixtures, "ikev2-psk_mismatch")
	code, stdout, _ := runBot(t, "analyze", "--edge-log", filepath.Join(dir, "edgeA-charon.log"), "--peer-log", filepath.Join(dir, "peerB-charon.log"))
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"Cause:      auth_failed", "received AUTHENTICATION_FAILED notify error", "Compare the PSK", " UTC, edge)", " UTC, peer)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

// Ensure mistakes in the call are usage errors (exit 2) and unreadable files failures (exit 1),
// each one line on stderr.
func TestAnalyze_Errors(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		code int
	}{
		"NoInput":       {[]string{"analyze"}, 2},
		"BadSince":      {[]string{"analyze", "--log", "x", "--since", "yesterday"}, 2},
		"UntilBefore":   {[]string{"analyze", "--log", "x", "--since", "2026-11-27 05:00:00", "--until", "2026-11-27 04:00:00"}, 2},
		"BadZone":       {[]string{"analyze", "--log", "x", "--tz", "Mars/Olympus"}, 2},
		"Positional":    {[]string{"analyze", "file.log"}, 2},
		"MissingFile":   {[]string{"analyze", "--log", filepath.Join(t.TempDir(), "absent.log")}, 1},
		"MissingStats":  {[]string{"analyze", "--stats", filepath.Join(t.TempDir(), "absent.xml")}, 1},
		"UnknownOption": {[]string{"analyze", "--frobnicate"}, 2},
	} {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runBot(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			if stdout != "" || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stdout %q, stderr %q", stdout, stderr)
			}
		})
	}
}

// Ensure `bot analyze --json --pcap F` with nothing else (a third-party peer, no Edge logs at
// hand) never names a wrong cause: for each capture point of both sets it names the scenario's
// label, one it also accepts, or unknown, and an unknown says what is missing.
func TestAnalyze_CaptureAlone(t *testing.T) {
	for _, set := range []string{fixtures, altFixtures} {
		dirs, _ := filepath.Glob(filepath.Join(set, "ikev*"))
		if len(dirs) < 32 {
			t.Fatalf("%s: %d fixtures, want 32", set, len(dirs))
		}
		for _, dir := range dirs {
			var sc struct {
				Expected   diag.Cause   `json:"expected_label"`
				AlsoAccept []diag.Cause `json:"also_accept"`
			}
			b, err := os.ReadFile(filepath.Join(dir, "scenario.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &sc); err != nil {
				t.Fatal(err)
			}
			for _, capture := range []string{"capture.pcap", "capture-peerB.pcap"} {
				t.Run(filepath.Base(set)+"/"+filepath.Base(dir)+"/"+capture, func(t *testing.T) {
					v := analyzeJSON(t, "analyze", "--json", "--pcap", filepath.Join(dir, capture))
					switch {
					case v.Cause == sc.Expected || slices.Contains(sc.AlsoAccept, v.Cause):
						if len(v.Evidence) == 0 {
							t.Fatalf("%s without evidence", v.Cause)
						}
						for _, e := range v.Evidence {
							resolveRef(t, e)
						}
					case v.Cause == diag.CauseUnknown:
						if !strings.Contains(v.Summary, "missing: no Edge or peer logs") {
							t.Errorf("unknown without saying the logs are missing: %s", v.Summary)
						}
					default:
						t.Errorf("cause %s (%.2f), want %s or unknown: %s", v.Cause, v.Confidence, sc.Expected, v.Summary)
					}
				})
			}
		}
	}
}

// Ensure logs alone never claim traffic passes: the ESP-blocked and MTU scenarios' logs, which
// show the SAs established, give unknown saying what was seen and what is missing, as --log and
// as --edge-log/--peer-log.
func TestAnalyze_LogsAloneAreNotHealthy(t *testing.T) {
	for _, set := range []string{fixtures, altFixtures} {
		for _, name := range []string{"ikev2-esp_blocked", "ikev1-mtu_fragmentation", "ikev2-mtu_fragmentation"} {
			dir := filepath.Join(set, name)
			edge, peer := filepath.Join(dir, "edgeA-charon.log"), filepath.Join(dir, "peerB-charon.log")
			for _, args := range [][]string{{"--log", edge}, {"--edge-log", edge, "--peer-log", peer}} {
				v := analyzeJSON(t, append([]string{"analyze", "--json"}, args...)...)
				if v.Cause != diag.CauseUnknown || !strings.Contains(v.Summary, "IKE and CHILD SAs come up; nothing shows whether ESP passes") {
					t.Errorf("%s %v: %s (%s)", name, args, v.Cause, v.Summary)
				}
				for _, e := range v.Evidence {
					resolveRef(t, e)
				}
			}
		}
	}
}

// Ensure the verdict's missing evidence is named without flags in the JSON (the same verdict a
// diagnosis writes) and with the flag that supplies it in the terminal rendering.
func TestAnalyze_MissingEvidence(t *testing.T) {
	log := filepath.Join(fixtures, "ikev2-psk_mismatch", "edgeA-charon.log")
	v := analyzeJSON(t, "analyze", "--json", "--log", log)
	if !slices.Equal(v.Missing, []string{"no packet capture", "no NSX IPsec statistics", "no Edge show service ipsec output"}) {
		t.Errorf("missing %q", v.Missing)
	}
	code, stdout, _ := runBot(t, "analyze", "--log", log)
	if code != 0 || !strings.Contains(stdout, "Missing:    no packet capture (--pcap); no NSX IPsec statistics (--stats); no Edge show service ipsec output (--show)") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

// Ensure scanned.packets counts only the frames inside --since/--until, like ike_messages.
func TestAnalyze_WindowCountsPackets(t *testing.T) {
	pcap := filepath.Join(fixtures, "ikev2-flapping", "capture.pcap")
	all := analyzeJSON(t, "analyze", "--json", "--pcap", pcap)
	part := analyzeJSON(t, "analyze", "--json", "--pcap", pcap, "--since", "2026-11-27T04:20:20Z")
	if part.Scanned.Packets == 0 || part.Scanned.Packets >= all.Scanned.Packets || part.Scanned.IKEMessages >= all.Scanned.IKEMessages {
		t.Errorf("whole capture %+v, since 04:20:20 %+v", all.Scanned, part.Scanned)
	}
	none := analyzeJSON(t, "analyze", "--json", "--pcap", pcap, "--since", "2027-01-01T00:00:00Z")
	if none.Scanned.Packets != 0 || none.Scanned.IKEMessages != 0 {
		t.Errorf("window after the capture: %+v", none.Scanned)
	}
}

// Ensure a --since/--until window outside a fixture's evidence is said in the printed verdict,
// with the span the evidence covers.
func TestAnalyze_WindowExcludesAll(t *testing.T) {
	d := filepath.Join(fixtures, "ikev2-psk_mismatch")
	code, stdout, stderr := runBot(t, "analyze", "--log", filepath.Join(d, "edgeA-charon.log"), "--pcap", filepath.Join(d, "capture.pcap"),
		"--since", "2026-11-28 03:00:00", "--until", "2026-11-28 04:00:00")
	want := "Missing:    the window 2026-11-28 03:00:00 UTC – 2026-11-28 04:00:00 UTC excludes all the evidence: the logs cover 2026-11-27 04:18:39 UTC"
	if code != 0 || !strings.Contains(stdout, want) || !strings.Contains(stdout, "the capture covers 2026-11-27 04:18:39 UTC") {
		t.Errorf("exit %d, want %q in\n%s%s", code, want, stdout, stderr)
	}
}
