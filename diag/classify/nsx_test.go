package classify

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ipsecbot/diag"
)

// statsXML writes an ipsecStatusAndStats document (docs/nsx-formats.md §2.5) whose tunnel, channel
// or site carries msg as its failure message, with the channel down.
func statsXML(t *testing.T, where, msg, version string) string {
	t.Helper()
	site, channel, tunnel := "", "", ""
	switch where {
	case "site":
		site = "<failureMessage>" + msg + "</failureMessage>"
	case "channel":
		channel = "<failureMessage>" + msg + "</failureMessage>"
	case "informational":
		tunnel = "<lastInformationalMessage>" + msg + "</lastInformationalMessage>"
	default:
		tunnel = "<failureMessage>" + msg + "</failureMessage>"
	}
	doc := fmt.Sprintf(`<ipsecStatusAndStats>
  <siteStatistics>
    <siteId>ipsecsite-3</siteId>%s
    <ikeStatus>
      <channelStatus>down</channelStatus>
      <channelState>STATE_MAIN_I1 (sent MI1, expecting MR1)</channelState>
      <lastInformationalMessage></lastInformationalMessage>%s
      <localIpAddress>203.0.113.10</localIpAddress>
      <peerId>198.51.100.20</peerId>
      <peerIpAddress>198.51.100.20</peerIpAddress>
      <channelIkeVersion>%s</channelIkeVersion>
    </ikeStatus>
    <tunnelStats>
      <tunnelStatus>down</tunnelStatus>
      <tunnelState></tunnelState>%s
      <localSubnet>172.16.10.0/24</localSubnet>
      <peerSubnet>172.20.0.0/16</peerSubnet>
    </tunnelStats>
  </siteStatistics>
  <timeStamp>1795760000</timeStamp>
</ipsecStatusAndStats>`, site, channel, version, tunnel)
	path := filepath.Join(t.TempDir(), "stats.xml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Ensure each row of the procedure's table of NSX failure messages, carried by a statistics
// document, gives its cause and IKE version, with the API field as evidence.
func TestClassify_NSXTable(t *testing.T) {
	for _, row := range []struct {
		name, where, msg, version string
		cause                     diag.Cause
		ike                       int
	}{
		{"ikev1-peer-unreachable", "tunnel", "Version-IKEv1 Retransmitting IKE Message as no response from Peer.", "IKEv1", diag.CausePeerUnreachable, 1},
		{"ikev1-phase1-proposal", "channel", "Version-IKEv1 No Proposal Chosen.Check configured Encryption/Authentication/DH/IKE-Version.", "IKEv1", diag.CauseIKEProposalMismatch, 1},
		{"ikev1-psk-id-cert", "tunnel", "Version-IKEv1 Authentication Failed.Check the configured secret or local/peer ID configuration.", "IKEv1", diag.CauseAuthFailed, 1},
		{"ikev1-phase2-proposal", "tunnel", "IPSec-SA Proposals or Traffic Selectors did not match.", "IKEv1", diag.CauseIPsecProposalMismatch, 1},
		{"ikev2-peer-unreachable", "site", "Version-IKEv2 Retransmitting IKE Message as no response from Peer.", "IKEv2", diag.CausePeerUnreachable, 2},
		{"ikev2-ike-sa-proposal", "tunnel", "Version-IKEv2 No Proposal Chosen.Check configured Encrypt/Authentication/DH/IKEversion.", "IKEv2", diag.CauseIKEProposalMismatch, 2},
		{"ikev2-ipsec-sa-proposal", "informational", "IPSec-SA Proposals or Traffic Selectors did not match.", "IKEv2", diag.CauseIPsecProposalMismatch, 2},
		{"ikev2-traffic-selectors", "tunnel", "Traffic selectors did not match.Check left/right subnet configuration.", "IKEv2", diag.CauseTrafficSelectorMismatch, 2},
		{"ikev2-psk-id-cert", "channel", "Version-IKEv2 Authentication Failed.Check the configured secret or local/peer ID configuration.", "IKEv2", diag.CauseAuthFailed, 2},
	} {
		t.Run(row.name, func(t *testing.T) {
			path := statsXML(t, row.where, row.msg, row.version)
			v, err := Classify(t.Context(), Input{Stats: []StatsSource{{Path: path}}})
			if err != nil {
				t.Fatal(err)
			}
			if v.Cause != row.cause || v.IKEVersion != row.ike {
				t.Fatalf("cause %s v%d, want %s v%d", v.Cause, v.IKEVersion, row.cause, row.ike)
			}
			e := v.Evidence[0]
			if e.Source != diag.SourceAPI || e.Text != row.msg || len(e.Ref) <= len(path)+1 || e.Ref[:len(path)+1] != path+":" {
				t.Fatalf("evidence %+v", e)
			}
		})
	}
}

// Ensure two reads of the IKE counters in which IKE_SA_INIT requests go out and no responses
// come back point at an unreachable peer, and rekey requests without rekeys at a failing rekey.
func TestClassify_CounterDeltas(t *testing.T) {
	doc := func(ts, initReq, initRsp, crReq, crRsp, rekey int) string {
		path := filepath.Join(t.TempDir(), "stats.xml")
		os.WriteFile(path, fmt.Appendf(nil, `<ipsecStatusAndStats><siteStatistics><ikeStatus><channelStatus>down</channelStatus></ikeStatus></siteStatistics>
<timeStamp>%d</timeStamp><ikeStatistics><ikeStatistics><ikeVersion>ikev2</ikeVersion><ikeOutInitReq>%d</ikeOutInitReq><ikeInInitRsp>%d</ikeInInitRsp>
<ikeOutCrChildReq>%d</ikeOutCrChildReq><ikeInCrChildRsp>%d</ikeInCrChildRsp><ikeChildSaRekey>%d</ikeChildSaRekey></ikeStatistics></ikeStatistics></ipsecStatusAndStats>`,
			ts, initReq, initRsp, crReq, crRsp, rekey), 0o644)
		return path
	}
	v, _ := Classify(t.Context(), Input{Stats: []StatsSource{{Path: doc(1000, 4, 4, 0, 0, 0)}, {Path: doc(1060, 9, 4, 0, 0, 0)}}})
	if v.Cause != diag.CausePeerUnreachable {
		t.Fatalf("init deltas: cause %s", v.Cause)
	}
	v, _ = Classify(t.Context(), Input{Stats: []StatsSource{{Path: doc(1000, 1, 1, 10, 10, 10)}, {Path: doc(1060, 1, 1, 14, 14, 10)}}})
	if v.Cause != diag.CausePFSMismatch {
		t.Fatalf("rekey deltas: cause %s", v.Cause)
	}
}

// Ensure a broken statistics document is named in Missing and the other evidence still counts.
func TestClassify_BadStatistics(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "stats.xml")
	os.WriteFile(bad, []byte("<ipsecStatusAndStats><siteStatistics><ikeStatus>"), 0o644)
	v, err := Classify(t.Context(), Input{
		Stats: []StatsSource{{Path: bad}},
		Logs:  []LogSource{{Path: "testdata/fixtures/ikev2-psk_mismatch/edgeA-charon.log", Site: "edge"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if v.Cause != diag.CauseAuthFailed {
		t.Errorf("cause %s", v.Cause)
	}
	if len(v.Missing) == 0 || !strings.Contains(v.Missing[0], bad) {
		t.Errorf("missing %q does not name %s", v.Missing, bad)
	}
}
