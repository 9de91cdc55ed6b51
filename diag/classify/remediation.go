package classify

import (
	"fmt"
	"strings"

	"ipsecbot/diag"
	ls "ipsecbot/diag/classify/logscan"
)

// advice is what each cause means and what to do about it, before the specifics of the case.
var advice = map[diag.Cause]struct {
	summary string
	steps   []string
}{
	diag.CausePeerUnreachable: {"the peer never answers IKE: it is unreachable or UDP 500/4500 is blocked",
		[]string{"Check that UDP 500 and UDP 4500 pass both ways between the gateways (firewalls, NAT, ACLs on both sides)",
			"Check the peer address configured on the Edge and that the peer's IPsec service is running",
			"If IKE_SA_INIT/Main Mode is answered on 500 but nothing on 4500 is, open UDP 4500 (NAT traversal)"}},
	diag.CauseIKEProposalMismatch: {"IKE (phase 1) proposals do not match: no proposal chosen",
		[]string{"Compare the phase 1 encryption, integrity/digest, DH group and IKE version on both gateways"}},
	diag.CauseAuthFailed: {"authentication failed: pre-shared key or ID mismatch",
		[]string{"Compare the PSK on both gateways", "Check local/peer ID types and values (IP address, FQDN, DN) on both sides"}},
	diag.CauseIPsecProposalMismatch: {"IPsec SA (phase 2) proposals do not match",
		[]string{"Compare the phase 2 (ESP) encryption, integrity and PFS/DH group on both gateways"}},
	diag.CauseTrafficSelectorMismatch: {"traffic selectors (local/peer subnets) do not match",
		[]string{"Compare the Edge's local and peer subnets with the peer's remote and local subnets; they must mirror each other exactly"}},
	diag.CauseInvalidID: {"the peer's ID does not match the ID configured for it",
		[]string{"Set the Edge's peer ID to the ID the peer presents (or change the peer's local ID), with the same ID type"}},
	diag.CauseNoTrustedCA: {"the peer's certificate is not trusted: no CA certificate or public key for it",
		[]string{"Import the CA certificate that issued the peer's certificate on the Edge (and ours on the peer)",
			"Check that the peer ID matches the certificate's subject or SAN"}},
	diag.CauseDPDPeerDead: {"dead peer detection declared the peer dead",
		[]string{"Look for loss on the path between the gateways at the times of the drops (WAN, ISP, firewall state)",
			"Check that the peer's IPsec daemon stays up and answers DPD; compare DPD interval/timeout on both sides"}},
	diag.CauseMTUFragmentation: {"large packets are lost on the path (MTU / fragmentation)",
		[]string{"Lower the MTU or clamp TCP MSS on the tunnel (e.g. 1350)", "Find the hop that drops large or don't-fragment packets; allow ICMP fragmentation-needed through"}},
	diag.CauseESPBlocked: {"IKE and the SAs are up but ESP does not get through",
		[]string{"Allow ESP (IP protocol 50) — or UDP 4500 when NAT-T is used — through every firewall between the gateways",
			"Check the peer's routes and policies for the protected subnets"}},
	diag.CausePFSMismatch: {"the tunnel comes up, then the CHILD_SA rekey fails on the PFS (DH) group",
		[]string{"Make PFS the same on both sides: enabled on both with the same DH group, or disabled on both"}},
	diag.CauseHealthy: {"SAs are up and traffic passes both ways", []string{"Nothing to fix in IPsec; if users still see problems, trace the data path (procedure step 8)"}},
}

// summary is the verdict's one line.
func summary(c diag.Cause, version int, obs []observation, ws []weighed) string {
	if n := cycles(obs); n > 0 && c != diag.CauseHealthy {
		return fmt.Sprintf("%s: the tunnel flapped (re-established %d time(s) in the window); the drops: %s", versionWord(version), n, advice[c].summary)
	}
	return versionWord(version) + ": " + advice[c].summary
}

// remediation is the cause's advice plus what this case's evidence says about both sides.
func remediation(c diag.Cause, obs []observation, ws []weighed, in Input) []string {
	var out []string
	switch c {
	case diag.CauseIKEProposalMismatch, diag.CauseIPsecProposalMismatch, diag.CausePFSMismatch:
		for _, p := range proposalPairs(obs, ws) {
			out = append(out, proposalAdvice(p))
			break
		}
	case diag.CauseTrafficSelectorMismatch, diag.CauseInvalidID, diag.CauseAuthFailed, diag.CauseNoTrustedCA:
		for _, w := range ws { // the deciding line that names the values in question, as an action
			if a := valueAction(w.obs); a != "" {
				out = append(out, a)
				break
			}
		}
	case diag.CauseESPBlocked:
		out = append(out, lostDirections(ws)...)
	}
	for _, m := range in.Config {
		for _, mc := range configCauses[m.Field] {
			if mc == c {
				out = append(out, m.Text)
			}
		}
	}
	return append(out, advice[c].steps...)
}

// sides names the side that logged o (and decided) and the other side.
func sides(o observation) (decider, other string) {
	switch o.ev.Site {
	case "edge":
		return "the Edge", "the peer"
	case "peer":
		return "the peer", "the Edge"
	}
	return "this side", "the other side"
}

// valueAction turns a deciding line that names identities, selectors, keys or certificates into
// what to change, with the values it names; "" for other lines. The line itself stays evidence.
func valueAction(o observation) string {
	decider, other := sides(o)
	text, ref := o.ev.Text, " ("+o.ev.Ref+")"
	quoted := func(after string) string { // 'a' - 'b' or "DN" after a phrase
		_, rest, ok := strings.Cut(text, after)
		if !ok {
			return ""
		}
		return strings.TrimSuffix(strings.TrimSpace(rest), ", but MAC mismatched")
	}
	switch o.event {
	case ls.EvTSUnacceptable, ls.EvTSNoConfig:
		ts := between(text, "traffic selectors ", " unacceptable")
		if ts == "" {
			ts = quoted("no matching CHILD_SA config found for ")
		}
		if ts == "" {
			return ""
		}
		return fmt.Sprintf("Make %s's local and remote subnets mirror %s's: %s refused the pair %s%s", other, decider, decider, ts, ref)
	case ls.EvIDMismatch:
		got, want := between(text, "IDir '", "'"), between(text, "does not match to '", "'")
		if got == "" || want == "" {
			return ""
		}
		return fmt.Sprintf("Set %s's peer ID to '%s' (what %s presents), or %s's local ID to '%s' (what %s expects), with the same ID type%s", decider, got, other, other, want, decider, ref)
	case ls.EvMACMismatch:
		if ids := between(text, "shared key for ", ", but"); ids != "" {
			return fmt.Sprintf("Set the same pre-shared key on both gateways for %s: %s's key does not match %s's%s", ids, decider, other, ref)
		}
	case ls.EvNoSharedKey:
		if ids := quoted("key found for "); ids != "" {
			return fmt.Sprintf("Add on %s a pre-shared key for %s, the same as %s's, or correct the IDs%s", decider, ids, other, ref)
		}
	case ls.EvNoTrustedKey:
		if id := quoted("public key found for "); id != "" {
			return fmt.Sprintf("Import on %s the CA certificate that issued %s's certificate for %s, and check %s matches its subject or SAN%s", decider, other, id, id, ref)
		}
	case ls.EvNoIssuer:
		if dn := quoted("no issuer certificate found for "); dn != "" {
			return fmt.Sprintf("Import on %s the CA certificate that issued %s%s", decider, dn, ref)
		}
	case ls.EvNoPeerConfig:
		return fmt.Sprintf("Make %s's local ID and authentication match what %s expects of its peer (peer ID, auth method)%s", other, decider, ref)
	}
	return ""
}

// proposalAdvice says, with both sides' values, what the rejecting side received and accepts.
func proposalAdvice(p proposalPair) string {
	values := func(o *observation) string {
		if o == nil {
			return "(not in the logs)"
		}
		return o.detail
	}
	site := ""
	if p.received != nil {
		site = p.received.ev.Site
	} else {
		site = p.configured.ev.Site
	}
	offerer, rejecter := "the other side", "this side"
	switch site {
	case "peer":
		offerer, rejecter = "the Edge", "the peer"
	case "edge":
		offerer, rejecter = "the peer", "the Edge"
	}
	ref := ""
	if p.configured != nil {
		ref = " (" + p.configured.ev.Ref + ")"
	}
	if p.received == nil { // the proposing side's log: its own offer only
		return fmt.Sprintf("%s proposes %s%s; what %s accepts is not in these logs", capital(rejecter), values(p.configured), ref, offerer)
	}
	return fmt.Sprintf("%s proposes %s; %s accepts %s%s", capital(offerer), values(p.received), rejecter, values(p.configured), ref)
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// lostDirections names each direction in which ESP was shown lost (by two captures, or by one
// capture's pairing), once, with the proof's reference.
func lostDirections(ws []weighed) []string {
	var out []string
	seen := map[espFlow]bool{}
	for _, w := range ws {
		f := w.obs.flow
		if (w.obs.event != evESPLostOnPath && w.obs.event != evESPUnanswered) || seen[f] {
			continue
		}
		seen[f] = true
		out = append(out, fmt.Sprintf("ESP from %s is lost on the way (%s): find what drops ESP — or UDP 4500 with NAT-T — from %s towards %s on the firewalls and routers between the sites", f, w.obs.ev.Ref, f.from, f.to))
	}
	return out
}
