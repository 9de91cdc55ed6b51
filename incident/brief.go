package incident

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"ipsecbot/diag"
	"ipsecbot/store"
)

// View is everything the handoff brief and the postmortem are written from.
type View struct {
	Incident  store.Incident
	Timeline  []store.Event
	Artifacts []store.Artifact
	Report    *diag.Report // the last verdict (report.json), nil when there is none
	// NextUpdate is when the next status update is due (zero: none is).
	NextUpdate time.Time
}

// ReadReport reads the last report of incident id from the artifacts directory (each
// incident's diagnoses write DIR/ID/report.json); nil without error when there is none yet.
func ReadReport(artifactsDir, id string) (*diag.Report, error) {
	data, err := os.ReadFile(filepath.Join(artifactsDir, id, "report.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r diag.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s report.json: %w", id, err)
	}
	return &r, nil
}

// Style renders for Slack (mrkdwn, mentions) or for a terminal and Markdown files.
type Style struct{ Slack bool }

func (s Style) user(id string) string {
	switch {
	case id == "" || id == Bot || id == "cli":
		return cmp.Or(id, "nobody")
	case s.Slack:
		return "<@" + id + ">"
	}
	return "@" + id
}

func (s Style) channel(id string) string {
	if s.Slack {
		return "<#" + id + ">"
	}
	return "#" + id
}

// esc keeps text from logs, reports and people as text in Slack's mrkdwn (&, <, > are
// control characters there); the terminal gets it as it is.
func (s Style) esc(t string) string {
	if !s.Slack {
		return t
	}
	return mrkdwnEscaper.Replace(t)
}

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func (s Style) bold(t string) string {
	if s.Slack {
		return "*" + t + "*"
	}
	return "**" + t + "**"
}

// peerName is the far side of the tunnel as the incident or its report names it.
func (v View) peerName() string {
	if v.Incident.Site != "" {
		return v.Incident.Site
	}
	if v.Report != nil && v.Report.Peer != "" {
		return v.Report.Peer
	}
	return "peer"
}

func (v View) handoff() store.Handoff {
	if v.Incident.Handoff == nil {
		return store.Handoff{}
	}
	return *v.Incident.Handoff
}

// severity is the handoff's severity, "unrated" before an escalation.
func (v View) severity() string { return cmp.Or(v.handoff().Severity, "unrated") }

// Topic is the incident channel's topic: commander, status, severity, tunnel, cause.
func (v View) Topic(s Style) string {
	inc := v.Incident
	return fmt.Sprintf("IC %s | %s | %s | %s → %s | %s", s.user(v.handoff().Commander), inc.Status, v.severity(),
		s.esc(inc.Edge), s.esc(v.peerName()), s.esc(cmp.Or(inc.Cause, "cause unknown")))
}

// IndexLine is the incident's one line in the index channel.
func (v View) IndexLine(s Style) string {
	h := v.handoff()
	line := fmt.Sprintf("%s · %s · %s · %s → %s · %s · IC %s", s.bold(v.Incident.ID), v.severity(), v.Incident.Status,
		s.esc(v.Incident.Edge), s.esc(v.peerName()), s.esc(cmp.Or(v.Incident.Cause, "cause unknown")), s.user(h.Commander))
	if h.Channel != "" {
		line += " · " + s.channel(h.Channel)
	}
	return line
}

// Hypotheses are the causes the last verdict ruled in (the verdict, then what was also
// seen) and out, each with why.
func (v View) Hypotheses() (in, out []string) {
	r := v.Report
	if r == nil {
		return nil, nil
	}
	in = append(in, finding(r.Cause, r.Confidence, r.Evidence))
	for _, f := range r.AlsoSeen {
		in = append(in, finding(f.Cause, f.Confidence, f.Evidence))
	}
	ruled := map[diag.Cause]bool{r.Cause: true}
	for _, f := range r.AlsoSeen {
		ruled[f.Cause] = true
	}
	if !ruled[diag.CausePeerUnreachable] && (r.Scanned.IKEMessages > 0 || needsIKEAnswer[r.Cause]) {
		why := "the peer answered IKE"
		if r.Scanned.IKEMessages > 0 {
			why = fmt.Sprintf("IKE answered (%d IKE messages captured)", r.Scanned.IKEMessages)
		}
		out = append(out, fmt.Sprintf("%s: %s", diag.CausePeerUnreachable, why))
	}
	if r.Cause != diag.CauseHealthy && r.Cause != diag.CauseUnknown && !ruled[diag.CauseHealthy] {
		out = append(out, fmt.Sprintf("%s: the verdict is %s", diag.CauseHealthy, r.Cause))
	}
	return in, out
}

// needsIKEAnswer are the causes only an IKE exchange with the peer can show.
var needsIKEAnswer = map[diag.Cause]bool{
	diag.CauseIKEProposalMismatch: true, diag.CauseAuthFailed: true, diag.CauseIPsecProposalMismatch: true,
	diag.CauseTrafficSelectorMismatch: true, diag.CauseInvalidID: true, diag.CauseNoTrustedCA: true,
	diag.CausePFSMismatch: true,
}

// finding reads "auth_failed 0.99 — peer.log:136 MAC mismatched; edge.log:12 ...".
func finding(c diag.Cause, conf float64, ev []diag.Evidence) string {
	s := fmt.Sprintf("%s %.2f", c, conf)
	var refs []string
	for _, e := range ev[:min(len(ev), 3)] {
		refs = append(refs, strings.TrimSpace(e.Ref+" "+e.Text))
	}
	if len(refs) > 0 {
		s += " — " + strings.Join(refs, "; ")
	}
	return s
}

// Brief is the handoff brief: what someone taking the incident over needs, in one message.
func (v View) Brief(s Style) string {
	inc, h := v.Incident, v.handoff()
	var b strings.Builder
	fmt.Fprintf(&b, "%s handoff brief · %s → %s · %s · %s\n", s.bold(inc.ID), s.esc(inc.Edge), s.esc(v.peerName()), inc.Status, v.severity())
	fmt.Fprintf(&b, "%s %s · requested by %s · opened %s\n", s.bold("Commander:"), s.user(h.Commander), s.user(inc.Requester),
		diag.FormatTime(inc.Created))
	if r := v.Report; r != nil {
		fmt.Fprintf(&b, "%s %s (confidence %.2f) — %s\n", s.bold("Last verdict:"), r.Cause, r.Confidence, s.esc(r.Summary))
		in, out := v.Hypotheses()
		for _, l := range in {
			fmt.Fprintf(&b, "• ruled in: %s\n", s.esc(l))
		}
		for _, l := range out {
			fmt.Fprintf(&b, "• ruled out: %s\n", s.esc(l))
		}
		if len(r.Missing) > 0 {
			fmt.Fprintf(&b, "%s %s\n", s.bold("Still missing:"), s.esc(strings.Join(r.Missing, "; ")))
		}
	} else if inc.Cause != "" {
		fmt.Fprintf(&b, "%s %s — %s\n", s.bold("Last verdict:"), s.esc(inc.Cause), s.esc(inc.Summary))
	} else {
		fmt.Fprintf(&b, "%s none yet\n", s.bold("Last verdict:"))
	}
	if last := lastOf(v.Timeline, store.EventUpdate); last != nil {
		fmt.Fprintf(&b, "%s %s by %s: %s\n", s.bold("Last update:"), diag.FormatTime(last.Time), s.user(last.Actor), s.esc(last.Text))
	}
	switch {
	case inc.Status == store.StatusResolved:
	case !v.NextUpdate.IsZero():
		fmt.Fprintf(&b, "%s %s\n", s.bold("Next update due:"), diag.FormatTime(v.NextUpdate))
	}
	if len(v.Artifacts) > 0 {
		var names []string
		for _, a := range v.Artifacts {
			names = append(names, filepath.Base(a.Path))
		}
		fmt.Fprintf(&b, "%s %s\n", s.bold("Artifacts:"), s.esc(strings.Join(names, ", ")))
	}
	if h.OriginChannel != "" {
		fmt.Fprintf(&b, "%s diagnosis thread in %s", s.bold("Channels:"), s.channel(h.OriginChannel))
		if h.Channel != "" {
			fmt.Fprintf(&b, ", incident channel %s", s.channel(h.Channel))
		}
		b.WriteString("\n")
	}
	var engaged []string
	for _, u := range v.Engaged() {
		engaged = append(engaged, s.user(u))
	}
	if len(engaged) > 0 {
		fmt.Fprintf(&b, "%s %s\n", s.bold("Engaged:"), strings.Join(engaged, ", "))
	}
	for _, st := range h.Failed() {
		fmt.Fprintf(&b, "⚠ not done in Slack: %s — %s\n", st.Name, s.esc(st.Error))
	}
	if len(v.Timeline) > 0 {
		b.WriteString(s.bold("Timeline") + "\n")
		for _, ev := range v.Timeline[max(0, len(v.Timeline)-10):] {
			fmt.Fprintf(&b, "• %s %s %s\n", diag.FormatTime(ev.Time), ev.Kind, s.esc(ev.Text))
		}
	}
	return b.String()
}

// Engaged are the people who acted on the incident, the commander first.
func (v View) Engaged() []string {
	var out []string
	add := func(u string) {
		if u != "" && u != Bot && u != "cli" && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	add(v.handoff().Commander)
	add(v.Incident.Requester)
	for _, ev := range v.Timeline {
		add(ev.Actor)
	}
	return out
}

func lastOf(events []store.Event, kind store.EventKind) *store.Event {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Kind == kind {
			return &events[i]
		}
	}
	return nil
}

// Postmortem is a Markdown skeleton for the incident's review: the record filled in, the
// judgement left to people.
func (v View) Postmortem() string {
	s := Style{}
	inc, h := v.Incident, v.handoff()
	var b strings.Builder
	fmt.Fprintf(&b, "# Postmortem: %s — %s → %s\n\n", inc.ID, inc.Edge, v.peerName())
	fmt.Fprintf(&b, "- Status: %s\n- Severity: %s\n- Opened: %s\n", inc.Status, v.severity(), inc.Created.UTC().Format(time.RFC3339))
	if !h.Resolved.IsZero() {
		fmt.Fprintf(&b, "- Resolved: %s (after %s)\n", h.Resolved.UTC().Format(time.RFC3339), h.Resolved.Sub(inc.Created).Round(time.Minute))
	}
	fmt.Fprintf(&b, "- Cause: %s\n- Requested by: %s\n\n", cmp.Or(inc.Cause, "unknown"), s.user(inc.Requester))
	b.WriteString("## Summary\n\n" + cmp.Or(inc.Summary, "_What happened, in two sentences._") + "\n\n")
	b.WriteString("## Impact\n\n_Who lost what, for how long._\n\n")
	b.WriteString("## Timeline (UTC)\n\n")
	for _, ev := range v.Timeline {
		fmt.Fprintf(&b, "- %s — %s — %s (%s)\n", diag.FormatTime(ev.Time), ev.Kind, ev.Text, s.user(ev.Actor))
	}
	b.WriteString("\n## Verdicts\n\n")
	for _, ev := range v.Timeline {
		if ev.Kind == store.EventFinding {
			fmt.Fprintf(&b, "- %s: %s\n", diag.FormatTime(ev.Time), ev.Text)
		}
	}
	b.WriteString("\n## Evidence\n\n")
	if r := v.Report; r != nil {
		in, out := v.Hypotheses()
		for _, l := range in {
			fmt.Fprintf(&b, "- Ruled in: %s\n", l)
		}
		for _, l := range out {
			fmt.Fprintf(&b, "- Ruled out: %s\n", l)
		}
		for _, e := range r.Evidence {
			fmt.Fprintf(&b, "- `%s` (%s): %s\n", e.Ref, e.Source, e.Text)
		}
		for _, m := range r.Missing {
			fmt.Fprintf(&b, "- Missing: %s\n", m)
		}
	} else {
		b.WriteString("_No report.json was found for this incident._\n")
	}
	b.WriteString("\n## Updates\n\n")
	for _, ev := range v.Timeline {
		if ev.Kind == store.EventUpdate {
			fmt.Fprintf(&b, "- %s by %s: %s\n", diag.FormatTime(ev.Time), s.user(ev.Actor), ev.Text)
		}
	}
	b.WriteString("\n## Commanders\n\n")
	for _, ev := range v.Timeline {
		if ev.Kind == store.EventCommander {
			fmt.Fprintf(&b, "- %s: %s\n", diag.FormatTime(ev.Time), ev.Text)
		}
	}
	if len(v.Artifacts) > 0 {
		b.WriteString("\n## Artifacts\n\n")
		for _, a := range v.Artifacts {
			fmt.Fprintf(&b, "- %s (%s, %d bytes, sha256 %s)\n", a.Path, a.Kind, a.Size, a.SHA256)
		}
	}
	b.WriteString("\n## What went well\n\n_\n\n## What went badly\n\n_\n\n## Action items\n\n- [ ] _owner — action — due_\n")
	return b.String()
}

// NewView gathers the view of an incident from what the store holds of it and its last
// report in artifactsDir; cadence is the update cadence of a severity. A report that cannot
// be read leaves View.Report nil and is returned as the error, the view still whole.
func NewView(d store.IncidentDetail, artifactsDir string, cadence func(severity string) time.Duration) (View, error) {
	v := View{Incident: d.Incident, Timeline: d.Timeline, Artifacts: d.Artifacts}
	if v.Incident.Status == store.StatusEscalated {
		v.NextUpdate = NextUpdate(v.Incident, cadence)
	}
	var err error
	v.Report, err = ReadReport(artifactsDir, d.Incident.ID)
	return v, err
}

// NextUpdate is when an escalated incident's next status update is due: one cadence of its
// severity after the escalation or the last update, or the end of a snooze if later. Zero
// before an escalation.
func NextUpdate(inc store.Incident, cadence func(severity string) time.Duration) time.Time {
	h := inc.Handoff
	if h == nil || h.Escalated.IsZero() {
		return time.Time{}
	}
	base := h.Escalated
	if h.LastUpdate.After(base) {
		base = h.LastUpdate
	}
	due := base.Add(cadence(h.Severity))
	if h.SnoozedUntil.After(due) {
		due = h.SnoozedUntil
	}
	return due
}
