package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/nsx"
)

// apiStep is procedure step 7: the tunnel's failure messages and counters from the NSX API,
// read at the capture window's start and end.
type apiStep struct{}

func (apiStep) Name() string                 { return "step7-api" }
func (apiStep) Title() string                { return "Step 7: tunnel failure messages from the NSX API" }
func (apiStep) Phase() phase                 { return phaseWindow }
func (apiStep) Snapshot() bool               { return true }
func (apiStep) Timeout(r *run) time.Duration { return windowTimeout(r) }

func (apiStep) Run(ctx context.Context, r *run) Outcome {
	var arts []diag.Artifact
	// The watcher's history first: it is the API's past, kept even when the API fails now.
	if a, err := r.watchHistory(); err != nil {
		r.addMissing(err.Error())
	} else if a != nil {
		arts = append(arts, *a)
	}
	mgr, err := r.manager()
	if err != nil {
		r.snapshots.Done() // this step takes no readings
		return Outcome{Skip: err.Error(), Artifacts: arts}
	}
	stats := map[string]*nsx.Statistics{}
	err = r.atStartAndEnd(ctx, func(ctx context.Context, when string) error {
		st, raw, err := mgr.IPsecStatistics(ctx, r.edge.EdgeID)
		if err != nil {
			return err
		}
		a, err := r.writeArtifact("api/ipsec-statistics-"+when+".xml", "api", raw)
		if err != nil {
			return err
		}
		arts = append(arts, a)
		stats[when] = st
		r.collect(func(c *Collected) { c.Stats = append(c.Stats, a.Name) })
		return nil
	})
	last, lastName := stats["end"], "api/ipsec-statistics-end.xml"
	if last == nil {
		last, lastName = stats["start"], "api/ipsec-statistics-start.xml"
	}
	if last == nil {
		return Outcome{Err: err, Artifacts: arts}
	}
	_, siteID := r.edgeSite()
	var ev []diag.Evidence
	var failures []string
	for _, m := range last.Messages() {
		if siteID != "" && m.SiteID != "" && m.SiteID != siteID {
			continue
		}
		ev = append(ev, diag.Evidence{Source: diag.SourceAPI, Ref: diag.ElementRef(lastName, m.Path).String(), Text: m.Text, Site: "edge"})
		if m.Kind == nsx.KindFailure && !slices.Contains(failures, m.Text) {
			failures = append(failures, m.Text)
		}
	}
	sum := siteSummary(last, siteID, r.peerAddr.String())
	if d := counterDeltas(stats["start"], stats["end"], siteID); d != "" {
		sum += "; " + d
	}
	if len(failures) > 0 {
		sum += "; failure: " + strings.Join(failures, " / ")
	}
	return Outcome{Summary: sum, Evidence: ev, Artifacts: arts, Err: err}
}

// siteStats returns the statistics of the run's site: by site ID, else by the peer's address.
func siteStats(st *nsx.Statistics, siteID, peerIP string) *nsx.SiteStatistics {
	if st == nil {
		return nil
	}
	if s := st.Site(siteID); siteID != "" && s != nil {
		return s
	}
	for i := range st.Sites {
		if s := &st.Sites[i]; s.IKEStatus != nil && s.IKEStatus.PeerIPAddress == peerIP {
			return s
		}
	}
	if len(st.Sites) == 1 {
		return &st.Sites[0]
	}
	return nil
}

func siteSummary(st *nsx.Statistics, siteID, peerIP string) string {
	s := siteStats(st, siteID, peerIP)
	if s == nil {
		return "no statistics for the site"
	}
	ch := "channel unknown"
	if s.IKEStatus != nil {
		ch = "channel " + s.IKEStatus.ChannelStatus
	}
	up := 0
	for _, t := range s.Tunnels {
		if strings.EqualFold(t.TunnelStatus, "up") {
			up++
		}
	}
	return fmt.Sprintf("%s, %d/%d tunnels up", ch, up, len(s.Tunnels))
}

// counterDeltas says how the site's tunnel counters moved during the window.
func counterDeltas(a, b *nsx.Statistics, siteID string) string {
	sa, sb := siteStats(a, siteID, ""), siteStats(b, siteID, "")
	if sa == nil || sb == nil {
		return ""
	}
	var in, out, errs int64
	sum := func(s *nsx.SiteStatistics) (i, o, e int64) {
		for _, t := range s.Tunnels {
			i += int64(t.PacketsIn)
			o += int64(t.PacketsOut)
			e += int64(t.PacketReceivedErrors + t.PacketSentErrors + t.DecryptionFailures + t.IntegrityErrors + t.ReplayErrors)
		}
		return
	}
	i1, o1, e1 := sum(sa)
	i2, o2, e2 := sum(sb)
	in, out, errs = i2-i1, o2-o1, e2-e1
	return fmt.Sprintf("during the window: %+d packets in, %+d out, %+d errors", in, out, errs)
}
