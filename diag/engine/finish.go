package engine

import (
	"fmt"
	"os"
	"slices"

	"ipsecbot/diag"
	"ipsecbot/incident"
	"ipsecbot/store"
)

// finish builds the report, writes report.json and report.md, records the outcome and tells
// the listeners.
func (r *run) finish() {
	r.mu.Lock()
	v := r.verdict
	missing := slices.Clone(r.collected.Missing)
	cut := slices.Clone(r.cut)
	r.mu.Unlock()
	if line := r.cutLine(cut); line != "" {
		missing = append([]string{line}, missing...)
	}
	if v == nil {
		v = &diag.Verdict{Cause: diag.CauseUnknown, Summary: "the collected evidence could not be classified",
			Remediation: []string{"Read the collected artifacts; rerun when the failed steps can run"}}
	}
	r.mu.Lock()
	dp := r.dataPath
	r.mu.Unlock()
	vv := *v
	dataPathVerdict(&vv, dp)
	rep := &diag.Report{Verdict: vv, DataPath: dp, Edge: r.req.Edge, Peer: r.peerName(), Incident: r.req.Incident,
		Started: r.started, Finished: r.e.opts.Now(), Steps: r.results, Dir: r.dir}
	rep.Interrupt(r.interrupted())
	rep.CutByDeadline = cut
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
	if r.recorded() {
		to, why := store.StatusOpen, ""
		if rep.Interrupted != "" {
			to, why = store.StatusInterrupted, "the diagnosis was "+rep.Interrupted
		}
		sets := []incident.Set{incident.Finding(string(rep.Cause), rep.Summary),
			incident.Noting(store.EventFinding, fmt.Sprintf("%s (confidence %.2f): %s", rep.Cause, rep.Confidence, rep.Summary))}
		if r.err != nil { // the report files: the incident says why they are missing
			sets = append(sets, incident.Noting(store.EventFailed, r.err.Error()))
		}
		if _, err := r.e.incidents.EndDiagnosis(r.req.Incident, to, r.actor(), why, sets...); err != nil {
			// A full disk, most often: the run fails rather than leave its incident
			// diagnosing behind a verdict that looks recorded (the next start interrupts it).
			r.e.log.Warn("update incident", "incident", r.req.Incident, "err", err)
			r.err = joinRunError(r.err, fmt.Errorf("record the verdict in incident %s: %w", r.req.Incident, err))
		}
	}
	r.emit(diag.Event{Kind: diag.EventFinished, Summary: fmt.Sprintf("%s: %s", rep.Cause, rep.Summary), Report: rep})
}

// openIncident records that the run's diagnosis starts, with the site chosen, and names the
// incident to the joiners of the run.
func (r *run) openIncident() {
	if !r.recorded() {
		return
	}
	inc, err := r.e.incidents.BeginDiagnosis(r.req.Incident, r.actor(),
		fmt.Sprintf("diagnosis of %s (peer %s) started, capture window %s", r.req.Edge, r.peerName(), r.window), incident.Site(r.peerName()))
	if err != nil {
		r.e.log.Warn("update incident", "incident", r.req.Incident, "err", err)
		return
	}
	r.claimed.For(inc)
}

// recorded reports whether the run writes to an incident.
func (r *run) recorded() bool { return r.e.incidents.Recording() && r.req.Incident != "" }

// actor is who the run's timeline entries are by: its requester, else the bot.
func (r *run) actor() string {
	if r.req.Requester != "" {
		return r.req.Requester
	}
	return incident.Bot
}

// timeline appends to the incident's timeline (when the run has one).
func (r *run) timeline(kind store.EventKind, text string) {
	if !r.recorded() {
		return
	}
	if err := r.e.incidents.Note(r.req.Incident, kind, text, r.actor()); err != nil {
		r.e.log.Warn("timeline", "incident", r.req.Incident, "err", err)
	}
}

// joinRunError adds err to the run's error, on one line.
func joinRunError(runErr, err error) error {
	if runErr == nil {
		return err
	}
	return fmt.Errorf("%w; %w", runErr, err)
}
