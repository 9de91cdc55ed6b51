package engine

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/nsx"
	"ipsecbot/store"
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
	mgr, err := r.manager()
	if err != nil {
		r.snapshots.Done() // this step takes no readings
		return Outcome{Skip: err.Error()}
	}
	var arts []diag.Artifact
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
		ev = append(ev, diag.Evidence{Source: diag.SourceAPI, Ref: lastName + ":" + m.Path, Text: m.Text, Site: "edge"})
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

// problemWindow is how far back evidence counts.
const problemWindow = 24 * time.Hour

// reviewStep is procedure step 6: review everything collected and name the cause.
type reviewStep struct{}

func (reviewStep) Name() string                 { return "step6-review" }
func (reviewStep) Title() string                { return "Step 6: review logs and outputs, name the cause" }
func (reviewStep) Phase() phase                 { return phaseAfter }
func (reviewStep) Snapshot() bool               { return false }
func (reviewStep) Timeout(r *run) time.Duration { return 2 * shortTimeout(r) }

func (reviewStep) Run(ctx context.Context, r *run) Outcome {
	r.mu.Lock()
	c := r.collected
	// The problem window: the last day before the run, up to its end. A lab's logs are
	// recorded fixtures with their own dates, so the whole of them counts.
	if r.e.cfg.Lab == nil {
		c.Since = r.started.Add(-problemWindow)
	}
	r.mu.Unlock()
	v, err := r.e.opts.Classifier.Classify(ctx, &c)
	if err != nil && v == nil {
		return Outcome{Err: fmt.Errorf("classify: %w", err)}
	}
	r.mu.Lock()
	r.verdict = v
	r.mu.Unlock()
	out := Outcome{Summary: fmt.Sprintf("%s (confidence %.2f): %s", v.Cause, v.Confidence, v.Summary)}
	if err != nil {
		out.Err = err
	}
	return out
}

// finish builds the report, writes report.json and report.md, records the outcome and tells
// the listeners.
func (r *run) finish() {
	r.mu.Lock()
	v := r.verdict
	missing := slices.Clone(r.collected.Missing)
	r.mu.Unlock()
	if v == nil {
		v = &diag.Verdict{Cause: diag.CauseUnknown, Summary: "the collected evidence could not be classified",
			Remediation: []string{"Read the collected artifacts; rerun when the failed steps can run"}}
	}
	rep := &diag.Report{Verdict: *v, Edge: r.req.Edge, Peer: r.peerName(), Incident: r.req.Incident,
		Started: r.started, Finished: r.e.opts.Now(), Steps: r.results, Dir: r.dir}
	for _, m := range missing {
		if !slices.Contains(rep.Missing, m) {
			rep.Missing = append(rep.Missing, m)
		}
	}
	if rep.Evidence == nil {
		rep.Evidence = []diag.Evidence{}
	}
	if rep.AlsoSeen == nil {
		rep.AlsoSeen = []diag.Finding{}
	}
	if rep.Remediation == nil {
		rep.Remediation = []string{}
	}
	r.mu.Lock()
	rep.Artifacts = slices.Clone(r.artifacts)
	r.mu.Unlock()
	if err := WriteReportFiles(r.dir, rep); err != nil {
		r.err = fmt.Errorf("write report: %w", err)
	} else {
		for _, name := range []string{"report.json", "report.md"} {
			r.addFileArtifact(r.dir+string(os.PathSeparator)+name, "report")
		}
	}
	r.report = rep
	if db := r.e.db; db != nil && r.req.Incident != "" {
		_, err := db.UpdateIncident(r.req.Incident, func(inc *store.Incident) error {
			inc.Cause, inc.Summary = string(rep.Cause), rep.Summary
			if inc.Status == store.StatusDiagnosing {
				inc.Status = store.StatusOpen
			}
			return nil
		})
		if err != nil {
			r.e.log.Warn("update incident", "incident", r.req.Incident, "err", err)
		}
	}
	r.timeline("finding", fmt.Sprintf("%s (confidence %.2f): %s", rep.Cause, rep.Confidence, rep.Summary))
	r.emit(diag.Event{Kind: diag.EventFinished, Summary: fmt.Sprintf("%s: %s", rep.Cause, rep.Summary), Report: rep})
}

// openIncident marks the run's incident diagnosing, with the site chosen.
func (r *run) openIncident() {
	db := r.e.db
	if db == nil || r.req.Incident == "" {
		return
	}
	_, err := db.UpdateIncident(r.req.Incident, func(inc *store.Incident) error {
		inc.Status, inc.Site = store.StatusDiagnosing, r.peerName()
		return nil
	})
	if err != nil {
		r.e.log.Warn("update incident", "incident", r.req.Incident, "err", err)
	}
	r.timeline("status", fmt.Sprintf("diagnosis of %s (peer %s) started, capture window %s", r.req.Edge, r.peerName(), r.window))
}

// timeline appends to the incident's timeline (when there is a store and an incident).
func (r *run) timeline(kind, text string) {
	if db := r.e.db; db != nil && r.req.Incident != "" {
		actor := r.req.Requester
		if actor == "" {
			actor = "bot"
		}
		if err := db.AppendEvent(r.req.Incident, store.Event{Time: r.e.opts.Now(), Kind: kind, Text: text, Actor: actor}); err != nil {
			r.e.log.Warn("timeline", "incident", r.req.Incident, "err", err)
		}
	}
}

func (r *run) renameArtifact(from, to string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.artifacts {
		if r.artifacts[i].Name == from {
			r.artifacts[i].Name = to
		}
	}
}

func renameFile(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("move %s: %w", from, err)
	}
	return nil
}

// bundleName names a downloaded tech support file after its content: a gzipped tar
// (logs/edge-techsupport.tar.gz) or a gzipped log (logs/edge-techsupport.log.gz).
func bundleName(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "logs/edge-techsupport.gz"
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return "logs/edge-techsupport.gz"
	}
	head := make([]byte, 512)
	n, _ := io.ReadFull(zr, head)
	if n >= 262 && string(head[257:262]) == "ustar" {
		return "logs/edge-techsupport.tar.gz"
	}
	return "logs/edge-techsupport.log.gz"
}
