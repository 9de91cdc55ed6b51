package lab

import (
	"slices"
	"strings"

	"ipsecbot/diag"
)

// Scenario is one failure the lab can stage. Its content (logs, capture, SA state, settings)
// comes from a real strongSwan fixture rewritten to the lab's addresses, except where
// Fixture is empty (synthesized, see unknownContent).
type Scenario struct {
	Name        string     // "auth_failed", "flapping", "ikev1-auth_failed"
	Label       diag.Cause // the cause the classifier should name
	IKEVersion  int        // 1 or 2
	Description string     // what goes wrong, in one line
	Fixture     string     // folder under testdata/fixtures; "" when synthesized
}

// Synthesized reports whether the scenario has no real fixture behind it.
func (s Scenario) Synthesized() bool { return s.Fixture == "" }

// primary is the scenario of each cause label (plus flapping), in docs/design.md's order.
// The IKEv2 capture is preferred; invalid_id needs IKEv1, since an IKEv2 ID mismatch
// shows as an authentication failure (docs/design.md precedence).
var primary = []Scenario{
	{"peer_unreachable", diag.CausePeerUnreachable, 2, "the peer drops all inbound UDP 500/4500: IKE is never answered", "ikev2-peer_unreachable"},
	{"ike_proposal_mismatch", diag.CauseIKEProposalMismatch, 2, "IKE proposals disjoint: edge aes256-sha256-modp2048, peer aes128-sha1-modp1024", "ikev2-ike_proposal_mismatch"},
	{"auth_failed", diag.CauseAuthFailed, 2, "the pre-shared keys differ", "ikev2-psk_mismatch"},
	{"ipsec_proposal_mismatch", diag.CauseIPsecProposalMismatch, 2, "ESP proposals disjoint: edge aes256-sha256-modp2048, peer aes128-sha1-modp1024", "ikev2-esp_proposal_mismatch"},
	{"traffic_selector_mismatch", diag.CauseTrafficSelectorMismatch, 2, "the peer's local subnet is 10.2.3.0/24 instead of 10.2.2.0/24", "ikev2-traffic_selector_mismatch"},
	{"invalid_id", diag.CauseInvalidID, 1, "IKEv1 main mode: the edge expects peer ID peerb.example.net, the peer presents its address", "ikev1-id_mismatch"},
	{"no_trusted_ca", diag.CauseNoTrustedCA, 2, "certificate auth: the edge lacks the CA that issued the peer's certificate", "ikev2-cert_untrusted_ca"},
	{"dpd_peer_dead", diag.CauseDPDPeerDead, 2, "the tunnel is up, then the peer's IKE daemon dies; DPD declares it dead", "ikev2-dpd_peer_dead"},
	{"mtu_fragmentation", diag.CauseMTUFragmentation, 2, "the WAN path MTU is 1300: small pings pass, large don't-fragment pings are lost", "ikev2-mtu_fragmentation"},
	{"esp_blocked", diag.CauseESPBlocked, 2, "IKE and CHILD SAs are up, ESP is dropped on the WAN both ways", "ikev2-esp_blocked"},
	{"pfs_mismatch", diag.CausePFSMismatch, 2, "PFS groups differ: the tunnel comes up, its first rekey fails and it expires", "ikev2-pfs_mismatch"},
	{"healthy", diag.CauseHealthy, 2, "nothing wrong: SAs up, traffic both ways", "ikev2-healthy"},
	{"unknown", diag.CauseUnknown, 2, "the tunnel is down and no source says why (synthesized: daemon noise only, no IKE in the capture)", ""},
	{"flapping", diag.CauseDPDPeerDead, 2, "the WAN goes down and up three times; DPD tears the tunnel down each time", "ikev2-flapping"},
}

// ikev1Variants are the IKEv1 fixtures offered as "ikev1-<name>"; their labels are the
// fixtures' own (ikev1-pfs_mismatch fails at once, so it is an IPsec proposal mismatch).
var ikev1Variants = []struct {
	name, fixture string
	label         diag.Cause
}{
	{"peer_unreachable", "ikev1-peer_unreachable", diag.CausePeerUnreachable},
	{"ike_proposal_mismatch", "ikev1-ike_proposal_mismatch", diag.CauseIKEProposalMismatch},
	{"auth_failed", "ikev1-psk_mismatch", diag.CauseAuthFailed},
	{"ipsec_proposal_mismatch", "ikev1-esp_proposal_mismatch", diag.CauseIPsecProposalMismatch},
	{"traffic_selector_mismatch", "ikev1-traffic_selector_mismatch", diag.CauseTrafficSelectorMismatch},
	{"no_trusted_ca", "ikev1-cert_untrusted_ca", diag.CauseNoTrustedCA},
	{"dpd_peer_dead", "ikev1-dpd_peer_dead", diag.CauseDPDPeerDead},
	{"mtu_fragmentation", "ikev1-mtu_fragmentation", diag.CauseMTUFragmentation},
	{"esp_blocked", "ikev1-esp_blocked", diag.CauseESPBlocked},
	{"pfs_mismatch", "ikev1-pfs_mismatch", diag.CauseIPsecProposalMismatch},
	{"healthy", "ikev1-healthy", diag.CauseHealthy},
	{"flapping", "ikev1-flapping", diag.CauseDPDPeerDead},
}

// DefaultScenario is what `bot lab` stages when no scenario is named.
const DefaultScenario = "auth_failed"

// Scenarios returns the scenario of each cause label plus flapping, sorted by name:
// what `bot demo --list` prints.
func Scenarios() []Scenario {
	out := slices.Clone(primary)
	slices.SortFunc(out, func(a, b Scenario) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// AllScenarios returns Scenarios followed by the IKEv1 variants ("ikev1-<name>"), sorted.
func AllScenarios() []Scenario {
	out := Scenarios()
	var v1 []Scenario
	for _, v := range ikev1Variants {
		p, _ := findPrimary(v.name)
		v1 = append(v1, Scenario{"ikev1-" + v.name, v.label, 1, p.Description + " (IKEv1)", v.fixture})
	}
	slices.SortFunc(v1, func(a, b Scenario) int { return strings.Compare(a.Name, b.Name) })
	return append(out, v1...)
}

// LookupScenario finds a scenario by name, IKEv1 variants included.
func LookupScenario(name string) (Scenario, bool) {
	for _, s := range AllScenarios() {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

func findPrimary(name string) (Scenario, bool) {
	for _, s := range primary {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// ScenarioNames lists every name LookupScenario accepts, for usage messages.
func ScenarioNames() []string {
	var names []string
	for _, s := range AllScenarios() {
		names = append(names, s.Name)
	}
	return names
}
