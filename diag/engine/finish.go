package engine

import (
	"fmt"
	"os"
	"slices"

	"ipsecbot/diag"
	"ipsecbot/store"
)

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
	rep.Interrupt(r.interrupted())
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
			switch {
			case rep.Interrupted != "":
				inc.Status = store.StatusInterrupted
			case inc.Status == store.StatusDiagnosing:
				inc.Status = store.StatusOpen
			}
			return nil
		})
		if err != nil {
			r.e.log.Warn("update incident", "incident", r.req.Incident, "err", err)
		}
	}
	if rep.Interrupted != "" {
		r.timeline("interrupted", "the diagnosis was "+rep.Interrupted)
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
