package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/classify"
	"ipsecbot/diag/edge"
	"ipsecbot/diag/nsx"
)

// The prerequisites of docs/procedure.md, checked before the capture starts.

// firewallStep: the Edge's firewall rules let UDP 500, UDP 4500 and ESP through between the
// two gateways, both ways.
type firewallStep struct{}

func (firewallStep) Name() string                 { return "prereq-firewall" }
func (firewallStep) Title() string                { return "Prerequisite: firewall allows UDP 500, UDP 4500 and ESP" }
func (firewallStep) Phase() phase                 { return phaseBefore }
func (firewallStep) Snapshot() bool               { return false }
func (firewallStep) Timeout(r *run) time.Duration { return shortTimeout(r) }

func (firewallStep) Run(ctx context.Context, r *run) Outcome {
	mgr, err := r.manager()
	if err != nil {
		return Outcome{Skip: err.Error()}
	}
	if _, err := r.siteConfig(ctx); err != nil {
		return Outcome{Err: fmt.Errorf("ipsec/config: %w", err)}
	}
	edgeAddr, _ := r.edgeSite()
	if !edgeAddr.IsValid() || !r.peerAddr.IsValid() {
		return Outcome{Err: fmt.Errorf("endpoints unknown (edge %v, peer %v)", edgeAddr, r.peerAddr)}
	}
	fw, err := mgr.FirewallConfig(ctx, r.edge.EdgeID)
	if err != nil {
		return Outcome{Err: fmt.Errorf("firewall/config: %w", err)}
	}
	checks := []struct {
		proto string
		port  int
	}{{"udp", 500}, {"udp", 4500}, {"esp", 0}}
	var blocked []classify.FirewallBlocked
	for _, c := range checks {
		for _, dir := range [][2]netip.Addr{{edgeAddr, r.peerAddr}, {r.peerAddr, edgeAddr}} {
			if ok, rule := fw.Allows(dir[0], dir[1], c.proto, c.port); !ok {
				blocked = append(blocked, classify.FirewallBlocked{Proto: c.proto, Port: c.port, From: dir[0], To: dir[1],
					Rule: rule, Ref: diag.ElementRef(firewallDoc, firewallElement(rule)).String()})
			}
		}
	}
	if len(blocked) > 0 {
		r.collect(func(c *Collected) { c.Firewall = append(c.Firewall, blocked...) })
		texts := make([]string, len(blocked))
		ev := make([]diag.Evidence, len(blocked))
		for i, b := range blocked {
			texts[i] = b.String()
			ev[i] = b.Evidence()
		}
		return Outcome{Summary: strings.Join(texts, "; "), Evidence: ev}
	}
	return Outcome{Summary: fmt.Sprintf("UDP 500, UDP 4500 and ESP allowed both ways between %s and %s", edgeAddr, r.peerAddr)}
}

// firewallDoc names the Edge firewall document (NSX firewall/config) in references.
const firewallDoc = "api/firewall-config"

// firewallElement is the element of the firewall document that decided, from the rule name
// nsx.FirewallConfig.Allows returns: the default policy, the firewall's enabled flag, the
// rule at a position ("#3"), or the rule by its id (or its tag when it has no id).
func firewallElement(rule string) string {
	switch {
	case rule == nsx.RuleDefaultPolicy:
		return "defaultPolicy/action"
	case rule == nsx.RuleFirewallDisabled:
		return "enabled"
	case strings.HasPrefix(rule, "#"):
		return "firewallRules/firewallRule[" + rule[1:] + "]"
	case rule == "":
		return "firewallRules"
	}
	return "firewallRules/firewallRule[id=" + rule + "]"
}

// syslogStep: the Edge sends its logs to a remote syslog server (step 1 asks for it).
type syslogStep struct{}

func (syslogStep) Name() string                 { return "prereq-syslog" }
func (syslogStep) Title() string                { return "Prerequisite: remote syslog configured" }
func (syslogStep) Phase() phase                 { return phaseBefore }
func (syslogStep) Snapshot() bool               { return false }
func (syslogStep) Timeout(r *run) time.Duration { return shortTimeout(r) }

func (syslogStep) Run(ctx context.Context, r *run) Outcome {
	mgr, err := r.manager()
	if err != nil {
		return Outcome{Skip: err.Error()}
	}
	sl, err := mgr.SyslogConfig(ctx, r.edge.EdgeID)
	if err != nil {
		return Outcome{Err: fmt.Errorf("syslog/config: %w", err)}
	}
	if !sl.Configured() {
		return Outcome{Summary: "WARNING: no remote syslog server: the Edge has little disk and rotates its logs away; " +
			"configure syslog so the logs of an unstable tunnel are kept (procedure step 1)"}
	}
	return Outcome{Summary: fmt.Sprintf("logs go to %s over %s", strings.Join(sl.ServerAddresses, ", "), orDash(sl.Protocol))}
}

// routeStep: the subnets of the site route the way IPsec needs (the peer's subnets out of the
// Edge, not back to the inside).
type routeStep struct{}

func (routeStep) Name() string                 { return "prereq-route" }
func (routeStep) Title() string                { return "Prerequisite: local subnets route through the tunnel" }
func (routeStep) Phase() phase                 { return phaseBefore }
func (routeStep) Snapshot() bool               { return false }
func (routeStep) Timeout(r *run) time.Duration { return shortTimeout(r) }

func (routeStep) Run(ctx context.Context, r *run) Outcome {
	cli, err := r.edgeCLI()
	if err != nil {
		return Outcome{Err: err}
	}
	out, err := cli.Run(ctx, edge.CmdIPRoute)
	if err != nil {
		return Outcome{Err: err}
	}
	art, _ := r.writeArtifact("show/show-ip-route.txt", "show", []byte(out))
	rt, err := edge.ParseRoutes(out)
	if err != nil {
		return Outcome{Err: err, Artifacts: []diag.Artifact{art}}
	}
	local, remote := r.subnets(ctx)
	if len(remote) == 0 {
		return Outcome{Skip: "the site's subnets are unknown (no API, no `show service ipsec` site)", Artifacts: []diag.Artifact{art}}
	}
	var bad []string
	var ev []diag.Evidence
	for _, p := range remote {
		rt := rt.Lookup(p.Addr())
		switch {
		case rt == nil:
			bad = append(bad, fmt.Sprintf("no route to peer subnet %s", p))
		case r.edge.Internal != "" && rt.Interface == r.edge.Internal:
			bad = append(bad, fmt.Sprintf("peer subnet %s routes to the internal interface %s", p, rt.Interface))
		}
	}
	for _, p := range local {
		if rt := rt.Lookup(p.Addr()); rt == nil {
			bad = append(bad, fmt.Sprintf("no route to local subnet %s", p))
		}
	}
	for _, b := range bad {
		ev = append(ev, diag.Evidence{Source: diag.SourcePrereq, Ref: diag.FileRef(art.Name).String(), Text: b})
	}
	if len(bad) > 0 {
		return Outcome{Summary: strings.Join(bad, "; "), Evidence: ev, Artifacts: []diag.Artifact{art}}
	}
	return Outcome{Summary: fmt.Sprintf("%d local and %d peer subnets routed", len(local), len(remote)), Artifacts: []diag.Artifact{art}}
}

// mtuStep: ping the peer with a small payload, then a large one with don't-fragment set.
type mtuStep struct{}

// Ping sizes: 56 bytes is the usual default; 1400 bytes with DF does not fit a path whose MTU
// is lowered by a tunnel or a PPPoE/overlay hop (the fixtures' PMTU black hole drops it).
const (
	smallPing = 56
	largePing = 1400
)

func (mtuStep) Name() string { return "prereq-mtu" }
func (mtuStep) Title() string {
	return "Prerequisite: MTU (small ping, then large don't-fragment ping)"
}
func (mtuStep) Phase() phase                 { return phaseBefore }
func (mtuStep) Snapshot() bool               { return false }
func (mtuStep) Timeout(r *run) time.Duration { return 2 * shortTimeout(r) }

func (mtuStep) Run(ctx context.Context, r *run) Outcome {
	if !r.peerAddr.IsValid() {
		return Outcome{Skip: "the peer's address is unknown"}
	}
	cli, err := r.edgeCLI()
	if err != nil {
		return Outcome{Err: err}
	}
	small, err := cli.Ping(ctx, r.peerAddr, smallPing, false)
	if err != nil {
		return Outcome{Err: fmt.Errorf("small ping: %w", err)}
	}
	large, lerr := cli.Ping(ctx, r.peerAddr, largePing, true)
	probe := classify.MTUProbe{Peer: r.peerAddr, Small: classify.Ping{Payload: smallPing, Sent: small.Sent, Received: small.Received}}
	if lerr == nil {
		probe.Large = &classify.Ping{Payload: largePing, DontFragment: true, Sent: large.Sent, Received: large.Received}
	}
	art, _ := r.writeArtifact("show/ping.txt", "show", []byte(small.Output+"\n"+large.Output))
	// Cite the decisive line: the small ping when it went unanswered (or alone), else the
	// large don't-fragment ping that tells whether fragmentation loses packets.
	line := int64(2)
	if small.Received == 0 || lerr != nil {
		line = 1
	}
	probe.Ref = diag.LineRef(art.Name, line).String()
	r.collect(func(c *Collected) { c.Pings = append(c.Pings, probe) })
	ev := probe.Evidence()
	out := Outcome{Summary: ev.Text, Evidence: []diag.Evidence{ev}, Artifacts: []diag.Artifact{art}}
	if lerr != nil {
		out.Err = fmt.Errorf("large ping: %w", lerr)
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// subnets returns the site's local and peer subnets: from the API's site when it was read,
// else from the Edge's `show service ipsec`.
func (r *run) subnets(ctx context.Context) (local, remote []netip.Prefix) {
	if site, err := r.siteConfig(ctx); err == nil && site != nil {
		return prefixes(site.LocalSubnets), prefixes(site.PeerSubnets)
	}
	cli, err := r.edgeCLI()
	if err != nil {
		return nil, nil
	}
	out, err := cli.Run(ctx, edge.CmdServiceIPsec)
	if err != nil {
		return nil, nil
	}
	st, err := edge.ParseServiceIPsec(out)
	if err != nil {
		return nil, nil
	}
	site := st.SiteForPeer(r.peerAddr)
	if site == nil {
		return nil, nil
	}
	r.setEdgeSite(site.Channel.LocalIP, "")
	for _, t := range site.Tunnels {
		local = appendPrefix(local, t.LocalSubnet)
		remote = appendPrefix(remote, t.PeerSubnet)
	}
	return local, remote
}

func prefixes(in []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range in {
		if p, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil {
			out = appendPrefix(out, p)
		}
	}
	return out
}

func appendPrefix(list []netip.Prefix, p netip.Prefix) []netip.Prefix {
	if !p.IsValid() {
		return list
	}
	for _, q := range list {
		if q == p {
			return list
		}
	}
	return append(list, p)
}

var errNoSite = errors.New("no IPsec site for this peer in ipsec/config")
