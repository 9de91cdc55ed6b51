package handlers

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"ipsecbot/config"
	"ipsecbot/diag"
)

// Slack's limits that rendering respects (api.slack.com/reference/block-kit).
const (
	maxHeaderText   = 150  // header block, plain text
	maxSectionText  = 3000 // section block text
	maxContextText  = 2000 // our own cap for one context element
	maxMessageText  = 3900 // the fallback text; Slack truncates above 40000, we keep posts short
	maxEvidence     = 6    // evidence lines in the verdict; the rest is in report.md
	maxEvidenceLine = 300
	maxRemediation  = 6
)

// Action IDs of the verdict's buttons.
const (
	actionRerun         = "rerun"
	actionCaptureLonger = "capture_longer"
	actionResolve       = "resolve"
	actionEscalate      = "escalate"
)

// truncate cuts s to at most n runes' worth of bytes without splitting a character, marking
// the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	count := 0
	for pos := range s {
		if count == n-1 {
			return s[:pos] + "…"
		}
		count++
	}
	return s
}

// escape makes user- or device-supplied text safe in mrkdwn: no mentions, links or formatting
// tricks (Slack's three escapes).
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func plain(s string, n int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, truncate(s, n), false, false)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, truncate(s, maxSectionText), false, false)
}

func section(s string) slack.Block { return slack.NewSectionBlock(mrkdwn(s), nil, nil) }

func contextLine(s string) slack.Block {
	return slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, truncate(s, maxContextText), false, false))
}

// progress is what the channel message shows while a run is going.
type progress struct {
	incident, edge, requester string
	step, title               string
	index, total              int
	done                      []string // one line per finished step
	started                   time.Time
	window                    string // the capture window's countdown while it is open
}

func (p *progress) text() string {
	if p.total == 0 {
		return fmt.Sprintf("%s · %s: diagnosis starting", p.incident, p.edge)
	}
	return fmt.Sprintf("%s · %s: diagnosing (%d/%d steps)", p.incident, p.edge, len(p.done), p.total)
}

func (p *progress) blocks() []slack.Block {
	head := fmt.Sprintf(":mag: *%s* · `%s` — diagnosing, %s", p.incident, escape(p.edge), requestedBy(p.requester))
	if !p.started.IsZero() {
		head += ", started " + diag.FormatTime(p.started)
	}
	var b strings.Builder
	for _, d := range p.done {
		b.WriteString(d + "\n")
	}
	if p.title != "" {
		fmt.Fprintf(&b, ":hourglass_flowing_sand: [%d/%d] %s…", p.index, p.total, escape(p.title))
	}
	if p.window != "" {
		fmt.Fprintf(&b, "\n:stopwatch: %s", escape(p.window))
	}
	blocks := []slack.Block{section(head)}
	if b.Len() > 0 {
		blocks = append(blocks, section(tailLines(b.String(), maxSectionText)))
	}
	return append(blocks, contextLine("Step details are in the thread."))
}

// requestedBy says who started a run: a person (a Slack user ID), or the watcher (no one).
func requestedBy(requester string) string {
	if requester == "" {
		return "started automatically by the watcher"
	}
	return "requested by <@" + requester + ">"
}

// tailLines keeps the last lines of s that fit in n runes (the newest progress matters most).
func tailLines(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	lines := strings.Split(s, "\n")
	var out []string
	size := 2
	for i := len(lines) - 1; i >= 0; i-- {
		size += utf8.RuneCountInString(lines[i]) + 1
		if size > n {
			break
		}
		out = append([]string{lines[i]}, out...)
	}
	return "…\n" + strings.Join(out, "\n")
}

// stepLine is one finished step, for the progress message and the thread.
func stepLine(ev diag.Event) string {
	icon := ":white_check_mark:"
	status := diag.StepOK
	var dur time.Duration
	if r := ev.Result; r != nil {
		status, dur = r.Status, r.Duration
	}
	switch {
	case ev.Kind == diag.EventStepFailed || status == diag.StepFailed:
		icon = ":x:"
	case status == diag.StepSkipped:
		icon = ":fast_forward:"
	}
	line := fmt.Sprintf("%s [%d/%d] %s", icon, ev.Index, ev.Total, escape(ev.Title))
	if dur > 0 {
		line += fmt.Sprintf(" (%.1fs)", dur.Seconds())
	}
	if ev.Summary != "" {
		line += " — " + escape(truncate(ev.Summary, 200))
	}
	if ev.Err != "" {
		line += " — " + escape(truncate(ev.Err, 200))
	}
	return line
}

// stepDetail is a step's thread reply: its line plus its evidence.
func stepDetail(ev diag.Event) string {
	var b strings.Builder
	b.WriteString(stepLine(ev))
	if ev.Result != nil {
		for i, e := range ev.Result.Evidence {
			if i == maxEvidence {
				fmt.Fprintf(&b, "\n… %d more in report.md", len(ev.Result.Evidence)-i)
				break
			}
			fmt.Fprintf(&b, "\n• `%s`%s %s", escape(e.Ref), escape(e.StampNote()), escape(truncate(e.Text, maxEvidenceLine)))
		}
	}
	return truncate(b.String(), maxSectionText)
}

// verdictText is the fallback text of the verdict message (notifications, screen readers).
func verdictText(r *diag.Report) string {
	text := fmt.Sprintf("%s · %s: %s (%.0f%%) — %s", r.Incident, r.Edge, r.Cause, r.Confidence*100, r.Summary)
	if r.Interruption != nil {
		text = "Interrupted, verdict from what was collected: " + text
	}
	return truncate(text, maxMessageText)
}

// interruptedLine says, for a run cut short (the bot stopping), why and that the verdict
// only covers what was collected until then.
func interruptedLine(r *diag.Report) string {
	i := r.Interruption
	return truncate(fmt.Sprintf(":warning: *interrupted:* after %s (%s), verdict from what was collected until then. "+
		"Run `/ipsec diagnose %s` again for a full capture window.", i.After.Round(time.Second), escape(i.Reason), escape(r.Edge)), maxSectionText)
}

// verdictBlocks renders the final verdict: cause, confidence, key evidence, remediation and
// the buttons. Everything longer goes in report.md in the thread.
func verdictBlocks(r *diag.Report, requester string, captureSeconds, maxCapture int, note string) []slack.Block {
	icon := ":rotating_light:"
	if r.Cause == diag.CauseHealthy {
		icon = ":large_green_circle:"
	} else if r.Cause == diag.CauseUnknown {
		icon = ":grey_question:"
	}
	ike := ""
	if r.IKEVersion > 0 {
		ike = fmt.Sprintf(" · IKEv%d", r.IKEVersion)
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain(fmt.Sprintf("%s · %s: %s", r.Incident, r.Edge, r.Cause), maxHeaderText)),
		section(fmt.Sprintf("%s *Cause:* `%s`%s · confidence %.0f%%\n%s", icon, r.Cause, ike, r.Confidence*100, escape(r.Summary))),
	}
	if r.Interruption != nil {
		blocks = append(blocks, section(interruptedLine(r)))
	}
	if len(r.Evidence) > 0 {
		var b strings.Builder
		b.WriteString("*Evidence*")
		for i, e := range r.Evidence {
			if i == maxEvidence {
				fmt.Fprintf(&b, "\n… and %d more in report.md", len(r.Evidence)-i)
				break
			}
			fmt.Fprintf(&b, "\n• `%s`%s %s", escape(e.Ref), escape(e.StampNote()), escape(truncate(e.Text, maxEvidenceLine)))
		}
		blocks = append(blocks, section(b.String()))
	}
	if r.DataPath != nil {
		blocks = append(blocks, dataPathBlock(r.DataPath))
	}
	if len(r.Remediation) > 0 {
		var b strings.Builder
		b.WriteString("*What to do*")
		for i, s := range r.Remediation {
			if i == maxRemediation {
				break
			}
			fmt.Fprintf(&b, "\n%d. %s", i+1, escape(truncate(s, maxEvidenceLine)))
		}
		blocks = append(blocks, section(b.String()))
	}
	var ctx []string
	for _, f := range r.AlsoSeen {
		ctx = append(ctx, fmt.Sprintf("also seen: `%s` (%.0f%%)", f.Cause, f.Confidence*100))
	}
	if len(r.Missing) > 0 {
		ctx = append(ctx, "not collected: "+escape(strings.Join(r.Missing, "; ")))
	}
	ctx = append(ctx, fmt.Sprintf("%s · finished %s after %s", requestedBy(requester), diag.FormatTime(r.Finished), r.Finished.Sub(r.Started).Round(time.Second)))
	if note != "" {
		ctx = append(ctx, escape(note))
	}
	blocks = append(blocks, contextLine(strings.Join(ctx, " · ")))
	window := captureSeconds
	if window <= 0 {
		window = config.DefaultCaptureWindowSeconds
	}
	longer := min(window*2, maxCapture)
	buttons := []slack.BlockElement{
		slack.NewButtonBlockElement(actionRerun, encodeTarget(r.Edge, captureSeconds), plain("Re-run", 75)),
		slack.NewButtonBlockElement(actionCaptureLonger, encodeTarget(r.Edge, longer), plain(fmt.Sprintf("Capture %ds", longer), 75)),
		slack.NewButtonBlockElement(actionEscalate, r.Incident, plain("Escalate", 75)).WithStyle(slack.StyleDanger),
		slack.NewButtonBlockElement(actionResolve, r.Incident, plain("Resolve", 75)).WithStyle(slack.StylePrimary),
	}
	return append(blocks, slack.NewActionBlock("verdict_actions", buttons...))
}

// encodeTarget packs a button's edge and capture window into its value ("edge-01|120").
func encodeTarget(edge string, seconds int) string { return fmt.Sprintf("%s|%d", edge, seconds) }

func decodeTarget(v string) (edge string, seconds int, ok bool) {
	edge, secs, found := strings.Cut(v, "|")
	if !found || edge == "" {
		return "", 0, false
	}
	if _, err := fmt.Sscanf(secs, "%d", &seconds); err != nil || seconds < 0 {
		return "", 0, false
	}
	return edge, seconds, true
}
