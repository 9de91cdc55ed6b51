package logscan

import (
	"bytes"
	"regexp"
)

// Event names what a matched log line says, independent of which daemon wrote it. The
// classifier's rules (diag/classify) give each event a weight per cause.
type Event string

// The event vocabulary. Several patterns may say the same thing in different dialects.
const (
	// NSX failure messages (the procedure's table); they also appear in Edge logs.
	EvNSXPeerNoResponse  Event = "nsx_peer_no_response"
	EvNSXNoProposal      Event = "nsx_no_proposal"
	EvNSXAuthFailed      Event = "nsx_auth_failed"
	EvNSXIPsecSAMismatch Event = "nsx_ipsec_sa_mismatch"
	EvNSXTSMismatch      Event = "nsx_ts_mismatch"

	// Reachability and liveness.
	EvRetransmit         Event = "retransmit"          // one retransmission of a request
	EvGiveUp             Event = "give_up"             // retransmissions exhausted
	EvPeerNotResponding  Event = "peer_not_responding" // an IKE SA could not be established
	EvMaxRetransmissions Event = "max_retransmissions" // pluto's give-up, with the state it was in
	EvDPDDead            Event = "dpd_dead"            // DPD declared the peer dead
	EvPathProbeGiveUp    Event = "path_probe_give_up"  // MOBIKE path probing gave up

	// Proposals.
	EvNoProposalNotify Event = "no_proposal_notify" // NO_PROPOSAL_CHOSEN received or sent
	EvNoProposalChild  Event = "no_proposal_child"  // NO_PROPOSAL_CHOSEN for a CHILD_SA
	EvNoAcceptable     Event = "no_acceptable"      // "no acceptable X found": which transform failed
	EvNoProposalFound  Event = "no_proposal_found"  // the responder found no matching proposal
	EvProposals        Event = "proposals"          // configured/received proposals (values for remediation)
	EvRekeyFailed      Event = "rekey_failed"       // a CHILD_SA rekey failed

	// Traffic selectors.
	EvTSUnacceptable Event = "ts_unacceptable"
	EvTSNoConfig     Event = "ts_no_config" // the responder has no CHILD_SA config for the proposed selectors

	// Authentication and identities.
	EvAuthFailedNotify Event = "auth_failed_notify"
	EvMACMismatch      Event = "psk_mac_mismatch"
	EvPSKMismatch      Event = "psk_mismatch" // pluto's "mismatch of preshared secrets"
	EvNoSharedKey      Event = "no_shared_key"
	EvNoPeerConfig     Event = "no_peer_config"
	EvIDMismatch       Event = "id_mismatch"
	EvDecryptFailed    Event = "decrypt_failed" // IKEv1: keys differ, so the PSKs differ
	EvInvalidID        Event = "invalid_id_information"
	EvPayloadMalformed Event = "payload_malformed"

	// Certificates.
	EvInvalidKey   Event = "invalid_key_information"
	EvNoTrustedKey Event = "no_trusted_key" // no (trusted) public key for the peer's ID
	EvNoIssuer     Event = "no_issuer"

	// State.
	EvIKEUp           Event = "ike_up"
	EvChildUp         Event = "child_up"
	EvChildOneWay     Event = "child_one_way" // a CHILD_SA closed having received nothing but sent bytes
	EvVersion1        Event = "ikev1"
	EvVersion2        Event = "ikev2"
	EvPhase1Failed    Event = "phase1_failed"
	EvPhase2Failed    Event = "phase2_failed"
	EvNegotiationDown Event = "negotiation_timeout"
)

// Pattern is one thing the scanner looks for: a POSIX ERE, and a literal that every line the
// ERE matches contains (the prefilter searches for the literal; the ERE only runs on lines that
// contain it). A line is reported once, with the first pattern of the table that matches it.
type Pattern struct {
	Event Event
	ERE   string // as --print-patterns prints it, and as grep -E reads it
	Key   string // a literal substring of every match
	Note  string // where the string comes from
	key   []byte
	re    *regexp.Regexp // nil when ERE is the quoted Key
}

// table is ordered: specific patterns first, so that a line saying two things is reported as
// the more specific one (the NSX message before a bare notify name).
var table = []Pattern{
	// The procedure's table of NSX failure messages (docs/procedure.md step 7), verbatim.
	lit(EvNSXPeerNoResponse, "Retransmitting IKE Message as no response from Peer.", "NSX table, peer unreachable"),
	lit(EvNSXNoProposal, "No Proposal Chosen.Check configured Encrypt", "NSX table, IKEv1 and IKEv2 proposal mismatch"),
	lit(EvNSXAuthFailed, "Authentication Failed.Check the configured secret or local/peer ID configuration.", "NSX table, PSK/ID/certificate mismatch"),
	lit(EvNSXIPsecSAMismatch, "IPSec-SA Proposals or Traffic Selectors did not match.", "NSX table, IPsec SA proposal mismatch"),
	lit(EvNSXTSMismatch, "Traffic selectors did not match.Check left/right subnet configuration.", "NSX table, traffic selector mismatch"),

	// strongSwan charon (docs/nsx-formats.md §7.3 and the lab's real logs).
	lit(EvDPDDead, "DPD check timed out, enforcing DPD action", "charon IKEv1 DPD"),
	lit(EvDPDDead, "DPD: No response from peer - declaring peer dead", "pluto DPD (procedure step 6)"),
	lit(EvDPDDead, "Peer is not responsive - Declaring peer dead", "AWS-style DPD"),
	re(EvPathProbeGiveUp, "giving up after [0-9]+ path probings", "giving up after ", "charon MOBIKE"),
	re(EvGiveUp, "giving up after [0-9]+ retransmits", "giving up after ", "charon"),
	lit(EvPeerNotResponding, "establishing IKE_SA failed, peer not responding", "charon"),
	re(EvRetransmit, "retransmit [0-9]+ of request message ID", " of request message ID", "charon IKEv1"),
	re(EvRetransmit, "retransmit [0-9]+ of request with message ID", " of request with message ID", "charon IKEv2"),
	lit(EvNoProposalChild, "received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built", "charon IKEv2 CHILD_SA"),
	lit(EvRekeyFailed, "CHILD_SA rekeying failed", "charon"),
	re(EvNoAcceptable, "no acceptable [A-Z_]+ found", "no acceptable ", "charon proposal selection"),
	lit(EvNoProposalFound, "no acceptable proposal found", "charon IKEv2 responder"),
	lit(EvNoProposalFound, "no proposal found", "charon IKEv1 Main Mode responder"),
	lit(EvNoProposalFound, "no matching proposal found, sending NO_PROPOSAL_CHOSEN", "charon IKEv1 Quick Mode responder"),
	lit(EvProposals, "configured proposals: ", "charon: this side's proposals"),
	lit(EvProposals, "received proposals: ", "charon: the other side's proposals"),
	re(EvTSUnacceptable, "traffic selectors .* unacceptable", "traffic selectors ", "charon IKEv2 responder"),
	lit(EvTSNoConfig, "no matching CHILD_SA config found for", "charon IKEv1 responder (proxy ID not found)"),
	lit(EvTSUnacceptable, "TS_UNACCEPTABLE", "IKEv2 notify"),
	lit(EvTSUnacceptable, "INVALID_SELECTORS", "IKEv2 notify"),
	lit(EvTSUnacceptable, "SINGLE_PAIR_REQUIRED", "IKEv2 notify: the responder takes one selector pair only"),
	re(EvMACMismatch, "shared key for .* but MAC mismatched", "but MAC mismatched", "charon PSK mismatch"),
	lit(EvNoSharedKey, "no shared key found for", "charon"),
	lit(EvNoPeerConfig, "no matching peer config found", "charon IKEv2 responder"),
	re(EvIDMismatch, "IDir '[^']*' does not match to '", "does not match to '", "charon IKEv1 ID mismatch"),
	re(EvIDMismatch, "peer to have ID '[^']*', but peer declares", "but peer declares", "pluto ID mismatch"),
	lit(EvDecryptFailed, "decryption failed?", "charon IKEv1 PSK mismatch"),
	re(EvNoTrustedKey, "no trusted [A-Z]+ public key found for", "public key found for", "charon certificate"),
	lit(EvNoTrustedKey, "no RSA public key known for", "pluto certificate (procedure step 6)"),
	lit(EvNoIssuer, "no issuer certificate found for", "charon certificate"),
	lit(EvPSKMismatch, "mismatch of preshared secrets", "pluto IKEv1 PSK mismatch"),
	lit(EvNoSharedKey, "no preshared key found for", "pluto"),
	re(EvMaxRetransmissions, "max number of retransmissions \\([0-9]+\\) reached", "max number of retransmissions", "pluto"),
	re(EvChildOneWay, "closing CHILD_SA .* with SPIs [0-9a-f]+_i \\(0 bytes\\) [0-9a-f]+_o \\([1-9][0-9]* bytes\\)", "closing CHILD_SA ", "charon: nothing received on the SA"),
	re(EvIKEUp, "IKE_SA [^ ]+ established between", "established between", "charon"),
	re(EvChildUp, "CHILD_SA [^ ]+ established with SPIs", "established with SPIs", "charon"),
	lit(EvIKEUp, "ISAKMP SA established", "pluto IKEv1"),
	lit(EvChildUp, "IPsec SA established", "pluto"),
	lit(EvIKEUp, "established IKE SA", "libreswan IKEv2"),
	lit(EvChildUp, "established Child SA", "libreswan IKEv2"),
	lit(EvVersion1, "initiating Main Mode IKE_SA", "charon IKEv1 initiator"),
	lit(EvVersion1, "initiating Aggressive Mode IKE_SA", "charon IKEv1 initiator"),
	lit(EvVersion1, "is initiating a Main Mode IKE_SA", "charon IKEv1 responder"),
	lit(EvVersion2, "is initiating an IKE_SA", "charon IKEv2 responder"),
	re(EvVersion2, "initiating IKE_SA [^ ]+ to ", "initiating IKE_SA ", "charon IKEv2 initiator"),

	// The procedure's common log findings (step 6) and the notify names behind them.
	lit(EvAuthFailedNotify, "AUTHENTICATION_FAILED", "IKEv2 notify"),
	lit(EvInvalidID, "INVALID_ID_INFORMATION", "procedure step 6: invalid ID or proxy ID"),
	lit(EvInvalidKey, "INVALID_KEY_INFORMATION", "procedure step 6: no trusted CA"),
	lit(EvPayloadMalformed, "PAYLOAD_MALFORMED", "procedure step 6"),
	lit(EvNoProposalNotify, "NO_PROPOSAL_CHOSEN", "IKE notify (charon, pluto, SonicWall)"),

	// SonicWall and WatchGuard (docs/nsx-formats.md §7.1, §7.2).
	lit(EvRetransmit, "Remote party timeout - Retransmitting IKE", "SonicWall"),
	lit(EvPeerNotResponding, "No response - remote party timeout", "SonicWall"),
	lit(EvNegotiationDown, "IKE negotiation aborted due to timeout", "SonicWall"),
	lit(EvNoProposalFound, "IKE proposal does not match", "SonicWall IKEv2"),
	re(EvPhase1Failed, "IKE phase-1 negotiation from .* failed", "IKE phase-1 negotiation from ", "WatchGuard"),
	re(EvPhase2Failed, "IKE phase-2 negotiation from .* failed", "IKE phase-2 negotiation from ", "WatchGuard"),
	lit(EvPeerNotResponding, "Message retry timeout", "WatchGuard"),
}

// lit is a pattern that is a plain string.
func lit(ev Event, s, note string) Pattern {
	return Pattern{Event: ev, ERE: escapeERE(s), Key: s, Note: note, key: []byte(s)}
}

// re is a pattern with regular-expression parts; key must be a literal of every match.
func re(ev Event, ere, key, note string) Pattern {
	return Pattern{Event: ev, ERE: ere, Key: key, Note: note, key: []byte(key), re: regexp.MustCompilePOSIX(ere)}
}

// escapeERE quotes the ERE metacharacters of s (regexp.QuoteMeta's set: \.+*?()|[]{}^$),
// which grep -E reads back as the same literal.
func escapeERE(s string) string { return regexp.QuoteMeta(s) }

// Patterns returns the scanner's patterns as POSIX EREs, one per entry, in table order:
// exactly the set `bot analyze --print-patterns` prints and the scanner uses.
func Patterns() []string {
	out := make([]string, len(table))
	for i, p := range table {
		out[i] = p.ERE
	}
	return out
}

// Table returns a copy of the pattern table (events, EREs, keys and notes).
func Table() []Pattern {
	out := make([]Pattern, len(table))
	copy(out, table)
	return out
}

// Match reports the first pattern of the table that matches line, or -1.
func Match(line []byte) int {
	for i := range table {
		if matches(&table[i], line) {
			return i
		}
	}
	return -1
}

// MatchString is Match for a string (API fields, show output).
func MatchString(s string) int { return Match([]byte(s)) }

func matches(p *Pattern, line []byte) bool {
	if !bytes.Contains(line, p.key) {
		return false
	}
	return p.re == nil || p.re.Match(line)
}

// PatternEvent returns the event of pattern i.
func PatternEvent(i int) Event { return table[i].Event }
