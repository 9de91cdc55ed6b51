package nsx

import (
	"net/netip"
	"strconv"
	"strings"
)

// Rule IDs Allows returns when no rule of the list decided.
const (
	RuleFirewallDisabled = "firewall-disabled" // the Edge firewall is off: everything passes
	RuleDefaultPolicy    = "default-policy"    // no rule matched: the default policy decided
)

// Allows reports whether the Edge firewall lets a packet from src to dst through, and the
// rule that decided (its id, else its ruleTag, else "#N" by position; or one of the Rule*
// constants). proto is "udp", "tcp", "esp", "icmp" or an IP protocol number; port is the
// destination port (ignored for protocols without ports).
//
// Rules are read in order: disabled rules are skipped; absent source, destination or
// application mean "any"; ipAddress entries may be addresses, a-b ranges or CIDRs; "exclude"
// inverts. Grouping objects, vNic groups and application IDs cannot be resolved from this
// document, so a rule whose match depends only on them is skipped: the answer is then about
// the rules the document spells out. Direction is not considered.
func (f *FirewallConfig) Allows(src, dst netip.Addr, proto string, port int) (bool, string) {
	if f.Enabled != nil && !*f.Enabled {
		return true, RuleFirewallDisabled
	}
	for i, r := range f.Rules {
		if r.Enabled != nil && !*r.Enabled {
			continue
		}
		if !endpointMatches(r.Source, src) || !endpointMatches(r.Destination, dst) || !applicationMatches(r.Application, proto, port) {
			continue
		}
		return isAccept(r.Action), ruleName(r, i)
	}
	if f.DefaultPolicy == nil {
		return false, RuleDefaultPolicy // NSX's default policy is deny
	}
	return isAccept(f.DefaultPolicy.Action), RuleDefaultPolicy
}

func isAccept(action string) bool { return strings.EqualFold(strings.TrimSpace(action), "accept") }

func ruleName(r FirewallRule, i int) string {
	switch {
	case r.ID != "":
		return r.ID
	case r.RuleTag != "":
		return r.RuleTag
	}
	return "#" + strconv.Itoa(i+1)
}

// endpointMatches: nil or empty is "any"; only ipAddress entries can match.
func endpointMatches(ep *FirewallEndpoint, a netip.Addr) bool {
	if ep == nil || (len(ep.IPAddresses) == 0 && len(ep.GroupingObjectIDs) == 0 && len(ep.VnicGroupIDs) == 0) {
		return true
	}
	if len(ep.IPAddresses) == 0 {
		return false // only objects we cannot resolve
	}
	in := false
	for _, entry := range ep.IPAddresses {
		for _, e := range strings.Split(entry, ",") {
			if addrInEntry(strings.TrimSpace(e), a) {
				in = true
			}
		}
	}
	return in != ep.Exclude
}

func addrInEntry(e string, a netip.Addr) bool {
	if strings.EqualFold(e, "any") {
		return true
	}
	if strings.Contains(e, "/") {
		p, err := netip.ParsePrefix(e)
		return err == nil && p.Contains(a)
	}
	if lo, hi, ok := strings.Cut(e, "-"); ok {
		l, err1 := netip.ParseAddr(strings.TrimSpace(lo))
		h, err2 := netip.ParseAddr(strings.TrimSpace(hi))
		return err1 == nil && err2 == nil && l.Compare(a) <= 0 && a.Compare(h) <= 0
	}
	x, err := netip.ParseAddr(e)
	return err == nil && x == a
}

func applicationMatches(app *FirewallApplication, proto string, port int) bool {
	if app == nil || (len(app.Services) == 0 && len(app.ApplicationIDs) == 0) {
		return true
	}
	for _, s := range app.Services {
		if !protoMatches(s.Protocol, proto) {
			continue
		}
		if !hasPorts(proto) || len(s.Ports) == 0 {
			return true
		}
		for _, p := range s.Ports {
			for _, e := range strings.Split(p, ",") {
				if portInEntry(strings.TrimSpace(e), port) {
					return true
				}
			}
		}
	}
	return false
}

// protocolNumbers maps names to IP protocol numbers so "esp" and "50" are the same.
var protocolNumbers = map[string]string{"icmp": "1", "tcp": "6", "udp": "17", "esp": "50", "ah": "51"}

func protoMatches(ruleProto, proto string) bool {
	r, p := strings.ToLower(strings.TrimSpace(ruleProto)), strings.ToLower(strings.TrimSpace(proto))
	if r == "any" || r == "" || r == p {
		return true
	}
	if n, ok := protocolNumbers[r]; ok && n == p {
		return true
	}
	n, ok := protocolNumbers[p]
	return ok && n == r
}

func hasPorts(proto string) bool {
	p := strings.ToLower(proto)
	return p == "udp" || p == "tcp" || p == "17" || p == "6"
}

func portInEntry(e string, port int) bool {
	if strings.EqualFold(e, "any") {
		return true
	}
	if lo, hi, ok := strings.Cut(e, "-"); ok {
		l, err1 := strconv.Atoi(strings.TrimSpace(lo))
		h, err2 := strconv.Atoi(strings.TrimSpace(hi))
		return err1 == nil && err2 == nil && l <= port && port <= h
	}
	n, err := strconv.Atoi(e)
	return err == nil && n == port
}
