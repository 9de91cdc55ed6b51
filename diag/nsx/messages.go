package nsx

// The tunnel failure messages of the procedure's step 7 table (PROCEDURE.md), verbatim. NSX
// shows them in the statistics' failure message fields; the lab's statistics carry only these.
const (
	MsgIKEv1PeerUnreachable  = "Version-IKEv1 Retransmitting IKE Message as no response from Peer."
	MsgIKEv1NoProposalChosen = "Version-IKEv1 No Proposal Chosen.Check configured Encryption/Authentication/DH/IKE-Version."
	MsgIKEv1AuthFailed       = "Version-IKEv1 Authentication Failed.Check the configured secret or local/peer ID configuration."
	MsgIKEv2PeerUnreachable  = "Version-IKEv2 Retransmitting IKE Message as no response from Peer."
	MsgIKEv2NoProposalChosen = "Version-IKEv2 No Proposal Chosen.Check configured Encrypt/Authentication/DH/IKEversion."
	MsgIKEv2AuthFailed       = "Version-IKEv2 Authentication Failed.Check the configured secret or local/peer ID configuration."
	// MsgIPsecSAMismatch is the phase 2 / IPsec SA proposal row of both IKE versions.
	MsgIPsecSAMismatch = "IPSec-SA Proposals or Traffic Selectors did not match."
	// MsgTrafficSelectorMismatch is IKEv2's traffic selector row.
	MsgTrafficSelectorMismatch = "Traffic selectors did not match.Check left/right subnet configuration."
)

// DocumentedMessages lists the distinct strings above (the table's nine rows share one).
var DocumentedMessages = []string{
	MsgIKEv1PeerUnreachable, MsgIKEv1NoProposalChosen, MsgIKEv1AuthFailed,
	MsgIKEv2PeerUnreachable, MsgIKEv2NoProposalChosen, MsgIKEv2AuthFailed,
	MsgIPsecSAMismatch, MsgTrafficSelectorMismatch,
}
