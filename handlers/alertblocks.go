package handlers

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"ipsecbot/diag"
	"ipsecbot/store"
	"ipsecbot/watch"
)

// stateIcon is how a watch state shows in Slack.
var stateIcon = map[string]string{
	watch.StateUp:       ":large_green_circle:",
	watch.StateDown:     ":red_circle:",
	watch.StateUnstable: ":large_orange_circle:",
	watch.StateUnknown:  ":white_circle:",
}

func iconOf(state string) string {
	if i, ok := stateIcon[state]; ok {
		return i
	}
	return ":white_circle:"
}

// slackTime shows t in each reader's own zone (Slack's date token), UTC where it cannot.
func slackTime(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time_secs}|%s>", t.Unix(), diag.FormatTime(t))
}

// alertTitle is the alert's one-line summary: its header and fallback text.
func alertTitle(rec *store.WatchAlert) string {
	switch {
	case !rec.Cleared.IsZero():
		return "Cleared: IPsec tunnel on " + rec.Edge + " / " + rec.Site
	case rec.State == watch.StateUp:
		return "Back up, not cleared yet: IPsec tunnel on " + rec.Edge + " / " + rec.Site
	default:
		return "IPsec tunnel " + rec.State + ": " + rec.Edge + " / " + rec.Site
	}
}

// alertMessage renders a tunnel's alert: what and where, the state and since when, the drops
// in the window, the last failure message, its automatic diagnosis, and why the state changed.
func alertMessage(rec *store.WatchAlert, clearAfter time.Duration) (string, []slack.Block) {
	title := alertTitle(rec)
	icon := iconOf(rec.State)
	if !rec.Cleared.IsZero() {
		icon = ":white_check_mark:"
	}
	state := fmt.Sprintf("%s %s since %s", icon, rec.State, slackTime(rec.Since))
	switch {
	case !rec.Cleared.IsZero():
		state = fmt.Sprintf("%s cleared %s (up and stable since %s)", icon, slackTime(rec.Cleared), slackTime(rec.Since))
	case rec.State == watch.StateUp:
		state += fmt.Sprintf("; clears after %s of stable up", clearAfter)
	}
	fields := []*slack.TextBlockObject{
		mrkdwn("*Edge*\n" + escape(rec.Edge)),
		mrkdwn("*Site*\n" + escape(rec.Site)),
		mrkdwn("*Tunnel*\n`" + escape(rec.Tunnel) + "`"),
		mrkdwn("*State*\n" + state),
		mrkdwn(fmt.Sprintf("*Drops (24 h)*\n%d", rec.Drops)),
		mrkdwn("*Open since*\n" + slackTime(rec.Opened)),
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain(title, maxHeaderText)),
		slack.NewSectionBlock(nil, fields, nil),
	}
	failure := "none reported"
	if rec.LastFailure != "" {
		failure = "```" + escape(truncate(oneLine(rec.LastFailure), maxEvidenceLine)) + "```"
	}
	blocks = append(blocks, section("*Last failure message*\n"+failure))
	if line := diagnosisLine(rec); line != "" {
		blocks = append(blocks, section(line))
	}
	if rec.Reason != "" {
		blocks = append(blocks, contextLine(escape(oneLine(rec.Reason))))
	}
	text := fmt.Sprintf("%s %s: %s (%d drops in 24 h)", title, rec.Tunnel, rec.State, rec.Drops)
	if rec.Incident != "" {
		text += " · " + rec.Incident
		if rec.Cause != "" {
			text += ": " + rec.Cause
		}
	}
	return text, blocks
}

// changeLine is a later change's reply in the alert's thread.
func changeLine(t watch.Transition, clearAfter time.Duration) string {
	from := t.From
	if from == "" {
		from = "new"
	}
	line := fmt.Sprintf("%s %s → *%s* at %s", iconOf(t.To), from, t.To, slackTime(t.At))
	if t.Reason != "" {
		line += ": " + escape(oneLine(t.Reason))
	}
	if t.To == watch.StateUp {
		line += fmt.Sprintf(". The alert clears after %s of stable up.", clearAfter)
	}
	return line
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
