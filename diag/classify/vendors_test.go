package classify

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ipsecbot/diag"
	"ipsecbot/diag/interop"
)

func writeLog(t *testing.T, name string, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Ensure the pluto (libreswan/Openswan) strings of the procedure and docs/design.md classify, in
// syslog form, with the IKE SA state deciding between an ID and a proxy-ID problem.
func TestClassify_Pluto(t *testing.T) {
	const hdr = "Mar  3 10:15:0%d vpn-gw pluto[2211]: "
	line := func(sec int, msg string) string { return strings.Replace(hdr, "%d", string(rune('0'+sec)), 1) + msg }
	for name, tc := range map[string]struct {
		lines []string
		want  diag.Cause
	}{
		"no-rsa-key":              {[]string{line(1, `"dc-link" #3: no RSA public key known for 'C=CN, ST=BJ, O=VMWare, OU=CINS, CN=left'`)}, diag.CauseNoTrustedCA},
		"invalid-key-information": {[]string{line(1, `"dc-link" #3: ignoring informational payload INVALID_KEY_INFORMATION, msgid=00000000, length=12`)}, diag.CauseNoTrustedCA},
		"dpd": {[]string{
			line(1, `"dc-link" #3: STATE_MAIN_I4: ISAKMP SA established {auth=PRESHARED_KEY cipher=aes_256 integ=sha2_256 group=MODP2048}`),
			line(2, `"dc-link" #4: STATE_QUICK_I2: sent QI2, IPsec SA established tunnel mode {ESP=>0x1234abcd <0x9876fedc}`),
			line(8, `"dc-link" #3: DPD: No response from peer - declaring peer dead`)}, diag.CauseDPDPeerDead},
		"invalid-id-in-main-mode":        {[]string{line(1, `"dc-link" #1: ignoring informational payload INVALID_ID_INFORMATION, msgid=00000000, length=12`)}, diag.CauseInvalidID},
		"payload-malformed-in-main-mode": {[]string{line(1, `"dc-link" #1: received and ignored informational message PAYLOAD_MALFORMED`)}, diag.CauseInvalidID},
		"invalid-id-in-quick-mode": {[]string{
			line(1, `"dc-link" #1: STATE_MAIN_I4: ISAKMP SA established {auth=PRESHARED_KEY cipher=aes_256 integ=sha2_256 group=MODP2048}`),
			line(2, `"dc-link" #1: ignoring informational payload INVALID_ID_INFORMATION, msgid=00000000, length=12`)}, diag.CauseTrafficSelectorMismatch},
		"peer-id-mismatch": {[]string{line(1, `"dc-link" #1: we require IKEv1 peer to have ID '198.51.100.9', but peer declares '@gw.branch.example'`)}, diag.CauseInvalidID},
		"no-response":      {[]string{line(1, `"dc-link" #1: max number of retransmissions (8) reached STATE_MAIN_I1.  No response (or no acceptable response) to our first IKE message`)}, diag.CausePeerUnreachable},
		"psk":              {[]string{line(1, `"dc-link" #1: probable authentication failure (mismatch of preshared secrets?): malformed payload in packet`)}, diag.CauseAuthFailed},
	} {
		t.Run(name, func(t *testing.T) {
			path := writeLog(t, "pluto.log", tc.lines...)
			v, err := Classify(t.Context(), Input{Logs: []LogSource{{Path: path, Year: 2026}}})
			if err != nil {
				t.Fatal(err)
			}
			if v.Cause != tc.want {
				t.Fatalf("cause %s, want %s", v.Cause, tc.want)
			}
			checkRefs(t, v.Evidence)
		})
	}
}

// Ensure SonicWall and WatchGuard lines (docs/nsx-formats.md §7.1, §7.2) are read.
func TestClassify_SonicWallAndWatchGuard(t *testing.T) {
	sw := writeLog(t, "sonicwall.tsv",
		"1\t11/15/2017 10:34:02.176\tInfo\tVPN IKE\tIKE Responder: Remote party timeout - Retransmitting IKE request.\t98.1.2.3, 4500\t192.168.1.1, 4500\tVPN Policy: WAN GroupVPN",
		"2\t11/15/2017 10:34:12.176\tInfo\tVPN IKE\tIKE Responder: No response - remote party timeout\t98.1.2.3, 4500\t192.168.1.1, 4500\tVPN Policy: WAN GroupVPN")
	v, _ := Classify(t.Context(), Input{Logs: []LogSource{{Path: sw}}})
	if v.Cause != diag.CausePeerUnreachable || v.Evidence[0].Time.Year() != 2017 {
		t.Errorf("SonicWall: %s %+v", v.Cause, v.Evidence)
	}
	wg := writeLog(t, "firebox.log",
		`Mar  3 10:15:01 firebox iked[1211]: msg_id="0203-0004" IKE phase-1 negotiation from 203.0.113.5:500 to 198.51.100.9:500 failed. Received NO_PROPOSAL_CHOSEN notification`)
	v, _ = Classify(t.Context(), Input{Logs: []LogSource{{Path: wg, Year: 2026}}})
	if v.Cause != diag.CauseIKEProposalMismatch {
		t.Errorf("WatchGuard: %s", v.Cause)
	}
}

// Ensure a tech support bundle is read in place and its evidence refs name bundle!member:LINE.
func TestClassify_Bundle(t *testing.T) {
	src, err := os.ReadFile("testdata/fixtures/ikev2-psk_mismatch/peerB-charon.log")
	if err != nil {
		t.Fatal(err)
	}
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "var/log/charon.log", Mode: 0o644, Size: int64(len(src)), Typeflag: tar.TypeReg})
	tw.Write(src)
	tw.Close()
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(tb.Bytes())
	zw.Close()
	bundle := filepath.Join(t.TempDir(), "NSX_Edge_Support_edge-1.log.gz")
	os.WriteFile(bundle, zb.Bytes(), 0o644)
	v, _ := Classify(t.Context(), Input{Logs: []LogSource{{Path: bundle}}})
	if v.Cause != diag.CauseAuthFailed {
		t.Fatalf("cause %s", v.Cause)
	}
	if want := bundle + "!var/log/charon.log:136"; v.Evidence[0].Ref != want {
		t.Fatalf("ref %s, want %s", v.Evidence[0].Ref, want)
	}
}

// Ensure a truncated capture still counts what was read and says it was cut.
func TestClassify_TruncatedCapture(t *testing.T) {
	b, err := os.ReadFile("testdata/fixtures/ikev2-esp_blocked/capture.pcap")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cut.pcap")
	os.WriteFile(path, b[:len(b)*2/3+5], 0o644)
	v, _ := Classify(t.Context(), Input{Captures: []CaptureSource{{Path: path}}})
	if v.Cause != diag.CauseESPBlocked {
		t.Errorf("cause %s", v.Cause)
	}
	if !strings.Contains(strings.Join(v.Missing, ";"), "cut.pcap") {
		t.Errorf("missing %q does not name the cut capture", v.Missing)
	}
	garbage := writeLog(t, "not.pcap", "this is not a capture")
	v, _ = Classify(t.Context(), Input{Captures: []CaptureSource{{Path: garbage}}})
	if v.Cause != diag.CauseUnknown || len(v.Missing) == 0 {
		t.Errorf("garbage capture: %s %q", v.Cause, v.Missing)
	}
}

// Ensure remediation names both sides' values: the proposals from the rejecting side's log and
// the configuration comparison's differences.
func TestClassify_RemediationValues(t *testing.T) {
	dir := "testdata/fixtures/ikev2-ike_proposal_mismatch"
	v, _ := Classify(t.Context(), Input{
		Logs: []LogSource{{Path: filepath.Join(dir, "edgeA-charon.log"), Site: "edge"}, {Path: filepath.Join(dir, "peerB-charon.log"), Site: "peer"}},
		Config: []interop.Mismatch{{Field: "dh_group", Edge: "dh14", Peer: "dh2", Severity: interop.Breaking,
			Text: "IKE DH group differs: Edge dh14, peer dh2"}},
	})
	if v.Cause != diag.CauseIKEProposalMismatch {
		t.Fatalf("cause %s", v.Cause)
	}
	all := strings.Join(v.Remediation, "\n")
	for _, want := range []string{"The Edge proposes IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048", "the peer accepts IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024", "Edge dh14, peer dh2"} {
		if !strings.Contains(all, want) {
			t.Errorf("remediation lacks %q:\n%s", want, all)
		}
	}
	var config bool
	for _, e := range v.Evidence {
		config = config || e.Source == diag.SourceConfig
	}
	if !config {
		t.Error("the configuration difference is not in the evidence")
	}
}

// Ensure facts judged by other steps (an MTU ping) count with their weight.
func TestClassify_JudgedFacts(t *testing.T) {
	v, _ := Classify(t.Context(), Input{Facts: []Fact{{Cause: diag.CauseMTUFragmentation, Weight: 0.85,
		Evidence: diag.Evidence{Source: diag.SourcePrereq, Ref: "prereq:mtu", Text: "56-byte pings answered, 1400-byte DF pings lost"}}}})
	if v.Cause != diag.CauseMTUFragmentation || v.Confidence != 0.85 {
		t.Fatalf("%s %.2f", v.Cause, v.Confidence)
	}
}

// Ensure Edge show outputs count: all UP is the SAs up, cited, yet unknown without traffic
// (TestClassify_CountersProveTraffic has the show sa counters that prove it); an SA that sends and never receives is
// ESP blocked; a DOWN channel's reason is the NSX failure message.
func TestClassify_ShowOutputs(t *testing.T) {
	up := writeLog(t, "show-service-ipsec.txt",
		"edge-01> show service ipsec",
		"-----------------------------------------------------------------------",
		"vShield Edge IPSec Service Status:",
		"IPSec Server is running.",
		"AESNI is enabled.",
		"Total Sites: 1, 1 UP, 0 Down",
		"Total Tunnels: 1, 1 UP, 0 Down",
		"----------------------------------",
		"Site:  203.0.113.10_172.16.10.0/24-198.51.100.20_172.20.0.0/16",
		"Channel: PeerIp: 198.51.100.20    LocalIP: 203.0.113.10  Version: IKEv2  Status: UP",
		"Tunnel: PeerSubnet: 172.20.0.0/16    LocalSubnet: 172.16.10.0/24   Status: UP",
		"----------------------------------")
	v, _ := Classify(t.Context(), Input{Shows: []LogSource{{Path: up}}})
	if v.Cause != diag.CauseUnknown || v.IKEVersion != 2 || len(v.Evidence) == 0 || v.Evidence[0].Ref != up+":11" {
		t.Errorf("all up: %s v%d %+v", v.Cause, v.IKEVersion, v.Evidence)
	}
	down := writeLog(t, "show-service-ipsec-down.txt",
		"Total Sites: 1, 0 UP, 1 Down",
		"Total Tunnels: 1, 0 UP, 1 Down",
		"Site:  203.0.113.10_172.16.10.0/24-198.51.100.20_172.20.0.0/16",
		"Channel: PeerIp: 198.51.100.20    LocalIP: 203.0.113.10  Version: IKEv1  Status: DOWN Reason: Version-IKEv1 Authentication Failed.Check the configured secret or local/peer ID configuration.",
		"Tunnel: PeerSubnet: 172.20.0.0/16    LocalSubnet: 172.16.10.0/24   Status: DOWN")
	v, _ = Classify(t.Context(), Input{Shows: []LogSource{{Path: down}}})
	if v.Cause != diag.CauseAuthFailed || v.IKEVersion != 1 || v.Evidence[0].Ref != down+":4" {
		t.Errorf("down: %s v%d %+v", v.Cause, v.IKEVersion, v.Evidence)
	}
	sa := writeLog(t, "show-service-ipsec-sa.txt",
		"Security Associations (1 up, 0 connecting):",
		"         dc-link[3]: ESTABLISHED 40 seconds ago, 203.0.113.10[203.0.113.10]...198.51.100.20[198.51.100.20]",
		"         dc-link[3]: IKEv2 SPIs: 099375f221aecbec_i* 7172077d801d245f_r, rekeying in 3 hours",
		"     dc-link-net{5}:  INSTALLED, TUNNEL, reqid 1, ESP SPIs: 8db7054e_i c225109e_o",
		"     dc-link-net{5}:   AES_CBC_256/HMAC_SHA2_256_128, 0 bytes_i, 4200 bytes_o (50 pkts, 1s ago), rekeying in 58 minutes",
		"     dc-link-net{5}:   172.16.10.0/24 === 172.20.0.0/16")
	v, _ = Classify(t.Context(), Input{Shows: []LogSource{{Path: sa}}})
	if v.Cause != diag.CauseESPBlocked || v.Evidence[0].Ref != sa+":5" {
		t.Errorf("one-way SA: %s %+v", v.Cause, v.Evidence)
	}
}
