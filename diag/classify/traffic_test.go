package classify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag"

	"github.com/google/gopacket"
)

// saysSAsUpNotTraffic is the unknown summary's claim when SAs come up and nothing shows traffic.
const saysSAsUpNotTraffic = "IKE and CHILD SAs come up; nothing shows whether ESP passes"

// Ensure logs alone never make a tunnel healthy: in every real scenario of both sets whose logs
// show the SAs established and whose fault only the wire shows (ESP blocked, MTU) or that is
// fine, both logs give unknown, say the SAs came up and that traffic is unproven, and cite the
// line that shows the SAs up. (The IKEv1 ESP-blocked logs name their cause themselves: charon
// closes the CHILD_SA having received 0 bytes; see TestClassify_LogsNameOneWaySA.)
func TestClassify_SAsUpWithoutTrafficIsNotHealthy(t *testing.T) {
	for _, set := range []string{"fixtures", "alt"} {
		for _, name := range []string{"ikev2-esp_blocked", "ikev1-mtu_fragmentation", "ikev2-mtu_fragmentation", "ikev1-healthy", "ikev2-healthy"} {
			t.Run(set+"/"+name, func(t *testing.T) {
				dir := filepath.Join("testdata", set, name)
				v, err := Classify(t.Context(), Input{Logs: []LogSource{
					{Path: filepath.Join(dir, "edgeA-charon.log"), Site: "edge"},
					{Path: filepath.Join(dir, "peerB-charon.log"), Site: "peer"},
				}})
				if err != nil {
					t.Fatal(err)
				}
				if v.Cause != diag.CauseUnknown || v.Confidence != 0 {
					t.Fatalf("cause %s %.2f, want unknown: %s", v.Cause, v.Confidence, v.Summary)
				}
				if !strings.Contains(v.Summary, saysSAsUpNotTraffic) || !strings.Contains(v.Summary, "missing: no packet capture") {
					t.Errorf("summary %q", v.Summary)
				}
				if len(v.Evidence) == 0 {
					t.Fatal("no evidence of the SAs coming up")
				}
				checkRefs(t, v.Evidence)
				for _, f := range v.AlsoSeen {
					if f.Cause == diag.CauseHealthy {
						t.Errorf("healthy also seen without traffic: %+v", f)
					}
				}
			})
		}
	}
}

// Ensure logs whose CHILD_SA closed having sent bytes and received none name ESP blocked, with
// that line, and not healthy.
func TestClassify_LogsNameOneWaySA(t *testing.T) {
	for _, set := range []string{"fixtures", "alt"} {
		dir := filepath.Join("testdata", set, "ikev1-esp_blocked")
		v, _ := Classify(t.Context(), Input{Logs: []LogSource{
			{Path: filepath.Join(dir, "edgeA-charon.log"), Site: "edge"},
			{Path: filepath.Join(dir, "peerB-charon.log"), Site: "peer"},
		}})
		if v.Cause != diag.CauseESPBlocked || len(v.Evidence) == 0 || !strings.Contains(v.Evidence[0].Text, "(0 bytes)") {
			t.Errorf("%s: %s %+v", set, v.Cause, v.Evidence)
		}
		checkRefs(t, v.Evidence)
	}
}

// Ensure the Edge's own words that everything is UP (show service ipsec) are not traffic either.
func TestClassify_StatusUpIsNotTraffic(t *testing.T) {
	up := writeLog(t, "show-service-ipsec.txt",
		"IPSec Server is running.",
		"Total Sites: 1, 1 UP, 0 Down",
		"Total Tunnels: 1, 1 UP, 0 Down",
		"Site:  203.0.113.10_172.16.10.0/24-198.51.100.20_172.20.0.0/16",
		"Channel: PeerIp: 198.51.100.20    LocalIP: 203.0.113.10  Version: IKEv2  Status: UP",
		"Tunnel: PeerSubnet: 172.20.0.0/16    LocalSubnet: 172.16.10.0/24   Status: UP")
	v, _ := Classify(t.Context(), Input{Shows: []LogSource{{Path: up}}})
	if v.Cause != diag.CauseUnknown || !strings.Contains(v.Summary, saysSAsUpNotTraffic) {
		t.Errorf("status UP alone: %s (%s)", v.Cause, v.Summary)
	}
}

// Ensure tunnel counters that move both ways prove traffic: two NSX statistics reads whose
// packetsIn and packetsOut both grew, or a show service ipsec sa CHILD_SA with bytes both ways,
// make the logs' established SAs healthy; counters that move one way only do not.
func TestClassify_CountersProveTraffic(t *testing.T) {
	dir := "testdata/fixtures/ikev2-healthy"
	logs := []LogSource{{Path: filepath.Join(dir, "edgeA-charon.log"), Site: "edge"}, {Path: filepath.Join(dir, "peerB-charon.log"), Site: "peer"}}
	read := func(name, in, out, ts string) string {
		b, err := os.ReadFile("testdata/statistics-healthy-two-sites.xml")
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Replace(string(b), "<packetsIn>1000</packetsIn>", "<packetsIn>"+in+"</packetsIn>", 1)
		s = strings.Replace(s, "<packetsOut>1000</packetsOut>", "<packetsOut>"+out+"</packetsOut>", 1)
		s = strings.Replace(s, "<timeStamp>1795753240</timeStamp>", "<timeStamp>"+ts+"</timeStamp>", 1)
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	first := read("before.xml", "1000", "1000", "1795753240")

	both := read("after.xml", "1060", "1060", "1795753300")
	v, _ := Classify(t.Context(), Input{Logs: logs, Stats: []StatsSource{{Path: first}, {Path: both}}})
	if v.Cause != diag.CauseHealthy || !hasEvidence(v, both+":siteStatistics[1]/tunnelStats", "packetsIn +60, packetsOut +60") {
		t.Errorf("counters both ways: %s %+v", v.Cause, v.Evidence)
	}

	oneWay := read("one-way.xml", "1000", "1060", "1795753300")
	v, _ = Classify(t.Context(), Input{Logs: logs, Stats: []StatsSource{{Path: first}, {Path: oneWay}}})
	if v.Cause == diag.CauseHealthy {
		t.Errorf("counters one way: %s %+v", v.Cause, v.Evidence)
	}

	v, _ = Classify(t.Context(), Input{Logs: logs, Stats: []StatsSource{{Path: first}, {Path: both}}})
	twoReads := v.Confidence
	// One read with the SAs up and counters non-zero both ways: traffic has passed, healthy,
	// at a lower confidence than two reads showing the counters move.
	one := read("one-read.xml", "1060", "1060", "1795753300")
	v, _ = Classify(t.Context(), Input{Logs: logs, Stats: []StatsSource{{Path: one}}})
	if v.Cause != diag.CauseHealthy || v.Confidence >= twoReads || !hasEvidence(v, one+":siteStatistics[1]/tunnelStats", "in one read") {
		t.Errorf("one statistics read, counters both ways: %s %.2f (two reads %.2f) %+v", v.Cause, v.Confidence, twoReads, v.Evidence)
	}
	oneIdle := read("one-read-idle.xml", "0", "1060", "1795753300")
	v, _ = Classify(t.Context(), Input{Logs: logs, Stats: []StatsSource{{Path: oneIdle}}})
	if hasEvidence(v, oneIdle+":siteStatistics[1]/tunnelStats", "in one read") {
		t.Errorf("one read with nothing received counted as traffic: %s %+v", v.Cause, v.Evidence)
	}

	sa := writeLog(t, "show-service-ipsec-sa.txt",
		"Security Associations (1 up, 0 connecting):",
		"         dc-link[3]: ESTABLISHED 40 seconds ago, 203.0.113.10[203.0.113.10]...198.51.100.20[198.51.100.20]",
		"         dc-link[3]: IKEv2 SPIs: 099375f221aecbec_i* 7172077d801d245f_r, rekeying in 3 hours",
		"     dc-link-net{5}:  INSTALLED, TUNNEL, reqid 1, ESP SPIs: 8db7054e_i c225109e_o",
		"     dc-link-net{5}:   AES_CBC_256/HMAC_SHA2_256_128, 4200 bytes_i (50 pkts, 1s ago), 4200 bytes_o (50 pkts, 1s ago), rekeying in 58 minutes",
		"     dc-link-net{5}:   172.16.10.0/24 === 172.20.0.0/16")
	v, _ = Classify(t.Context(), Input{Shows: []LogSource{{Path: sa}}})
	if v.Cause != diag.CauseHealthy || !hasEvidence(v, sa+":5", "4200 bytes in, 4200 bytes out") {
		t.Errorf("show sa bytes both ways: %s %+v", v.Cause, v.Evidence)
	}
}

func hasEvidence(v *diag.Verdict, refPrefix, text string) bool {
	for _, e := range v.Evidence {
		if strings.HasPrefix(e.Ref, refPrefix) && strings.Contains(e.Text, text) {
			return true
		}
	}
	return false
}

// Ensure the Missing list names the evidence, not a command's flags: reports written by a
// diagnosis have no flags to give.
func TestClassify_MissingNamesEvidence(t *testing.T) {
	v, _ := Classify(t.Context(), Input{})
	want := []string{MissingLogs, MissingCapture, MissingStats, MissingShow}
	if strings.Join(v.Missing, "|") != strings.Join(want, "|") {
		t.Fatalf("missing %q, want %q", v.Missing, want)
	}
	for _, m := range append(v.Missing, v.Summary) {
		if strings.Contains(m, "--") {
			t.Errorf("%q names a flag", m)
		}
	}
}

// Ensure scanned packets count only the frames inside the window, as the IKE messages do.
func TestClassify_WindowCountsPackets(t *testing.T) {
	path := "testdata/fixtures/ikev2-flapping/capture.pcap"
	all, _ := Classify(t.Context(), Input{Captures: []CaptureSource{{Path: path}}})
	var total int64
	since, after := parseTime(t, "2026-11-27T04:20:20Z"), int64(0)
	rewriteCapture(t, path, filepath.Join(t.TempDir(), "copy.pcap"), func(_ int, ci *gopacket.CaptureInfo, data []byte) []byte {
		total++
		if !ci.Timestamp.Before(since) {
			after++
		}
		return data
	})
	if all.Scanned.Packets != total || after == 0 || after == total {
		t.Fatalf("whole capture: %d packets scanned, file has %d, %d from %v", all.Scanned.Packets, total, after, since)
	}
	v, _ := Classify(t.Context(), Input{Captures: []CaptureSource{{Path: path}}, Since: since})
	if v.Scanned.Packets != after || v.Scanned.IKEMessages == 0 || v.Scanned.IKEMessages >= all.Scanned.IKEMessages {
		t.Errorf("since %v: %+v, want %d packets", since, v.Scanned, after)
	}
	v, _ = Classify(t.Context(), Input{Captures: []CaptureSource{{Path: path}}, Since: parseTime(t, "2030-01-01T00:00:00Z")})
	if v.Scanned.Packets != 0 || v.Scanned.IKEMessages != 0 {
		t.Errorf("window after the capture: %+v", v.Scanned)
	}
}

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
