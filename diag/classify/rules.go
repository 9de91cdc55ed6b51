package classify

import (
	"ipsecbot/diag"
	ls "ipsecbot/diag/classify/logscan"
)

// Events that only captures and the NSX API produce (the log scanner's vocabulary is in logscan).
const (
	evIKEInitUnanswered   ls.Event = "pcap_ike_init_unanswered" // the first IKE request never answered
	evIKEUnanswered       ls.Event = "pcap_ike_unanswered"      // a later IKE request never answered
	evDPDUnanswered       ls.Event = "pcap_dpd_unanswered"      // liveness checks of an established SA unanswered
	evRekeyRejected       ls.Event = "pcap_rekey_rejected"      // CREATE_CHILD_SA rekeys answered with a bare notify
	evESPOneWay           ls.Event = "pcap_esp_one_way"         // ESP leaves and nothing comes back
	evESPBothWays         ls.Event = "pcap_esp_both_ways"       // ESP flows in both directions
	evESPUnanswered       ls.Event = "pcap_esp_unanswered"      // one side answers at once, the other never (echo.go)
	evESPLostOnPath       ls.Event = "pcap_esp_lost_on_path"    // an SPI seen at one site, not at the other (crosssite.go)
	evESPLargeLost        ls.Event = "pcap_esp_large_lost"      // echo-like ESP: small packets come back, large never do
	evICMPFragNeeded      ls.Event = "pcap_icmp_frag_needed"
	evPingDFLost          ls.Event = "pcap_ping_df_lost"          // small pings answered, large don't-fragment pings not
	evIdentityRefused     ls.Event = "pcap_identity_refused"      // IKEv1 MM5 answered by an informational, never by MM6 (mainmode.go)
	evPeerIdentityRefused ls.Event = "pcap_peer_identity_refused" // IKEv1 MM6 answered by the initiator's informational, no Quick Mode
	evIKEAuthRefused      ls.Event = "pcap_ike_auth_refused"      // IKEv2 IKE_AUTH answered, the IKE SA never established (ikeauth.go)
	evIKEAuthTornDown     ls.Event = "pcap_ike_auth_torn_down"    // IKEv2 IKE_AUTH answered, then an INFORMATIONAL at once, no CHILD_SA
	evQuickModeRefused    ls.Event = "pcap_quick_mode_refused"    // IKEv1 Quick Mode answered by an informational, not by QM2 (mainmode.go)
	evAnswersLost         ls.Event = "pcap_answers_lost"          // the first IKE request answered, yet resent and never followed up (answerslost.go)
	evStalled             ls.Event = "pcap_stalled"               // the first phase answered, the initiator's next message never came (answerslost.go)
	evTunnelUp            ls.Event = "api_tunnel_up"              // NSX says channel and tunnels are up
	evCountersBothWays    ls.Event = "counters_both_ways"         // tunnel counters (NSX statistics reads, show service ipsec sa) show traffic both ways
	evCountersOneRead     ls.Event = "counters_one_read"          // one statistics read: SAs up, packet counters non-zero both ways
	evConfigMismatch      ls.Event = "config_mismatch"            // the configuration comparison found a breaking difference
	evJudged              ls.Event = "judged"                     // a fact another step already judged (Input.Facts)
)

// cond is what was known when an observation was made, from the lines (or packets) before it.
type cond uint8

const (
	ikeUp   cond = 1 << iota // the IKE SA this line belongs to had been established
	childUp                  // a CHILD_SA of that IKE SA had been established (so this is a rekey)
	wasUp                    // the tunnel had been up earlier in this source (so this follows a drop)
	ikeProp                  // the proposals printed next to this line are IKE (phase 1) proposals
	espProp                  // ... ESP (phase 2 / CHILD_SA) proposals
	keGroup                  // the transform that failed is the key exchange (DH) group
	pskAuth                  // the IKE SA authenticates with a pre-shared key (a capture read it in the clear)
	tooSoon                  // an unanswered request was never retransmitted, or the capture ended before an answer was due
)

// rule gives an event, seen under some conditions, a weight towards one cause.
type rule struct {
	event  ls.Event
	when   cond // all of these must hold
	unless cond // none of these may hold
	cause  diag.Cause
	weight float64
}

// rules is the whole judgement, as data. Weights are how sure one such observation alone makes
// us (0..1); the strongest observation of a cause sets its score (see score.go). Specific,
// first-hand messages weigh more than their echoes: the side that rejected a proposal says why,
// the other side only hears NO_PROPOSAL_CHOSEN.
var rules = []rule{
	// The procedure's NSX failure messages (docs/procedure.md, step 7).
	{ls.EvNSXPeerNoResponse, 0, 0, diag.CausePeerUnreachable, 0.95},
	{ls.EvNSXNoProposal, 0, 0, diag.CauseIKEProposalMismatch, 0.95},
	{ls.EvNSXAuthFailed, 0, 0, diag.CauseAuthFailed, 0.95},
	{ls.EvNSXIPsecSAMismatch, 0, 0, diag.CauseIPsecProposalMismatch, 0.95},
	{ls.EvNSXTSMismatch, 0, 0, diag.CauseTrafficSelectorMismatch, 0.96},

	// Nobody answers.
	{ls.EvPeerNotResponding, 0, wasUp, diag.CausePeerUnreachable, 0.85},
	{ls.EvPeerNotResponding, wasUp, 0, diag.CausePeerUnreachable, 0.3}, // reconnecting after a drop
	{ls.EvGiveUp, 0, ikeUp | wasUp, diag.CausePeerUnreachable, 0.8},
	{ls.EvGiveUp, wasUp, ikeUp, diag.CausePeerUnreachable, 0.3},
	{ls.EvMaxRetransmissions, 0, ikeUp, diag.CausePeerUnreachable, 0.85},
	{ls.EvFirstUnanswered, 0, ikeUp | wasUp, diag.CausePeerUnreachable, 0.85},
	{ls.EvFirstUnanswered, wasUp, ikeUp, diag.CausePeerUnreachable, 0.3},
	{ls.EvNegotiationDown, 0, ikeUp, diag.CausePeerUnreachable, 0.6},
	{ls.EvRetransmit, 0, ikeUp | wasUp, diag.CausePeerUnreachable, 0.4},
	{evIKEInitUnanswered, 0, wasUp | tooSoon, diag.CausePeerUnreachable, 0.85},
	{evIKEInitUnanswered, wasUp, 0, diag.CausePeerUnreachable, 0.3},
	{evIKEInitUnanswered, tooSoon, 0, diag.CausePeerUnreachable, 0.3}, // one request at the end: a hint only
	{evIKEUnanswered, 0, ikeUp | wasUp | tooSoon, diag.CausePeerUnreachable, 0.75},
	{evIKEUnanswered, tooSoon, ikeUp | wasUp, diag.CausePeerUnreachable, 0.3},
	{evAnswersLost, 0, 0, diag.CausePeerUnreachable, 0.75},
	{evStalled, 0, 0, diag.CausePeerUnreachable, 0.4}, // a hint: an initiator that gave up looks the same

	// The peer died while the tunnel was up.
	{ls.EvDPDDead, 0, 0, diag.CauseDPDPeerDead, 0.95},
	{ls.EvGiveUp, ikeUp, 0, diag.CauseDPDPeerDead, 0.9},
	{ls.EvMaxRetransmissions, ikeUp, 0, diag.CauseDPDPeerDead, 0.7},
	{ls.EvPathProbeGiveUp, 0, 0, diag.CauseDPDPeerDead, 0.6},
	{ls.EvRetransmit, ikeUp, 0, diag.CauseDPDPeerDead, 0.3},
	{evDPDUnanswered, 0, 0, diag.CauseDPDPeerDead, 0.7},

	// Phase 1 / IKE SA proposals.
	{ls.EvNoProposalNotify, 0, ikeUp | espProp, diag.CauseIKEProposalMismatch, 0.9},
	{ls.EvNoAcceptable, ikeProp, 0, diag.CauseIKEProposalMismatch, 0.9},
	{ls.EvNoProposalFound, ikeProp, 0, diag.CauseIKEProposalMismatch, 0.88},
	{ls.EvNoProposalFound, 0, ikeUp | espProp, diag.CauseIKEProposalMismatch, 0.8},
	{ls.EvIKEProposalRefused, 0, 0, diag.CauseIKEProposalMismatch, 0.93},
	// An INVALID_KE_PAYLOAD request during IKE_SA_INIT is an ordinary retry: no cause. Once the
	// IKE SA is up it is about a CHILD_SA's PFS group.
	{ls.EvKEUnacceptable, ikeUp, 0, diag.CausePFSMismatch, 0.7},
	// One side requires a PFS group the other does not offer (or offers none): said outright.
	{ls.EvPFSRefused, 0, 0, diag.CausePFSMismatch, 0.92},

	// Phase 2 / CHILD_SA proposals, first negotiation.
	{ls.EvNoProposalNotify, ikeUp, childUp, diag.CauseIPsecProposalMismatch, 0.85},
	{ls.EvNoProposalNotify, espProp, childUp, diag.CauseIPsecProposalMismatch, 0.85},
	{ls.EvNoProposalChild, 0, childUp, diag.CauseIPsecProposalMismatch, 0.88},
	{ls.EvNoAcceptable, espProp, childUp | keGroup, diag.CauseIPsecProposalMismatch, 0.9},
	{ls.EvNoProposalFound, espProp, childUp | keGroup, diag.CauseIPsecProposalMismatch, 0.88},
	// ESP proposals that fail only on the DH group: in IKEv1 Quick Mode (and an IKEv2
	// CREATE_CHILD_SA) that group is PFS, so it is a PFS mismatch even on the first negotiation.
	{ls.EvNoAcceptable, espProp | keGroup, childUp, diag.CausePFSMismatch, 0.92},
	{ls.EvNoProposalFound, espProp | keGroup, childUp, diag.CausePFSMismatch, 0.9},
	{ls.EvNoAcceptable, espProp | keGroup, childUp, diag.CauseIPsecProposalMismatch, 0.6},
	{ls.EvNoProposalFound, espProp | keGroup, childUp, diag.CauseIPsecProposalMismatch, 0.6},
	{ls.EvNoProposalFound, ikeUp, childUp | ikeProp, diag.CauseIPsecProposalMismatch, 0.8},
	{ls.EvChildProposalRefused, 0, childUp, diag.CauseIPsecProposalMismatch, 0.9},
	// Pluto's Quick Mode that never got an acceptable answer: the responder refused phase 2
	// (proposal, PFS or proxy IDs) and said nothing; a hint until the responder's log says which.
	{ls.EvQuickModeUnanswered, 0, 0, diag.CauseIPsecProposalMismatch, 0.45},
	{ls.EvQuickModeUnanswered, 0, 0, diag.CauseTrafficSelectorMismatch, 0.4},
	{ls.EvQuickModeUnanswered, 0, 0, diag.CausePFSMismatch, 0.4},

	// The tunnel came up, then a rekey failed: the classic PFS flap.
	{ls.EvNoProposalChild, childUp, 0, diag.CausePFSMismatch, 0.9},
	{ls.EvNoProposalNotify, childUp, 0, diag.CausePFSMismatch, 0.85},
	{ls.EvNoAcceptable, espProp | childUp | keGroup, 0, diag.CausePFSMismatch, 0.93},
	{ls.EvNoAcceptable, espProp | childUp, keGroup, diag.CauseIPsecProposalMismatch, 0.8},
	{ls.EvNoProposalFound, espProp | childUp, 0, diag.CausePFSMismatch, 0.8},
	{ls.EvRekeyFailed, 0, 0, diag.CausePFSMismatch, 0.75},
	{ls.EvChildProposalRefused, childUp, 0, diag.CausePFSMismatch, 0.85},
	{evRekeyRejected, 0, 0, diag.CausePFSMismatch, 0.8},

	// Traffic selectors (and proxy IDs: INVALID_ID_INFORMATION once the IKE SA is up).
	{ls.EvTSUnacceptable, 0, 0, diag.CauseTrafficSelectorMismatch, 0.9},
	{ls.EvTSNoConfig, 0, 0, diag.CauseTrafficSelectorMismatch, 0.92},
	{ls.EvInvalidID, ikeUp, 0, diag.CauseTrafficSelectorMismatch, 0.8},
	{ls.EvPayloadMalformed, ikeUp, 0, diag.CauseTrafficSelectorMismatch, 0.5},

	// Identities seen locally as not matching.
	{ls.EvIDMismatch, 0, 0, diag.CauseInvalidID, 0.95},
	{ls.EvInvalidID, 0, ikeUp, diag.CauseInvalidID, 0.85},
	{ls.EvPayloadMalformed, 0, ikeUp, diag.CauseInvalidID, 0.6},
	{ls.EvNoPeerConfig, 0, 0, diag.CauseInvalidID, 0.5},
	{ls.EvPeerConfigRefused, 0, 0, diag.CauseInvalidID, 0.7},
	{ls.EvPeerConfigRefused, 0, 0, diag.CauseAuthFailed, 0.45},

	// Authentication (PSK, or an ID mismatch the peer reports as an authentication failure).
	{ls.EvAuthFailedNotify, 0, 0, diag.CauseAuthFailed, 0.9},
	{ls.EvMACMismatch, 0, 0, diag.CauseAuthFailed, 0.93},
	{ls.EvPSKMismatch, 0, 0, diag.CauseAuthFailed, 0.9},
	{ls.EvDecryptFailed, 0, 0, diag.CauseAuthFailed, 0.95}, // IKEv1: the keys differ, so do the PSKs
	{ls.EvNoSharedKey, 0, 0, diag.CauseAuthFailed, 0.85},
	{ls.EvNoPeerConfig, 0, 0, diag.CauseAuthFailed, 0.8},
	{ls.EvAuthUnanswered, 0, 0, diag.CauseAuthFailed, 0.75}, // pluto: MM5 never answered acceptably
	{ls.EvSignatureFailed, 0, 0, diag.CauseAuthFailed, 0.55},
	{ls.EvSignatureFailed, 0, 0, diag.CauseNoTrustedCA, 0.5},

	// Refused encrypted identities (IKEv1 Main Mode, mainmode.go says why). With a pre-shared
	// key the capture names the cause; with certificates the CA is as likely as the ID or key,
	// so each stays a hint below the threshold and the logs decide.
	{evIdentityRefused, pskAuth, 0, diag.CauseAuthFailed, 0.8},
	{evIdentityRefused, 0, pskAuth, diag.CauseAuthFailed, 0.45},
	{evIdentityRefused, 0, pskAuth, diag.CauseNoTrustedCA, 0.45},
	{evPeerIdentityRefused, pskAuth, 0, diag.CauseInvalidID, 0.7},
	{evPeerIdentityRefused, 0, pskAuth, diag.CauseAuthFailed, 0.45},
	{evPeerIdentityRefused, 0, pskAuth, diag.CauseNoTrustedCA, 0.45},

	// Failures inside encrypted IKE whose shape fits several causes: hints only, so a capture
	// alone says unknown and names them, and the logs decide (ikeauth.go, mainmode.go).
	{evIKEAuthRefused, 0, 0, diag.CauseAuthFailed, 0.45},
	{evIKEAuthRefused, 0, 0, diag.CauseNoTrustedCA, 0.4},
	{evIKEAuthTornDown, 0, 0, diag.CauseIPsecProposalMismatch, 0.4},
	{evIKEAuthTornDown, 0, 0, diag.CauseTrafficSelectorMismatch, 0.4},
	{evIKEAuthTornDown, 0, 0, diag.CauseAuthFailed, 0.35},
	{evIKEAuthTornDown, 0, 0, diag.CauseNoTrustedCA, 0.35},
	{evQuickModeRefused, 0, 0, diag.CauseIPsecProposalMismatch, 0.45},
	{evQuickModeRefused, 0, 0, diag.CauseTrafficSelectorMismatch, 0.4},
	{evQuickModeRefused, 0, 0, diag.CausePFSMismatch, 0.35},

	// Certificates.
	{ls.EvNoTrustedKey, 0, 0, diag.CauseNoTrustedCA, 0.95},
	{ls.EvInvalidKey, 0, 0, diag.CauseNoTrustedCA, 0.9},
	{ls.EvNoIssuer, 0, 0, diag.CauseNoTrustedCA, 0.85},
	{ls.EvCertRejected, 0, 0, diag.CauseNoTrustedCA, 0.93},
	{ls.EvPayloadMalformed, 0, ikeUp, diag.CauseNoTrustedCA, 0.5},

	// The data path.
	{evESPLostOnPath, 0, 0, diag.CauseESPBlocked, 0.95}, // two captures: direct proof
	{evESPOneWay, 0, 0, diag.CauseESPBlocked, 0.9},
	{evESPUnanswered, 0, 0, diag.CauseESPBlocked, 0.8}, // one capture, by pairing: may be one-way traffic
	{ls.EvChildOneWay, 0, 0, diag.CauseESPBlocked, 0.7},
	{evESPLargeLost, 0, 0, diag.CauseMTUFragmentation, 0.88},
	{evPingDFLost, 0, 0, diag.CauseMTUFragmentation, 0.88},
	{evICMPFragNeeded, 0, 0, diag.CauseMTUFragmentation, 0.75},

	// Vendor lines that say only which phase failed.
	{ls.EvPhase1Failed, 0, 0, diag.CauseIKEProposalMismatch, 0.35},
	{ls.EvPhase1Failed, 0, 0, diag.CauseAuthFailed, 0.3},
	{ls.EvPhase2Failed, 0, 0, diag.CauseIPsecProposalMismatch, 0.35},
	{ls.EvPhase2Failed, 0, 0, diag.CauseTrafficSelectorMismatch, 0.3},

	// Up and passing traffic. SAs up alone are not healthy: healthy needs one of trafficEvents
	// too (score.go), or an ESP-blocked tunnel would look fine from its logs.
	{ls.EvChildUp, 0, 0, diag.CauseHealthy, 0.55},
	{evESPBothWays, 0, 0, diag.CauseHealthy, 0.7},
	{evCountersBothWays, 0, 0, diag.CauseHealthy, 0.65},
	{evCountersOneRead, 0, 0, diag.CauseHealthy, 0.58}, // traffic passed once; two reads show it passes now
	{evTunnelUp, 0, 0, diag.CauseHealthy, 0.6},
}

// trafficEvents show traffic passing both ways: what healthy needs beyond SAs that are up.
var trafficEvents = map[ls.Event]bool{evESPBothWays: true, evCountersBothWays: true, evCountersOneRead: true}

// matching returns the rules an observation satisfies.
func matching(ev ls.Event, c cond) []rule {
	var out []rule
	for _, r := range rules {
		if r.event == ev && c&r.when == r.when && c&r.unless == 0 {
			out = append(out, r)
		}
	}
	return out
}
