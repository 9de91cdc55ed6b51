package engine

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/edge"
	"ipsecbot/diag/interop"
	"ipsecbot/diag/nsx"
	"ipsecbot/diag/peer"
)

// interopStep is procedure step 2: the Edge's site settings against the peer's.
type interopStep struct{}

func (interopStep) Name() string                 { return "step2-interop" }
func (interopStep) Title() string                { return "Step 2: interoperability of both sites' settings" }
func (interopStep) Phase() phase                 { return phaseBefore }
func (interopStep) Snapshot() bool               { return false }
func (interopStep) Timeout(r *run) time.Duration { return 2 * shortTimeout(r) }

func (interopStep) Run(ctx context.Context, r *run) Outcome {
	edgeSet, edgeErr := r.edgeSettings(ctx)
	var peerSet *interop.Settings
	drv, peerErr := r.peer()
	if peerErr == nil {
		peerSet, peerErr = drv.Settings(ctx)
	}
	switch {
	case edgeErr != nil && peerErr != nil:
		return Outcome{Err: fmt.Errorf("edge settings: %v; peer settings: %v", edgeErr, peerErr)}
	case edgeErr != nil:
		return Outcome{Err: fmt.Errorf("edge settings: %w", edgeErr)}
	case errors.Is(peerErr, peer.ErrNotSupported):
		return Outcome{Skip: "the peer's settings cannot be read and none are declared in the configuration (peers[].declared)"}
	case peerErr != nil:
		return Outcome{Err: fmt.Errorf("peer settings: %w", peerErr)}
	}
	ms := interop.Compare(edgeSet, peerSet)
	// The comparison, one line per setting, is what the evidence cites.
	table, lines := interop.Table(edgeSet, peerSet, ms)
	var arts []diag.Artifact
	if a, err := r.writeArtifact(interop.TableFile, "config", []byte(table)); err == nil {
		arts = append(arts, a)
	} else {
		lines = nil
	}
	ev := interop.Evidence(ms, lines)
	r.collect(func(c *Collected) { c.Config, c.ConfigLines = append(c.Config, ms...), lines })
	note := ""
	if len(peerSet.Encryption) == 0 && len(peerSet.ESPEncrypt) == 0 {
		const unknown = "the peer's proposals are unknown (swanctl --list-conns does not print them and no SA is up): declare them under peers[].declared to compare them"
		note = "; " + unknown
		r.addMissing("Step 2: " + unknown)
	}
	if len(ms) == 0 {
		return Outcome{Summary: fmt.Sprintf("no mismatch between %s and %s%s", edgeSet.Source, peerSet.Source, note), Artifacts: arts}
	}
	var parts []string
	breaking := 0
	for _, m := range ms {
		parts = append(parts, m.Field)
		if m.Severity == interop.Breaking {
			breaking++
		}
	}
	return Outcome{Evidence: ev, Artifacts: arts, Summary: fmt.Sprintf("%d mismatches (%d breaking): %s%s", len(ms), breaking, strings.Join(parts, ", "), note)}
}

// edgeSettings reads the Edge's side: ipsec/config and peerconfig from the API, else
// `show configuration ipsec` from the CLI.
func (r *run) edgeSettings(ctx context.Context) (*interop.Settings, error) {
	site, apiErr := r.siteConfig(ctx)
	if apiErr == nil {
		var pc *nsx.PeerConfig
		if mgr, _ := r.manager(); mgr != nil && site.SiteID != "" {
			var err error
			pc, err = mgr.PeerConfig(ctx, r.edge.EdgeID, site.SiteID)
			if err == nil {
				if js, err := peerConfigJSON(pc); err == nil {
					r.writeArtifact("api/peerconfig.json", "api", js)
				}
			}
		}
		return interop.FromNSX(site, pc), nil
	}
	cli, err := r.edgeCLI()
	if err != nil {
		return nil, fmt.Errorf("%v; %w", apiErr, err)
	}
	out, err := cli.Run(ctx, edge.CmdConfigIPsec)
	if err != nil {
		return nil, fmt.Errorf("%v; %w", apiErr, err)
	}
	r.writeArtifact("show/show-configuration-ipsec.txt", "show", []byte(out))
	cfg, err := edge.ParseConfigIPsec(out)
	if err != nil {
		return nil, err
	}
	for _, s := range cfg.Sites.Sites {
		if a, err := netip.ParseAddr(s.PeerIP); err == nil && a == r.peerAddr {
			ns := siteFromCLI(s)
			local, _ := netip.ParseAddr(s.LocalIP)
			r.setEdgeSite(local, s.SiteID)
			set := interop.FromNSX(ns, nil)
			set.Source = edge.CmdConfigIPsec
			return set, nil
		}
	}
	return nil, fmt.Errorf("%s: no site for peer %s", edge.CmdConfigIPsec, r.peerAddr)
}

// siteConfig returns the API's site for this run's peer, read once per run (the firewall
// check and step 2 both need it) and kept as an artifact.
func (r *run) siteConfig(ctx context.Context) (*nsx.IPsecSite, error) {
	r.siteOnce.Do(func() {
		mgr, err := r.manager()
		if err != nil {
			r.siteErr = err
			return
		}
		cfg, err := mgr.IPsecConfig(ctx, r.edge.EdgeID)
		if err != nil {
			r.siteErr = err
			return
		}
		// Re-encoded from the parsed document: PSKs are nsx.Secret and never written out.
		if raw, err := xml.MarshalIndent(cfg, "", "  "); err == nil {
			r.writeArtifact("api/ipsec-config.xml", "api", raw)
		}
		for i, s := range cfg.Sites {
			if a, err := netip.ParseAddr(s.PeerIP); err == nil && a == r.peerAddr {
				r.site = &cfg.Sites[i]
				break
			}
		}
		if r.site == nil {
			r.siteErr = fmt.Errorf("%w (peer %s)", errNoSite, r.peerAddr)
			return
		}
		local, _ := netip.ParseAddr(r.site.LocalIP)
		r.setEdgeSite(local, r.site.SiteID)
	})
	return r.site, r.siteErr
}

// siteFromCLI maps `show configuration ipsec`'s site (the API's JSON keys) to the XML type.
func siteFromCLI(s edge.IPsecConfigSite) *nsx.IPsecSite {
	return &nsx.IPsecSite{
		Enabled: s.Enabled, Name: s.Name, SiteID: s.SiteID, LocalID: s.LocalID, LocalIP: s.LocalIP,
		PeerID: s.PeerID, PeerIP: s.PeerIP, EncryptionAlgorithm: s.EncryptionAlgorithm,
		DigestAlgorithm: s.DigestAlgorithm, AuthenticationMode: s.AuthenticationMode, EnablePFS: s.EnablePFS,
		DHGroup: s.DHGroup, IKEOption: s.IKEOption, LocalSubnets: s.LocalSubnets.Subnets, PeerSubnets: s.PeerSubnets.Subnets,
	}
}

// peerConfigJSON is the parsed peer configuration as JSON with its durations in seconds, as
// the API's text gives them (time.Duration would write nanoseconds): "sa_lifetime_seconds".
func peerConfigJSON(pc *nsx.PeerConfig) ([]byte, error) {
	js, err := json.Marshal(pc)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		return nil, err
	}
	for _, part := range []string{"phase1", "phase2", "dpd"} {
		m, ok := doc[part].(map[string]any)
		if !ok {
			continue
		}
		for _, k := range []string{"sa_lifetime", "interval", "timeout"} {
			if ns, ok := m[k].(float64); ok {
				delete(m, k)
				m[k+"_seconds"] = ns / float64(time.Second)
			}
		}
	}
	return json.MarshalIndent(doc, "", "  ")
}
