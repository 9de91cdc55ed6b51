package classify

import (
	"fmt"
	"net/netip"
	"strings"

	"ipsecbot/diag"
)

// The prerequisite checks' results as facts: the checking step fills the fields, the sentence
// people read is rendered from them (String), and the cause they point to is judged from the
// same fields (Fact), never from the sentence.

// FirewallBlocked is one protocol in one direction that the Edge firewall does not let through.
type FirewallBlocked struct {
	Proto    string // "udp" or "esp", as nsx.FirewallConfig.Allows takes it
	Port     int    // destination port; 0 for ESP
	From, To netip.Addr
	Rule     string // the rule that decided; "" when unknown
	Ref      string // where the rule can be read again (a diag.Ref string)
}

// Label names the traffic as the procedure does: "UDP 500", "ESP".
func (b FirewallBlocked) Label() string {
	if b.Port == 0 {
		return strings.ToUpper(b.Proto)
	}
	return fmt.Sprintf("%s %d", strings.ToUpper(b.Proto), b.Port)
}

func (b FirewallBlocked) String() string {
	rule := b.Rule
	if rule == "" {
		rule = "-"
	}
	return fmt.Sprintf("%s from %s to %s is not allowed by the Edge firewall (rule %s)", b.Label(), b.From, b.To, rule)
}

// Weights of the prerequisite facts: a firewall rule read from the configuration may be
// shadowed by what the document cannot resolve; a lost don't-fragment ping that a small one
// passes is close to proof; a silent small ping may be ICMP being filtered.
const (
	weightFirewallBlocked = 0.6
	weightMTU             = 0.8
	weightPingUnanswered  = 0.3
)

// Fact judges the block: blocked ESP is esp_blocked, blocked IKE ports leave the peer
// unreachable.
func (b FirewallBlocked) Fact() Fact {
	cause := diag.CausePeerUnreachable
	if strings.EqualFold(b.Proto, "esp") {
		cause = diag.CauseESPBlocked
	}
	return Fact{Cause: cause, Weight: weightFirewallBlocked, Evidence: b.Evidence()}
}

// Evidence is the block as the step and the verdict cite it.
func (b FirewallBlocked) Evidence() diag.Evidence {
	return diag.Evidence{Source: diag.SourcePrereq, Ref: b.Ref, Text: b.String()}
}

// Ping is what one ping run answered.
type Ping struct {
	Payload        int // bytes of ICMP payload
	DontFragment   bool
	Sent, Received int
}

func (p Ping) String() string {
	df := ""
	if p.DontFragment {
		df = " with don't-fragment"
	}
	return fmt.Sprintf("%d-byte payload%s %d/%d answered", p.Payload, df, p.Received, p.Sent)
}

// MTUProbe is the MTU check: a small ping to the peer, then a large one with don't-fragment.
type MTUProbe struct {
	Peer  netip.Addr
	Small Ping
	Large *Ping  // nil when the large ping could not be run
	Ref   string // the decisive line of the recorded pings (a diag.Ref string)
}

func (m MTUProbe) String() string {
	text := fmt.Sprintf("ping %s from the Edge: %s", m.Peer, m.Small)
	if m.Large != nil {
		text += "; " + m.Large.String()
	}
	return text
}

// Evidence is the probe as the step and the verdict cite it.
func (m MTUProbe) Evidence() diag.Evidence {
	return diag.Evidence{Source: diag.SourcePrereq, Ref: m.Ref, Text: m.String()}
}

// Fact judges the probe: small answered and large lost is fragmentation on the path; small
// lost says the peer may be unreachable. Cause is "" when the probe points nowhere.
func (m MTUProbe) Fact() Fact {
	f := Fact{Evidence: m.Evidence()}
	switch {
	case m.Small.Received == 0:
		f.Cause, f.Weight = diag.CausePeerUnreachable, weightPingUnanswered
	case m.Large != nil && m.Large.Received == 0:
		f.Cause, f.Weight = diag.CauseMTUFragmentation, weightMTU
	}
	return f
}
