package classify

import (
	"path/filepath"
	"strings"
	"testing"

	"ipsecbot/diag"
)

// "What to do" holds actions with the values the deciding side logged, never the log line.
func TestClassify_RemediationIsActions(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		want    []string // fragments of one action
	}{
		{"testdata/alt/ikev2-psk_mismatch", []string{"Set the same pre-shared key on both gateways for 'edge-gw.example.org' - 'remote-gw.example.net'"}},
		{"testdata/alt/ikev2-cert_untrusted_ca", []string{"Import on the Edge the CA certificate that issued \"C=JP, O=Remote KK, CN=remote-gw.example.net\""}},
		{"testdata/alt/ikev1-traffic_selector_mismatch", []string{"Make the peer's local and remote subnets mirror the Edge's", "192.168.61.0/24 === 192.168.50.0/24"}},
		{"testdata/fixtures/ikev1-id_mismatch", []string{"Set the Edge's peer ID to '192.0.2.2'", "local ID to 'peerb.example.net'"}},
	} {
		v, err := Classify(t.Context(), Input{Logs: []LogSource{
			{Path: filepath.Join(tc.fixture, "edgeA-charon.log"), Site: "edge"},
			{Path: filepath.Join(tc.fixture, "peerB-charon.log"), Site: "peer"},
		}, Captures: []CaptureSource{{Path: filepath.Join(tc.fixture, "capture.pcap")}}})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range v.Remediation {
			ok := true
			for _, w := range tc.want {
				ok = ok && strings.Contains(r, w)
			}
			found = found || ok
			for _, e := range v.Evidence {
				if r == e.Text || strings.HasPrefix(r, e.Text) {
					t.Errorf("%s: a raw log line in what to do: %q", tc.fixture, r)
				}
			}
		}
		if !found {
			t.Errorf("%s (%s): no action with %q in %q", tc.fixture, v.Cause, tc.want, v.Remediation)
		}
	}
}

// A failing tunnel is never also "healthy", even when its SAs came up between failures.
func TestClassify_FailingIsNotAlsoHealthy(t *testing.T) {
	for dir, sc := range loadScenarios(t) {
		if sc.ExpectedLabel == diag.CauseHealthy {
			continue
		}
		v, err := Classify(t.Context(), modeInput(dir, evidenceAll))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range v.AlsoSeen {
			if f.Cause == diag.CauseHealthy {
				t.Errorf("%s: %s, also seen healthy", sc.Name, v.Cause)
			}
		}
	}
}

// The same line in the start and the end snapshot (two show outputs) is listed once, saying so.
func TestClassify_SnapshotsSaidOnce(t *testing.T) {
	lines := []string{
		"Security Associations (1 up, 0 connecting):",
		"         dc-link[3]: ESTABLISHED 40 seconds ago, 203.0.113.10[203.0.113.10]...198.51.100.20[198.51.100.20]",
		"         dc-link[3]: IKEv2 SPIs: 099375f221aecbec_i* 7172077d801d245f_r, rekeying in 3 hours",
		"     dc-link-net{5}:  INSTALLED, TUNNEL, reqid 1, ESP SPIs: 8db7054e_i c225109e_o",
		"     dc-link-net{5}:   AES_CBC_256/HMAC_SHA2_256_128, 4200 bytes_i (50 pkts, 1s ago), 4200 bytes_o (50 pkts, 1s ago), rekeying in 58 minutes",
		"     dc-link-net{5}:   172.16.10.0/24 === 172.20.0.0/16",
	}
	start, end := writeLog(t, "show-start.txt", lines...), writeLog(t, "show-end.txt", lines...)
	v, err := Classify(t.Context(), Input{Shows: []LogSource{{Path: start}, {Path: end}}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range v.Evidence {
		if strings.Contains(e.Text, "4200 bytes in, 4200 bytes out") {
			n++
			if !strings.HasSuffix(e.Text, atStartAndEnd) {
				t.Errorf("snapshot line does not say it was read at start and end: %q", e.Text)
			}
		}
	}
	if n != 1 {
		t.Errorf("the snapshot line is listed %d times: %+v", n, v.Evidence)
	}
}

// Causes the evidence excludes are listed with why and where; never the verdict or a cause also
// seen.
func TestClassify_RuledOutSaysWhy(t *testing.T) {
	for dir, sc := range loadScenarios(t) {
		v, err := Classify(t.Context(), modeInput(dir, evidenceAll))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range v.RuledOut {
			if r.Why == "" || r.Ref == "" {
				t.Errorf("%s: ruled out %s without why or where", sc.Name, r.Cause)
			}
			if r.Cause == v.Cause {
				t.Errorf("%s: the verdict %s is also ruled out", sc.Name, v.Cause)
			}
			for _, f := range v.AlsoSeen {
				if f.Cause == r.Cause {
					t.Errorf("%s: %s both also seen and ruled out", sc.Name, r.Cause)
				}
			}
		}
		if sc.ExpectedLabel == diag.CauseESPBlocked {
			found := false
			for _, r := range v.RuledOut {
				found = found || (r.Cause == diag.CausePeerUnreachable && strings.Contains(r.Why, "IKE SA was established"))
			}
			if !found {
				t.Errorf("%s: peer_unreachable not ruled out though the IKE SA came up: %+v", sc.Name, v.RuledOut)
			}
		}
	}
}

// IKEv1 Quick Mode proposals that differ only in the DH group differ in PFS: pfs_mismatch.
func TestClassify_IKEv1QuickModeDHGroupIsPFS(t *testing.T) {
	for _, set := range fixtureSets {
		dir := filepath.Join(set, "ikev1-pfs_mismatch")
		v, err := Classify(t.Context(), modeInput(dir, evidenceAll))
		if err != nil {
			t.Fatal(err)
		}
		if v.Cause != diag.CausePFSMismatch {
			t.Errorf("%s: %s, want pfs_mismatch", dir, v.Cause)
		}
	}
}
