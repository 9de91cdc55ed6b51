package logscan

import (
	"bytes"
	"math/bits"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
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

	// Refusals and silences named by the implementations' own sources (vocabulary.go says where).
	EvCertRejected         Event = "cert_rejected"          // the certificate chain or its validity was refused
	EvSignatureFailed      Event = "signature_failed"       // a signature did not verify (wrong key or untrusted certificate)
	EvPeerConfigRefused    Event = "peer_config_refused"    // the authenticated peer does not fit the selected config
	EvIKEProposalRefused   Event = "ike_proposal_refused"   // this side found no acceptable IKE (phase 1) transform
	EvChildProposalRefused Event = "child_proposal_refused" // this side found no acceptable ESP/AH (phase 2) proposal
	EvKEUnacceptable       Event = "ke_unacceptable"        // this side asks for another DH group (INVALID_KE_PAYLOAD)
	EvPFSRefused           Event = "pfs_refused"            // phase 2 failed on PFS: one side requires a DH group the other does not offer
	EvQuickModeUnanswered  Event = "quick_mode_unanswered"  // pluto: Quick Mode never got an acceptable answer
	EvAuthUnanswered       Event = "auth_unanswered"        // pluto: the first encrypted message never got an acceptable answer
	EvFirstUnanswered      Event = "first_unanswered"       // the first IKE message never got an answer
)

// Role says which side of a negotiation a line speaks for. The side that decided (refused a
// proposal, an identity, a certificate) knows why; the side that only heard the refusal knows
// that it was refused. The classifier lets the first outweigh the second.
type Role uint8

const (
	RoleState   Role = iota // a state change or a count: neither side decided anything
	RoleDecided             // this side refused, or established, on its own judgement
	RoleHeard               // this side was told by the other side (a received notify)
	RoleNotify              // a bare notify name: "received ..." is heard, otherwise decided
)

// Pattern is one thing the scanner looks for: a POSIX ERE, and a literal that every line the
// ERE matches contains (the prefilter searches for the literal; the ERE only runs on lines that
// contain it). A line is reported once, with the first pattern of the table that matches it.
type Pattern struct {
	Event  Event
	Role   Role
	ERE    string // as --print-patterns prints it, and as grep -E reads it
	Key    string // a literal substring of every match
	Origin string // where the wording comes from: upstream file and function, or a vendor's document
	Format Format // the dialect that logs it; FormatAny: any log may carry it
	key    []byte
	musts  [][]byte       // other literals every match contains (requiredLiterals)
	re     *regexp.Regexp // nil when ERE is the quoted Key
}

// Origins name the upstream source of a wording. Upstream trees: strongSwan (src/...), libreswan
// (programs/pluto/..., tag named when the wording changed between versions). A vendor's wording
// says whether it was verified against a published sample ("vendor verified") or inferred from
// the vendor's message reference without a sample ("vendor inferred").
const (
	ss  = "strongswan "
	lsw = "libreswan "
	nsx = "vmware nsx-v 6.4 ipsec troubleshooting, failure message table"

	asaGuide = "vendor inferred: Cisco ASA/FTD syslog messages guide, "
	junos    = "vendor inferred: Juniper SRX Junos system log messages, "

	// sourceOnly marks a wording read in the source (or named by an RFC) for which no published
	// log line was found to test it with.
	sourceOnly = " [source only: no published log line]"
)

// table is ordered: specific patterns first, so that a line saying two things is reported as
// the more specific one (the NSX message before a bare notify name).
var table = []Pattern{
	// The NSX-v procedure's table of failure messages, verbatim.
	lit(EvNSXPeerNoResponse, RoleHeard, "Retransmitting IKE Message as no response from Peer.", nsx),
	lit(EvNSXNoProposal, RoleDecided, "No Proposal Chosen.Check configured Encrypt", nsx),
	lit(EvNSXAuthFailed, RoleDecided, "Authentication Failed.Check the configured secret or local/peer ID configuration.", nsx),
	lit(EvNSXIPsecSAMismatch, RoleDecided, "IPSec-SA Proposals or Traffic Selectors did not match.", nsx),
	lit(EvNSXTSMismatch, RoleDecided, "Traffic selectors did not match.Check left/right subnet configuration.", nsx),

	// strongSwan charon.
	lit(EvDPDDead, RoleDecided, "DPD check timed out, enforcing DPD action", ss+"src/libcharon/processing/jobs/dpd_timeout_job.c execute"),
	lit(EvDPDDead, RoleDecided, "DPD: No response from peer - declaring peer dead", "openswan programs/pluto/dpd.c dpd_timeout (quoted by the nsx-v procedure, step 6)"+sourceOnly),
	lit(EvDPDDead, RoleDecided, "Peer is not responsive - Declaring peer dead", "vendor inferred: AWS site-to-site VPN tunnel log (DPD)"),
	re(EvPathProbeGiveUp, RoleState, "giving up after [0-9]+ path probings", "giving up after ", ss+"src/libcharon/sa/ikev2/task_manager_v2.c retransmit"+sourceOnly),
	re(EvGiveUp, RoleState, "giving up after [0-9]+ retransmits", "giving up after ", ss+"src/libcharon/sa/ikev2/task_manager_v2.c retransmit; ikev1/task_manager_v1.c retransmit"),
	lit(EvPeerNotResponding, RoleState, "establishing IKE_SA failed, peer not responding", ss+"src/libcharon/sa/ike_sa.c retransmit"),
	re(EvRetransmit, RoleState, "retransmit [0-9]+ of request message ID", " of request message ID", ss+"src/libcharon/sa/ikev1/task_manager_v1.c retransmit"),
	re(EvRetransmit, RoleState, "retransmit [0-9]+ of request with message ID", " of request with message ID", ss+"src/libcharon/sa/ikev2/task_manager_v2.c retransmit"),
	lit(EvNoProposalChild, RoleHeard, "received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built", ss+"src/libcharon/sa/ikev2/tasks/child_create.c process_i"),
	lit(EvRekeyFailed, RoleState, "CHILD_SA rekeying failed", ss+"src/libcharon/sa/ikev2/tasks/child_rekey.c schedule_delayed_rekey"),
	re(EvNoAcceptable, RoleDecided, "no acceptable [A-Z_]+ found", "no acceptable ", ss+"src/libstrongswan/crypto/proposal/proposal.c select_algos"),
	lit(EvNoProposalFound, RoleDecided, "no acceptable proposal found", ss+"src/libcharon/sa/ikev2/tasks/ike_init.c build_r; child_create.c select_proposal"),
	lit(EvNoProposalFound, RoleDecided, "received proposals unacceptable", ss+"src/libcharon/sa/ikev2/tasks/ike_init.c build_r"),
	lit(EvNoProposalFound, RoleDecided, "no proposal found", ss+"src/libcharon/sa/ikev1/tasks/main_mode.c process_r; aggressive_mode.c process_r"),
	lit(EvNoProposalFound, RoleDecided, "no matching proposal found, sending NO_PROPOSAL_CHOSEN", ss+"src/libcharon/sa/ikev1/tasks/quick_mode.c process_r"),
	lit(EvProposals, RoleState, "configured proposals: ", ss+"src/libstrongswan/crypto/proposal/proposal.c select (logged beside a selection)"),
	lit(EvProposals, RoleState, "received proposals: ", ss+"src/libstrongswan/crypto/proposal/proposal.c select (logged beside a selection)"),
	re(EvKEUnacceptable, RoleDecided, "(DH group|key exchange method) [A-Z_0-9]+ unacceptable, requesting", "unacceptable, requesting", ss+"src/libcharon/sa/ikev2/tasks/child_create.c check_ke_method_r; ike_init.c build_r"+sourceOnly),
	re(EvTSUnacceptable, RoleDecided, "traffic selectors .* unacceptable", "traffic selectors ", ss+"src/libcharon/sa/ikev2/tasks/child_create.c build_r"),
	lit(EvTSNoConfig, RoleDecided, "no matching CHILD_SA config found for", ss+"src/libcharon/sa/ikev1/tasks/quick_mode.c process_r"),
	lit(EvTSNoConfig, RoleDecided, "no acceptable traffic selectors found", ss+"src/libcharon/sa/ikev2/tasks/child_create.c narrow_and_check_ts; ikev1/tasks/quick_mode.c install"),
	re(EvMACMismatch, RoleDecided, "shared key for .* but MAC mismatched", "but MAC mismatched", ss+"src/libcharon/sa/ikev2/authenticators/psk_authenticator.c process"),
	lit(EvPSKMismatch, RoleDecided, "calculated HASH does not match HASH payload", ss+"src/libcharon/sa/ikev1/authenticators/psk_v1_authenticator.c process"),
	lit(EvNoSharedKey, RoleDecided, "no shared key found for", ss+"src/libcharon/sa/ikev2/authenticators/psk_authenticator.c process; ikev1/phase1.c lookup_shared_key"+sourceOnly),
	lit(EvNoPeerConfig, RoleDecided, "no matching peer config found", ss+"src/libcharon/sa/ikev2/tasks/ike_auth.c load_cfg_candidates"),
	lit(EvNoPeerConfig, RoleDecided, "no peer config found", ss+"src/libcharon/sa/ikev1/phase1.c select_config"),
	lit(EvTSUnacceptable, RoleDecided, "peer selected invalid traffic selectors", ss+"src/libcharon/sa/ikev1/tasks/quick_mode.c get_ts"+sourceOnly),
	re(EvPFSRefused, RoleDecided, "requested (DH group|key exchange method) [A-Z_0-9]+ not contained in any of our proposals", "not contained in any of our proposals", ss+"src/libcharon/sa/ikev2/tasks/child_create.c build_i"+sourceOnly),
	re(EvPeerConfigRefused, RoleDecided, "selected peer config '[^']*' unacceptable", "selected peer config '", ss+"src/libcharon/sa/ikev2/tasks/ike_auth.c process_r; ikev1/phase1.c select_config"+sourceOnly),
	re(EvIDMismatch, RoleDecided, "constraint check failed: [A-Za-z ]*identity '", "constraint check failed: ", ss+"src/libstrongswan/credentials/auth_cfg.c complies"),
	re(EvCertRejected, RoleDecided, "constraint check failed: peer not authenticated by", "constraint check failed: peer not ", ss+"src/libstrongswan/credentials/auth_cfg.c complies"),
	re(EvCertRejected, RoleDecided, "constraint check failed: RULE_(CRL|OCSP)_VALIDATION", "constraint check failed: RULE_", ss+"src/libstrongswan/credentials/auth_cfg.c complies"),
	re(EvIDMismatch, RoleDecided, "IDir '[^']*' does not match to '", "does not match to '", ss+"src/libcharon/sa/ikev1/tasks/main_mode.c process_i; aggressive_mode.c process_i"),
	re(EvIDMismatch, RoleDecided, "peer to have ID '[^']*', but peer declares", "', but peer declares", lsw+"v3.32 programs/pluto/ikev1.c decode_peer_id"+sourceOnly),
	lit(EvDecryptFailed, RoleDecided, "payload length, decryption failed", ss+"src/libcharon/encoding/payloads/encrypted_payload.c parse"),
	re(EvNoTrustedKey, RoleDecided, "no trusted [A-Z]+ public key found for", "public key found for", ss+"src/libcharon/sa/ikev2/authenticators/pubkey_authenticator.c process; ikev1 pubkey_v1_authenticator.c process"),
	lit(EvNoTrustedKey, RoleDecided, "no RSA public key known for", "openswan programs/pluto/ikev1_main.c (quoted by the nsx-v procedure, step 6)"+sourceOnly),
	lit(EvNoIssuer, RoleDecided, "no issuer certificate found for", ss+"src/libstrongswan/credentials/credential_manager.c verify_trust_chain"),
	re(EvCertRejected, RoleDecided, "certificate invalid \\(valid from", "certificate invalid (valid from", ss+"src/libstrongswan/credentials/credential_manager.c check_lifetime; libcharon/sa/ike_sa.c verify_peer_certificate"),
	lit(EvCertRejected, RoleDecided, "certificate was revoked on", ss+"src/libstrongswan/plugins/revocation/revocation_validator.c validate_online"),
	lit(EvSignatureFailed, RoleDecided, "signature validation failed, looking for another key", ss+"src/libcharon/sa/ikev2/authenticators/pubkey_authenticator.c process"+sourceOnly),

	// libreswan pluto (4.x wording; 3.x where it differs).
	lit(EvPSKMismatch, RoleHeard, "mismatch of preshared secrets", lsw+"v4.15 programs/pluto/ikev1.c process_packet_tail"+sourceOnly),
	lit(EvPSKMismatch, RoleDecided, "computed hash does not match hash received from peer", lsw+"v4.15 programs/pluto/ikev2_psk.c ikev2_calculate_psk_sighash"),
	lit(EvNoSharedKey, RoleDecided, "no preshared key found for", lsw+"v4.15 programs/pluto/ikev1_spdb_struct.c ikev1_verify_ike"+sourceOnly),
	lit(EvPSKMismatch, RoleDecided, "received Hash Payload does not match computed value", lsw+"v4.15, v5 programs/pluto/ikev1_peer_id.c oakley_auth"+sourceOnly),
	lit(EvNoSharedKey, RoleDecided, "authentication failed: no PSK found for", lsw+"v4.15, v5 programs/pluto/ikev2_psk.c ikev2_calculate_psk_sighash"+sourceOnly),
	lit(EvNoProposalFound, RoleDecided, "no local proposal matches remote proposals", lsw+"v4.15 programs/pluto/ikev2_proposals.c ikev2_process_sa_payload"+sourceOnly),
	lit(EvPFSRefused, RoleDecided, "we require PFS but Quick I1 SA specifies no GROUP_DESCRIPTION", lsw+"v4.15, v5 programs/pluto/ikev1_quick.c quick_inI1_outR1_continue_tail"+sourceOnly),
	re(EvCertRejected, RoleDecided, "NSS: ERROR: .* certificate .* invalid: SEC_ERROR_", " invalid: SEC_ERROR_", lsw+"v4.15 programs/pluto/nss_cert_verify.c log_bad_cert"),
	lit(EvCertRejected, RoleDecided, "no Certificate Authority in NSS Certificate DB", lsw+"v4.15 programs/pluto/nss_cert_verify.c find_and_verify_certs"),
	lit(EvCertRejected, RoleDecided, "X509: CERT payload bogus or revoked", lsw+"v4.15 programs/pluto/ikev1_main.c main_inI3_outR3_continue"),
	lit(EvSignatureFailed, RoleDecided, "X509: certificate payload rejected for this connection", lsw+"v4.15 programs/pluto/cert_decode_helper.c cert_decode_completed"),
	re(EvIDMismatch, RoleDecided, "X509: authentication failed; peer .* does not match", "X509: authentication failed; peer ", lsw+"v4.15 programs/pluto/nss_cert_verify.c cert_verify_subject_alt_name; x509.c match_end_cert_id"),
	re(EvSignatureFailed, RoleDecided, "Signature check \\(on .*\\) failed", "Signature check (on ", lsw+"v4.15 programs/pluto/keys.c authsig_and_log_using_pubkey"),
	lit(EvIKEProposalRefused, RoleDecided, "no acceptable Oakley Transform", lsw+"v4.15 programs/pluto/ikev1_spdb_struct.c ikev1_verify_ike"+sourceOnly),
	lit(EvChildProposalRefused, RoleDecided, "no acceptable Proposal in IPsec SA", lsw+"v4.15 programs/pluto/ikev1_spdb_struct.c echo_proposal"+sourceOnly),
	lit(EvChildProposalRefused, RoleDecided, "responder matching remote ESP/AH proposals failed", lsw+"v4.15 programs/pluto/ikev2_child.c process_v2_childs_sa_payload"),
	lit(EvNoProposalChild, RoleHeard, "response rejected Child SA with NO_PROPOSAL_CHOSEN", lsw+"v4.15 programs/pluto/ikev2_child.c process_v2_IKE_AUTH_response_child_sa_payloads"),
	lit(EvTSNoConfig, RoleDecided, "cannot respond to IPsec SA request because no connection is known for", lsw+"v4.15 programs/pluto/ikev1_quick.c quick_inI1_outR1_tail"+sourceOnly),
	lit(EvTSNoConfig, RoleDecided, "No IKEv2 connection found with compatible Traffic Selectors", lsw+"v4.15 programs/pluto/ikev2_ts.c"),
	lit(EvQuickModeUnanswered, RoleHeard, "No acceptable response to our first Quick Mode message", lsw+"v4.15 programs/pluto/retransmit.c retransmit"),
	lit(EvAuthUnanswered, RoleHeard, "Possible authentication failure: no acceptable response to our first encrypted message", lsw+"v4.15 programs/pluto/retransmit.c retransmit"),
	re(EvFirstUnanswered, RoleState, "No response \\(or no acceptable response\\) to our first IKEv[12] message", "No response (or no acceptable response) to our first IKEv", lsw+"v4.15 programs/pluto/retransmit.c retransmit"),
	re(EvMaxRetransmissions, RoleState, "max number of retransmissions \\([0-9]+\\) reached", "max number of retransmissions", lsw+"v4.15 programs/pluto/retransmit.c retransmit"+sourceOnly),

	// Established, closed, and which IKE version: both daemons.
	re(EvChildOneWay, RoleState, "closing CHILD_SA .* with SPIs [0-9a-f]+_i \\(0 bytes\\) [0-9a-f]+_o \\([1-9][0-9]* bytes\\)", "closing CHILD_SA ", ss+"src/libcharon/sa/ikev2/tasks/child_delete.c log_children; ikev1/tasks/quick_delete.c delete_child"),
	re(EvIKEUp, RoleState, "IKE_SA [^ ]+ established between", "established between", ss+"src/libcharon/sa/ikev2/tasks/ike_establish.c establish; ikev1/tasks/main_mode.c establish"),
	re(EvChildUp, RoleState, "CHILD_SA [^ ]+ established with SPIs", "established with SPIs", ss+"src/libcharon/sa/ikev2/tasks/child_create.c select_and_install; ikev1/tasks/quick_mode.c install"),
	lit(EvIKEUp, RoleState, "ISAKMP SA established", lsw+"v3.32..v4.x programs/pluto/ikev1_states.c story of STATE_MAIN_I4/R3"),
	lit(EvIKEUp, RoleState, "IKE SA established", lsw+"v4.15 programs/pluto/ikev1_states.c story of STATE_MAIN_I4/R3, STATE_AGGR_I2/R2"),
	lit(EvChildUp, RoleState, "IPsec SA established", lsw+"v4.15 programs/pluto/ikev1_states.c story of STATE_QUICK_I2/R2"),
	lit(EvIKEUp, RoleState, "established IKE SA", lsw+"v4.15 programs/pluto/ikev2_states.c STATE_V2_ESTABLISHED_IKE_SA; ikev2_psk.c, keys.c"),
	lit(EvChildUp, RoleState, "established Child SA", lsw+"v4.15 programs/pluto/ikev2_states.c STATE_V2_ESTABLISHED_CHILD_SA; ikev2_child.c"),
	lit(EvVersion1, RoleState, "initiating Main Mode IKE_SA", ss+"src/libcharon/sa/ikev1/tasks/main_mode.c build_i"),
	lit(EvVersion1, RoleState, "initiating Aggressive Mode IKE_SA", ss+"src/libcharon/sa/ikev1/tasks/aggressive_mode.c build_i"+sourceOnly),
	lit(EvVersion1, RoleState, "is initiating a Main Mode IKE_SA", ss+"src/libcharon/sa/ikev1/tasks/main_mode.c process_r"),
	lit(EvVersion2, RoleState, "is initiating an IKE_SA", ss+"src/libcharon/sa/ikev2/tasks/ike_init.c process_r"),
	re(EvVersion2, RoleState, "initiating IKE_SA [^ ]+ to ", "initiating IKE_SA ", ss+"src/libcharon/sa/ikev2/tasks/ike_init.c build_i"),

	// Vendors other than strongSwan and libreswan.
	lit(EvTSNoConfig, RoleDecided, "Rejecting IPSec tunnel: no matching crypto map entry for remote proxy", "vendor verified: Cisco ASA IKEv1 debug/syslog 713061 (sample quoted in dontfragment.com/ipsec-proxy-id)"),
	lit(EvNoPeerConfig, RoleDecided, "Couldn't find configuration for IKE phase-1 request for peer IP", "vendor verified: Palo Alto PAN-OS system log, common VPN error messages (sample in paloaltofirewalls.com TestVPNConnectivity)"),
	re(EvFirstUnanswered, RoleState, "IKE phase-1 negotiation is failed as initiator, (main|aggressive) mode\\. Failed SA: .* due to timeout", "IKE phase-1 negotiation is failed as initiator", "vendor verified: Palo Alto PAN-OS system log, common VPN error messages (sample in paloaltofirewalls.com TestVPNConnectivity)"),
	lit(EvNoProposalFound, RoleDecided, "peer SA proposal not match local policy", "vendor inferred: FortiGate IKE event log, msg field of a negotiate error"),

	// Cisco ASA / FTD: IKEv1 (7130xx/7132xx) and IKEv2 (7500xx) syslog messages, wording from the
	// message texts of the Cisco Secure Firewall ASA Series Syslog Messages guide.
	lit(EvIKEProposalRefused, RoleDecided, "Phase 1 failure: Mismatched attribute types for class", asaGuide+"713257 (phase 1 transform refused)"),
	lit(EvChildProposalRefused, RoleDecided, "Phase 2 failure: Mismatched attribute types for class", asaGuide+"713257 (phase 2 transform refused)"),
	lit(EvChildProposalRefused, RoleDecided, "All IPSec SA proposals found unacceptable", asaGuide+"713902 descriptive event (quick mode proposals refused)"),
	lit(EvPSKMismatch, RoleHeard, "Received an un-encrypted INVALID_HASH_INFO notify message", asaGuide+"713904/713902 descriptive event (the peer refused our hash: pre-shared keys differ)"),
	lit(EvNoProposalFound, RoleDecided, "Negotiation aborted due to ERROR: Failed to find a matching policy", asaGuide+"750003 IKEv2 negotiation aborted"),
	lit(EvGiveUp, RoleState, "Negotiation aborted due to ERROR: Maximum number of retransmissions reached", asaGuide+"750003 IKEv2 negotiation aborted"),

	// Juniper SRX: kmd (KMD_* tags; iked on newer releases) failure lines, wording from the
	// Junos OS System Log Messages reference (System Log Explorer) and the SRX IPsec
	// troubleshooting articles.
	lit(EvNoProposalFound, RoleDecided, "IKE negotiation failed with error: No proposal chosen", junos+"KMD IKE negotiation failure"),
	lit(EvAuthFailedNotify, RoleDecided, "IKE negotiation failed with error: Authentication failed", junos+"KMD IKE negotiation failure"),
	lit(EvIDMismatch, RoleDecided, "IKE negotiation failed with error: Peer's IKE-ID validation failed", junos+"KMD IKE negotiation failure"),
	lit(EvTSUnacceptable, RoleDecided, "IKE negotiation failed with error: TS unacceptable", junos+"KMD IKE negotiation failure"),
	lit(EvIKEProposalRefused, RoleDecided, "IKE Phase-1 Failure: No proposal chosen", junos+"kmd phase 1 failure (older releases)"),
	lit(EvPhase1Failed, RoleState, "IKE Phase-1 Failure: ", junos+"kmd phase 1 failure (older releases)"),
	lit(EvTSNoConfig, RoleDecided, "Failed to match the peer proxy ids", junos+"kmd IKE Phase-2 failure (proxy-ID mismatch)"),
	lit(EvNoPeerConfig, RoleDecided, "IKE Phase-1: (Responder) Policy lookup failed", junos+"kmd phase 1 responder: no gateway for the peer"),
	lit(EvTSNoConfig, RoleDecided, "KMD_VPN_TS_MISMATCH", junos+"KMD_VPN_TS_MISMATCH (traffic-selector mismatch)"),
	lit(EvDPDDead, RoleDecided, "KMD_DPD_PEER_DOWN", junos+"KMD_DPD_PEER_DOWN (dead peer detection declared the peer down)"),
	lit(EvChildUp, RoleState, "KMD_PM_SA_ESTABLISHED: ", junos+"KMD_PM_SA_ESTABLISHED"),

	// The procedure's common log findings (step 6) and the notify names behind them.
	lit(EvAuthFailedNotify, RoleNotify, "AUTHENTICATION_FAILED", "rfc 7296 notify type 24, as charon and pluto log it"),
	lit(EvInvalidID, RoleNotify, "INVALID_ID_INFORMATION", "rfc 2408 notify type 18, as charon and pluto log it"),
	lit(EvInvalidKey, RoleNotify, "INVALID_KEY_INFORMATION", "rfc 2408 notify type 17 (nsx-v procedure step 6: no trusted CA)"),
	lit(EvPayloadMalformed, RoleNotify, "PAYLOAD_MALFORMED", "rfc 2408 notify type 16 (nsx-v procedure step 6)"+sourceOnly),
	lit(EvTSUnacceptable, RoleNotify, "TS_UNACCEPTABLE", "rfc 7296 notify type 38"),
	lit(EvTSUnacceptable, RoleNotify, "INVALID_SELECTORS", "rfc 7296 notify type 39"+sourceOnly),
	lit(EvTSUnacceptable, RoleNotify, "SINGLE_PAIR_REQUIRED", "rfc 7296 notify type 34: the responder takes one selector pair only"+sourceOnly),
	lit(EvNoProposalNotify, RoleNotify, "NO_PROPOSAL_CHOSEN", "rfc 7296 / rfc 2408 notify type 14 (charon, pluto, SonicWall)"),

	// SonicWall and WatchGuard.
	lit(EvRetransmit, RoleState, "Remote party timeout - Retransmitting IKE", "vendor inferred: SonicWall SonicOS log event reference (VPN IKE)"),
	lit(EvPeerNotResponding, RoleState, "No response - remote party timeout", "vendor inferred: SonicWall SonicOS log event reference (VPN IKE)"),
	lit(EvNegotiationDown, RoleState, "IKE negotiation aborted due to timeout", "vendor inferred: SonicWall SonicOS log event reference (VPN IKE)"),
	lit(EvNoProposalFound, RoleDecided, "IKE proposal does not match", "vendor inferred: SonicWall SonicOS log event reference (IKEv2)"),
	re(EvPhase1Failed, RoleState, "IKE phase-1 negotiation from .* failed", "IKE phase-1 negotiation from ", "vendor inferred: WatchGuard Fireware iked log"),
	re(EvPhase2Failed, RoleState, "IKE phase-2 negotiation from .* failed", "IKE phase-2 negotiation from ", "vendor inferred: WatchGuard Fireware iked log"),
	lit(EvPeerNotResponding, RoleState, "Message retry timeout", "vendor inferred: WatchGuard Fireware iked log"),
}

// The dialect of each pattern follows from its origin.
func init() {
	for i := range table {
		table[i].Format = formatOf(table[i].Origin)
	}
}

func formatOf(origin string) Format {
	vendor, ok := strings.CutPrefix(origin, "vendor verified: ")
	if !ok {
		vendor, _ = strings.CutPrefix(origin, "vendor inferred: ")
	}
	for _, f := range []struct {
		prefix string
		format Format
	}{
		{ss, FormatCharon}, {lsw, FormatPluto}, {"openswan ", FormatPluto},
		{"Cisco ASA", FormatASA}, {"Palo Alto", FormatPANOS}, {"FortiGate", FormatFortiOS},
		{"SonicWall", FormatSonicWall}, {"WatchGuard", FormatWatchGuard}, {"Juniper SRX", FormatJunos},
	} {
		if strings.HasPrefix(vendor, f.prefix) {
			return f.format
		}
	}
	return FormatAny
}

// lit is a pattern that is a plain string.
func lit(ev Event, role Role, s, origin string) Pattern {
	return Pattern{Event: ev, Role: role, ERE: escapeERE(s), Key: s, Origin: origin, key: []byte(s)}
}

// re is a pattern with regular-expression parts; key must be a literal of every match.
func re(ev Event, role Role, ere, key, origin string) Pattern {
	return Pattern{Event: ev, Role: role, ERE: ere, Key: key, Origin: origin, key: []byte(key), re: regexp.MustCompilePOSIX(ere), musts: requiredLiterals(ere, key)}
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
func Match(line []byte) int { return everyPattern.match(line, everyPattern.f.present(line)) }

// matcher tries the patterns that apply to a file (all, or those of its dialects), in table
// order, on the lines its prefilter finds.
type matcher struct {
	f        *prefilter // searches only these patterns' keys
	patterns []int      // indices into table
	byKey    [][]int    // per key of f: the entries of patterns that have it, in order
}

func newMatcher(allowed []bool) *matcher {
	m := &matcher{}
	var keys [][]byte
	for i := range table {
		if allowed == nil || allowed[i] {
			m.patterns = append(m.patterns, i)
			keys = append(keys, table[i].key)
		}
	}
	m.f = newPrefilter(keys)
	m.byKey = make([][]int, len(m.f.keys))
	for j, i := range m.patterns {
		k := m.f.index(table[i].key)
		m.byKey[k] = append(m.byKey[k], j)
	}
	return m
}

// everyPattern matches against the whole table.
var everyPattern = newMatcher(nil)

// match returns the first pattern whose key is in present (the keys line holds) and whose ERE
// matches line, or -1. A regular expression runs only when the line also holds every other
// literal its ERE requires.
func (m *matcher) match(line []byte, present keySet) int {
	// The patterns to try are those of the keys present (a line holds one or two): gathered
	// and put in table order, rather than testing every pattern's key.
	var buf [16]int
	cands := buf[:0]
	for w, word := range present {
		for ; word != 0; word &= word - 1 {
			cands = append(cands, m.byKey[w*64+bits.TrailingZeros64(word)]...)
		}
	}
	slices.Sort(cands)
	for _, j := range cands {
		i := m.patterns[j]
		p := &table[i]
		if p.re == nil || containsAll(line, p.musts) && p.re.Match(line) {
			return i
		}
	}
	return -1
}

func containsAll(line []byte, literals [][]byte) bool {
	for _, l := range literals {
		if !bytes.Contains(line, l) {
			return false
		}
	}
	return true
}

// requiredLiterals returns the literal runs every match of ere contains, besides key: the
// literal parts of a top-level concatenation. Checking them with bytes.Contains is cheaper than
// running the regular expression, and a line without one of them cannot match.
func requiredLiterals(ere, key string) [][]byte {
	re, err := syntax.Parse(ere, syntax.POSIX)
	if err != nil {
		panic("logscan: " + err.Error())
	}
	re = re.Simplify()
	var out [][]byte
	if re.Op != syntax.OpConcat {
		return nil
	}
	for _, sub := range re.Sub {
		if sub.Op == syntax.OpLiteral && sub.Flags&syntax.FoldCase == 0 && len(sub.Rune) >= 3 {
			if lit := string(sub.Rune); !strings.Contains(key, lit) {
				out = append(out, []byte(lit))
			}
		}
	}
	return out
}

// MatchString is Match for a string (API fields, show output).
func MatchString(s string) int { return Match([]byte(s)) }

// PatternEvent returns the event of pattern i.
func PatternEvent(i int) Event { return table[i].Event }

// RoleOf is the role of line, matched by pattern i: a bare notify name is heard when the line
// says it was received (or the other side rejected something with it), decided otherwise.
func RoleOf(i int, line string) Role {
	r := table[i].Role
	if r != RoleNotify {
		return r
	}
	for _, w := range heardWords {
		if strings.Contains(line, w) {
			return RoleHeard
		}
	}
	return RoleDecided
}

// heardWords mark a notify the logging side received rather than sent (charon: "received
// NO_PROPOSAL_CHOSEN notify error"; pluto: "received and ignored notification payload",
// "rejected by peer: AUTHENTICATION_FAILED", "response rejected Child SA with TS_UNACCEPTABLE";
// CREATE_CHILD_SA "failed with error notification").
var heardWords = []string{"received", "rejected by peer", "response rejected", "with error notification", "ignoring informational"}
