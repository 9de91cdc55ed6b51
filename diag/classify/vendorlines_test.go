package classify

import (
	"slices"
	"testing"

	"ipsecbot/diag"
	ls "ipsecbot/diag/classify/logscan"
)

// One line per Cisco ASA/FTD and Juniper SRX pattern, and per wording the upstream inventories
// showed unread. None was checked against a published sample: each is constructed from the
// message text of the vendor's reference (the patterns' origins say "vendor inferred") or from
// the upstream format string, in the syslog shape that device or daemon writes.
var vendorLines = []struct {
	name  string
	line  string
	event ls.Event
	cause diag.Cause // what the line alone makes of the tunnel
}{
	// Cisco ASA/FTD, constructed from the syslog messages guide.
	{"asa-713257-phase1", "Nov 27 04:18:39 asa %ASA-5-713257: Phase 1 failure: Mismatched attribute types for class Group Description: Rcv'd: Group 2 Cfg'd: Group 14", ls.EvIKEProposalRefused, diag.CauseIKEProposalMismatch},
	{"asa-713257-phase2", "Nov 27 04:18:39 asa %ASA-5-713257: Phase 2 failure: Mismatched attribute types for class Encapsulation Mode: Rcv'd: Transport Cfg'd: Tunnel", ls.EvChildProposalRefused, diag.CauseIPsecProposalMismatch},
	{"asa-713902-ipsec-proposals", "Nov 27 04:18:39 asa %ASA-3-713902: Group = 203.0.113.5, IP = 203.0.113.5, All IPSec SA proposals found unacceptable!", ls.EvChildProposalRefused, diag.CauseIPsecProposalMismatch},
	{"asa-invalid-hash", "Nov 27 04:18:39 asa %ASA-5-713904: IP = 203.0.113.5, Received an un-encrypted INVALID_HASH_INFO notify message, dropping", ls.EvPSKMismatch, diag.CauseAuthFailed},
	{"asa-750003-policy", "Nov 27 04:18:39 asa %ASA-4-750003: Local:198.51.100.1:500 Remote:203.0.113.5:500 Username:203.0.113.5 Negotiation aborted due to ERROR: Failed to find a matching policy", ls.EvNoProposalFound, diag.CauseIKEProposalMismatch},
	{"asa-750003-retransmissions", "Nov 27 04:18:39 asa %ASA-4-750003: Local:198.51.100.1:500 Remote:203.0.113.5:500 Username:203.0.113.5 Negotiation aborted due to ERROR: Maximum number of retransmissions reached", ls.EvGiveUp, diag.CausePeerUnreachable},

	// Juniper SRX, constructed from the Junos system log messages reference.
	{"junos-no-proposal", "Nov 27 04:18:39 srx kmd[1827]: IKE negotiation failed with error: No proposal chosen. IKE Version: 2, VPN: to-nsx Gateway: gw-nsx, Local: 198.51.100.1/500, Remote: 203.0.113.5/500, Local IKE-ID: 198.51.100.1, Remote IKE-ID: Not-Available, VR-ID: 0, Role: Initiator", ls.EvNoProposalFound, diag.CauseIKEProposalMismatch},
	{"junos-auth", "Nov 27 04:18:39 srx kmd[1827]: IKE negotiation failed with error: Authentication failed. IKE Version: 1, VPN: to-nsx Gateway: gw-nsx, Local: 198.51.100.1/500, Remote: 203.0.113.5/500, Local IKE-ID: 198.51.100.1, Remote IKE-ID: 203.0.113.5, VR-ID: 0, Role: Responder", ls.EvAuthFailedNotify, diag.CauseAuthFailed},
	{"junos-ike-id", "Nov 27 04:18:39 srx kmd[1827]: IKE negotiation failed with error: Peer's IKE-ID validation failed during negotiation. IKE Version: 2, VPN: to-nsx Gateway: gw-nsx, Local: 198.51.100.1/500, Remote: 203.0.113.5/500, Local IKE-ID: 198.51.100.1, Remote IKE-ID: edge.example.org, VR-ID: 0, Role: Responder", ls.EvIDMismatch, diag.CauseInvalidID},
	{"junos-ts", "Nov 27 04:18:39 srx kmd[1827]: IKE negotiation failed with error: TS unacceptable. IKE Version: 2, VPN: to-nsx Gateway: gw-nsx, Local: 198.51.100.1/500, Remote: 203.0.113.5/500, Local IKE-ID: 198.51.100.1, Remote IKE-ID: 203.0.113.5, VR-ID: 0, Role: Initiator", ls.EvTSUnacceptable, diag.CauseTrafficSelectorMismatch},
	{"junos-phase1-no-proposal", "Nov 27 04:18:39 srx kmd[1827]: KMD_VPN_PV_PHASE1: IKE Phase-1 Failure: No proposal chosen [spi=(Initiator: 0x1a2b3c4d5e6f7081 Responder: 0x0), src_ip=<203.0.113.5>, dst_ip=<198.51.100.1>]", ls.EvIKEProposalRefused, diag.CauseIKEProposalMismatch},
	{"junos-phase1-other", "Nov 27 04:18:39 srx kmd[1827]: KMD_VPN_PV_PHASE1: IKE Phase-1 Failure: Invalid payload type [spi=(Initiator: 0x1a2b3c4d5e6f7081 Responder: 0x0), src_ip=<203.0.113.5>, dst_ip=<198.51.100.1>]", ls.EvPhase1Failed, diag.CauseUnknown},
	{"junos-proxy-id", "Nov 27 04:18:39 srx kmd[1827]: IKE Phase-2: Failed to match the peer proxy ids [p2_proposal=<10.2.0.0/24, 10.1.0.0/24>] for local ip: 198.51.100.1", ls.EvTSNoConfig, diag.CauseTrafficSelectorMismatch},
	{"junos-policy-lookup", "Nov 27 04:18:39 srx kmd[1827]: IKE Phase-1: (Responder) Policy lookup failed [local_ip=198.51.100.1, remote_ip=203.0.113.5]", ls.EvNoPeerConfig, diag.CauseAuthFailed},
	{"junos-ts-mismatch", "Nov 27 04:18:39 srx kmd[1827]: KMD_VPN_TS_MISMATCH: Traffic-selector mismatch, vpn name: to-nsx, Peer Proposed traffic-selector local-ip: ipv4(10.2.0.0/24), Peer Proposed traffic-selector remote-ip: ipv4(10.1.0.0/24)", ls.EvTSNoConfig, diag.CauseTrafficSelectorMismatch},
	{"junos-dpd", "Nov 27 04:18:39 srx kmd[1827]: KMD_DPD_PEER_DOWN: DPD detected peer 203.0.113.5 down for gateway gw-nsx", ls.EvDPDDead, diag.CauseDPDPeerDead},
	{"junos-sa-up", "Nov 27 04:18:39 srx kmd[1827]: KMD_PM_SA_ESTABLISHED: Local gateway: 198.51.100.1, Remote gateway: 203.0.113.5, Local ID: ipv4_subnet(any:0,[0..7]=10.1.0.0/24), Remote ID: ipv4_subnet(any:0,[0..7]=10.2.0.0/24), Direction: inbound, SPI: 0x1234abcd, AUX-SPI: 0, Mode: Tunnel, Type: dynamic", ls.EvChildUp, diag.CauseUnknown},

	// Upstream wordings the inventories listed unmapped, in each daemon's syslog shape.
	{"charon-ikev1-no-peer-config", "Nov 27 04:18:39 gw charon: 11[IKE] no peer config found", ls.EvNoPeerConfig, diag.CauseAuthFailed},
	{"charon-ikev1-invalid-ts", "Nov 27 04:18:39 gw charon: 11[IKE] peer selected invalid traffic selectors: 10.3.0.0/24 for 10.1.0.0/24, 10.2.0.0/24 for 10.2.0.0/24", ls.EvTSUnacceptable, diag.CauseTrafficSelectorMismatch},
	{"charon-ke-not-proposed", "Nov 27 04:18:39 gw charon: 11[IKE] requested key exchange method ECP_384 not contained in any of our proposals", ls.EvPFSRefused, diag.CausePFSMismatch},
	{"pluto-ikev1-hash", `Nov 27 04:18:39 gw pluto[2211]: "dc-link" #1: received Hash Payload does not match computed value`, ls.EvPSKMismatch, diag.CauseAuthFailed},
	{"pluto-ikev2-no-psk", `Nov 27 04:18:39 gw pluto[2211]: "dc-link" #1: authentication failed: no PSK found for '@edge'`, ls.EvNoSharedKey, diag.CauseAuthFailed},
	{"pluto-ikev2-no-proposal", `Nov 27 04:18:39 gw pluto[2211]: "dc-link" #1: no local proposal matches remote proposals 1:IKE=AES_CBC_128-HMAC_SHA1-MODP1024`, ls.EvNoProposalFound, diag.CauseIKEProposalMismatch},
	{"pluto-ikev1-pfs", `Nov 27 04:18:39 gw pluto[2211]: "dc-link" #2: we require PFS but Quick I1 SA specifies no GROUP_DESCRIPTION`, ls.EvPFSRefused, diag.CausePFSMismatch},
}

// Ensure each line is read by its pattern in a file of its dialect, and alone gives its cause.
func TestClassify_VendorLines(t *testing.T) {
	table := ls.Table()
	for _, tc := range vendorLines {
		t.Run(tc.name, func(t *testing.T) {
			i := ls.MatchString(tc.line)
			if i < 0 {
				t.Fatalf("no pattern reads %q", tc.line)
			}
			if p := table[i]; p.Event != tc.event {
				t.Fatalf("event %s (pattern %q), want %s", p.Event, p.ERE, tc.event)
			} else if p.Format != ls.FormatAny && !slices.Contains(ls.DetectFormats([]byte(tc.line+"\n")), p.Format) {
				t.Fatalf("the line is not recognised as %s, the dialect of its pattern", p.Format)
			}
			v, err := Classify(t.Context(), Input{Logs: []LogSource{{Path: writeLog(t, "peer.log", tc.line), Year: 2026}}})
			if err != nil {
				t.Fatal(err)
			}
			if v.Cause != tc.cause {
				t.Fatalf("cause %s, want %s", v.Cause, tc.cause)
			}
		})
	}
}
