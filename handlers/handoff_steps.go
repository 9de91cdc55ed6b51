package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"ipsecbot/diag"
	"ipsecbot/incident"
	"ipsecbot/store"
)

// The steps of the incident channel's ops; handoff.go runs them.

// --- escalate ---

// channelName renders the channel name pattern for inc: lower case, only a-z 0-9 - _, at
// most 80 characters with room for a -N suffix.
func (s *Server) channelName(inc store.Incident, at time.Time) string {
	r := strings.NewReplacer("{date}", at.UTC().Format("20060102"), "{edge}", inc.Edge, "{site}", inc.Site,
		"{n}", strings.TrimPrefix(inc.ID, "INC-"))
	return slackName(r.Replace(s.cfg.Slack.ChannelPattern()), maxChannelName-len(numberedSuffix))
}

// numberedSuffix is the room a channel name keeps for the suffixes channelNames adds.
const numberedSuffix = "-inc-9999999-9"

// channelNames are the names an incident's channel tries in turn: the pattern's, then -2 to
// -5 (a second incident of the edge that day), then names carrying the incident's number, so
// a busy edge's tenth incident of a day still gets a channel without a long run of
// conversations.create calls (Tier 2).
func channelNames(base, id string) []string {
	names := []string{base}
	for i := 2; i <= 5; i++ {
		names = append(names, fmt.Sprintf("%s-%d", base, i))
	}
	own := slackName(base+"-"+id, maxChannelName-len("-9"))
	names = append(names, own)
	for i := 2; i <= 3; i++ {
		names = append(names, fmt.Sprintf("%s-%d", own, i))
	}
	return names
}

const maxChannelName = 80

// slackName makes name a valid Slack channel name of at most max characters.
func slackName(name string, max int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_'
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > max {
		out = strings.TrimRight(out[:max], "-")
	}
	return out
}

func stepCreateChannel(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	s := x.s
	base := s.channelName(x.inc, x.op.At)
	// A name taken may be the channel this step made before a kill or a lost answer.
	maybeMade := x.rerun
	var list channelList
	names := channelNames(base, x.inc.ID)
	for _, name := range names {
		var id string
		err := s.api.callOnce(ctx, "conversations.create", func(ctx context.Context) error {
			ch, err := s.api.client.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: name})
			if err == nil {
				id = ch.ID
			}
			return err
		}, func(context.Context) (bool, error) {
			maybeMade = true // known only from the name_taken that follows
			return false, nil
		})
		if slackErr(err) == "name_taken" {
			if maybeMade {
				id = x.look(ctx, "channel "+name, func(ctx context.Context) (string, error) { return x.findChannel(ctx, &list, name) })
			}
			if id == "" {
				continue
			}
		} else if err != nil {
			return "", nil, err
		}
		return id, []incident.Set{
			incident.Handoff(func(h *store.Handoff) { h.Channel, h.ChannelName = id, name }),
			incident.Thread(id, ""),
		}, nil
	}
	return "", nil, fmt.Errorf("channel names %s to %s are all taken", base, names[len(names)-1])
}

// slackErr is the Slack error code of err, "" if it has none.
func slackErr(err error) string {
	if e, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		return e.Err
	}
	return ""
}

func stepInvite(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	ch, err := x.channel()
	if err != nil {
		return "", nil, err
	}
	err = x.s.invite(ctx, ch, x.inc.Requester, x.op.Actor)
	if slackErr(err) == "already_in_channel" {
		err = nil
	}
	return "", nil, err
}

func (x *opRun) postBrief(ctx context.Context, channel string) (string, error) {
	text := x.s.view(x.inc).Brief(slackStyle)
	return x.postStep(ctx, channel, "", text, []slack.Block{section(truncate(text, maxSectionText))})
}

func stepPostBrief(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	ch, err := x.channel()
	if err != nil {
		return "", nil, err
	}
	ts, err := x.postBrief(ctx, ch)
	if err != nil {
		return "", nil, err
	}
	return ts, []incident.Set{incident.Handoff(func(h *store.Handoff) { h.BriefTS = ts }), incident.Thread(ch, ts)}, nil
}

func (s *Server) pin(ctx context.Context, channel, ts string) error {
	err := s.api.call(ctx, "pins.add", func(ctx context.Context) error {
		return s.api.client.AddPinContext(ctx, channel, slack.NewRefToMessage(channel, ts))
	})
	if slackErr(err) == "already_pinned" {
		return nil
	}
	return err
}

func stepPinBrief(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	ch, err := x.channel()
	if err != nil {
		return "", nil, err
	}
	if x.h().BriefTS == "" {
		return "", nil, errors.New("the brief was not posted")
	}
	return "", nil, x.s.pin(ctx, ch, x.h().BriefTS)
}

func stepSetTopic(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	ch, err := x.channel()
	if err != nil {
		return "", nil, err
	}
	topic := truncate(x.s.view(x.inc).Topic(slackStyle), 250)
	return "", nil, x.s.api.call(ctx, "conversations.setTopic", func(ctx context.Context) error {
		_, err := x.s.api.client.SetTopicOfConversationContext(ctx, ch, topic)
		return err
	})
}

func stepBookmarkThread(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	ch, err := x.channel()
	if err != nil {
		return "", nil, err
	}
	h := x.h()
	var link string
	err = x.s.api.call(ctx, "chat.getPermalink", func(ctx context.Context) error {
		var err error
		link, err = x.s.api.client.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: h.OriginChannel, Ts: h.OriginThread})
		return err
	})
	if err != nil {
		return "", nil, err
	}
	id, err := x.bookmark(ctx, ch, "Verdict thread", link)
	return id, nil, err
}

// stepBookmarkFile bookmarks a file of the incident's artifacts directory as served at
// slack.artifacts_url: name, or the first artifact of kind.
func stepBookmarkFile(kind, title, name string) stepFunc {
	return func(ctx context.Context, x *opRun) (string, []incident.Set, error) {
		ch, err := x.channel()
		if err != nil {
			return "", nil, err
		}
		link, err := x.s.artifactLink(x.inc.ID, kind, name)
		if err != nil {
			return "", nil, err
		}
		id, err := x.bookmark(ctx, ch, title, link)
		return id, nil, err
	}
}

// artifactLink is the URL of an incident's file under slack.artifacts_url.
func (s *Server) artifactLink(id, kind, name string) (string, error) {
	base := s.cfg.Slack.ArtifactsURL
	if base == "" {
		return "", errors.New("slack.artifacts_url is not set")
	}
	if name == "" {
		arts, err := s.db.Artifacts(id)
		if err != nil {
			return "", err
		}
		for _, a := range arts {
			if a.Kind == kind {
				name = a.Path
				break
			}
		}
		if name == "" {
			return "", fmt.Errorf("%s has no %s artifact", id, kind)
		}
		// Stored paths may be absolute; the served tree is the artifacts directory.
		if rel, ok := strings.CutPrefix(name, s.artifacts+"/"); ok {
			name = rel
		} else {
			name = path.Join(id, path.Base(name))
		}
	} else {
		name = path.Join(id, name)
	}
	u, err := url.JoinPath(base, strings.Split(name, "/")...)
	if err != nil {
		return "", err
	}
	return u, nil
}

// stepIndexLine posts the incident's line in the index channel, or edits it when there is one.
func stepIndexLine(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	s, h := x.s, x.h()
	index := s.cfg.Slack.IncidentIndexChannel
	if index == "" {
		return "", nil, nil
	}
	line := s.view(x.inc).IndexLine(slackStyle)
	if h.IndexTS != "" && h.IndexChannel == index {
		return h.IndexTS, nil, s.api.update(ctx, index, h.IndexTS, line, []slack.Block{section(line)})
	}
	ts, err := x.postStep(ctx, index, "", line, []slack.Block{section(line)})
	if err != nil {
		return "", nil, err
	}
	return ts, []incident.Set{incident.Handoff(func(h *store.Handoff) { h.IndexChannel, h.IndexTS = index, ts })}, nil
}

// stepPointer leaves a line in the diagnosis thread the incident came from.
func stepPointer(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	h := x.h()
	if h.OriginChannel == "" || h.OriginThread == "" {
		return "", nil, nil
	}
	var text string
	switch x.op.Kind {
	case store.OpResolve:
		text = fmt.Sprintf(":white_check_mark: %s resolved by <@%s>: %s", x.inc.ID, x.op.Actor, escape(x.op.Text))
	default:
		text = fmt.Sprintf(":arrow_right: %s escalated to <#%s> by <@%s>.", x.inc.ID, h.Channel, x.op.Actor)
	}
	ts, err := x.postStep(ctx, h.OriginChannel, h.OriginThread, text, nil)
	return ts, nil, err
}

func stepUpdateBrief(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	ch, err := x.channel()
	if err != nil {
		return "", nil, err
	}
	ts := x.h().BriefTS
	if ts == "" {
		return "", nil, errors.New("there is no brief to update")
	}
	text := x.s.view(x.inc).Brief(slackStyle)
	return ts, nil, x.s.api.update(ctx, ch, ts, text, []slack.Block{section(truncate(text, maxSectionText))})
}

// --- hand over ---

func stepAnnounce(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	ch, err := x.channel()
	if err != nil {
		return "", nil, err
	}
	text := fmt.Sprintf(":busts_in_silhouette: <@%s> assigned the incident commander role of %s to <@%s>.", x.op.Actor, x.inc.ID, x.op.Target)
	return x.post(ctx, ch, text)
}

// stepInviteTarget brings the new commander into the incident channel.
func stepInviteTarget(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	ch, err := x.channel()
	if err != nil {
		return "", nil, err
	}
	err = x.s.api.call(ctx, "conversations.invite", func(ctx context.Context) error {
		_, err := x.s.api.client.InviteUsersToConversationContext(ctx, ch, x.op.Target)
		return err
	})
	if slackErr(err) == "already_in_channel" {
		err = nil
	}
	return "", nil, err
}

// post posts the step's one message, text alone, in channel.
func (x *opRun) post(ctx context.Context, channel, text string) (string, []incident.Set, error) {
	ts, err := x.postStep(ctx, channel, "", text, nil)
	return ts, nil, err
}

func stepOpenDM(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	var ch *slack.Channel
	err := x.s.api.call(ctx, "conversations.open", func(ctx context.Context) error {
		var err error
		ch, _, _, err = x.s.api.client.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{x.op.Target}})
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return ch.ID, nil, nil
}

// commanderChecklist is what a new commander is sent with the brief.
const commanderChecklist = "*Your checklist as incident commander*\n" +
	"• Post an update: `/ipsec update %[1]s conditions: … actions: … needs: …`\n" +
	"• Re-read the brief: `/ipsec incident %[1]s`\n" +
	"• Hand over when you step away: `/ipsec commander %[1]s @someone`\n" +
	"• Close it when it is fixed: `/ipsec resolve %[1]s what fixed it`"

func stepDMBrief(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	open := x.op.Step("open-dm")
	if open == nil || open.State != store.StepDone {
		return "", nil, errors.New("no direct message was opened")
	}
	text := fmt.Sprintf("You are now the incident commander of %s in <#%s>.\n\n%s\n%s", x.inc.ID, x.h().Channel,
		x.s.view(x.inc).Brief(slackStyle), fmt.Sprintf(commanderChecklist, x.inc.ID))
	ts, err := x.postStep(ctx, open.Out, "", text, []slack.Block{section(truncate(text, maxSectionText))})
	return ts, nil, err
}

// --- updates ---

func stepPostUpdate(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	ch, err := x.channel()
	if err != nil {
		return "", nil, err
	}
	cond, act, needs := parseUpdate(x.op.Text)
	var b strings.Builder
	fmt.Fprintf(&b, ":memo: *%s status update* by <@%s>\n*Conditions:* %s", x.inc.ID, x.op.Actor, escape(cond))
	if act != "" {
		fmt.Fprintf(&b, "\n*Actions:* %s", escape(act))
	}
	if needs != "" {
		fmt.Fprintf(&b, "\n*Needs:* %s", escape(needs))
	}
	if due := x.s.nextUpdate(x.inc); !due.IsZero() {
		fmt.Fprintf(&b, "\nNext update due %s.", diag.FormatTime(due))
	}
	ts, err := x.postStep(ctx, ch, "", b.String(), nil)
	if err != nil {
		return "", nil, err
	}
	return ts, []incident.Set{incident.Handoff(func(h *store.Handoff) { h.UpdateTS = ts })}, nil
}

func stepUnpinPrevious(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	ch, err := x.channel()
	if err != nil || x.op.Prev == "" {
		return "", nil, err
	}
	err = x.s.api.call(ctx, "pins.remove", func(ctx context.Context) error {
		return x.s.api.client.RemovePinContext(ctx, ch, slack.NewRefToMessage(ch, x.op.Prev))
	})
	if slackErr(err) == "no_pin" {
		err = nil
	}
	return "", nil, err
}

func stepPinUpdate(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	ch, err := x.channel()
	if err != nil {
		return "", nil, err
	}
	post := x.op.Step("post-update")
	if post == nil || post.State != store.StepDone {
		return "", nil, errors.New("the update was not posted")
	}
	return "", nil, x.s.pin(ctx, ch, post.Out)
}

// parseUpdate reads "conditions: ... actions: ... needs: ..." (any order, any case); text
// without those labels is all conditions.
func parseUpdate(text string) (conditions, actions, needs string) {
	// ASCII lower case only: the offsets found in it must be the same in text.
	lower := []byte(text)
	for i, c := range lower {
		if 'A' <= c && c <= 'Z' {
			lower[i] = c + 'a' - 'A'
		}
	}
	type mark struct {
		label string
		at    int
	}
	var marks []mark
	for _, l := range []string{"conditions:", "actions:", "needs:"} {
		if i := strings.Index(string(lower), l); i >= 0 {
			marks = append(marks, mark{l, i})
		}
	}
	if len(marks) == 0 {
		return strings.TrimSpace(text), "", ""
	}
	slices.SortFunc(marks, func(a, b mark) int { return a.at - b.at })
	out := map[string]string{}
	if lead := strings.TrimSpace(text[:marks[0].at]); lead != "" {
		out["conditions:"] = lead
	}
	for i, m := range marks {
		end := len(text)
		if i+1 < len(marks) {
			end = marks[i+1].at
		}
		out[m.label] = strings.TrimSpace(strings.TrimSpace(out[m.label] + " " + text[m.at+len(m.label):end]))
	}
	return out["conditions:"], out["actions:"], out["needs:"]
}

// --- resolve ---

func stepClosingSummary(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	ch, err := x.channel()
	if err != nil {
		return "", nil, err
	}
	return x.post(ctx, ch, x.s.closingSummary(x.inc, x.op))
}

// closingSummary says what the cause was, what fixed it, how long it took and what the
// watcher saw of the tunnel while the incident was open.
func (s *Server) closingSummary(inc store.Incident, op store.Op) string {
	var b strings.Builder
	fmt.Fprintf(&b, ":white_check_mark: *%s resolved* by <@%s>\n", inc.ID, op.Actor)
	fmt.Fprintf(&b, "*Cause:* `%s`", escape(cmp.Or(inc.Cause, "unknown")))
	if inc.Summary != "" {
		fmt.Fprintf(&b, " — %s", escape(inc.Summary))
	}
	fmt.Fprintf(&b, "\n*What fixed it:* %s\n*Time to resolve:* %s", escape(op.Text), op.At.Sub(inc.Created).Round(time.Minute))
	drops, err := s.dropsWhileOpen(inc, op.At)
	switch {
	case err != nil:
		fmt.Fprintf(&b, "\n*Watcher:* history unreadable (%s)", escape(err.Error()))
	case len(drops) == 0:
		b.WriteString("\n*Watcher:* no drops recorded while it was open")
	default:
		fmt.Fprintf(&b, "\n*Watcher:* %d drops while it was open, the last at %s", len(drops), diag.FormatTime(drops[len(drops)-1]))
	}
	return b.String()
}

// dropsWhileOpen are the drops the watcher recorded on the incident's edge (its site's
// tunnels when the incident names one) between its opening and until.
func (s *Server) dropsWhileOpen(inc store.Incident, until time.Time) ([]time.Time, error) {
	tunnels, err := s.db.WatchTunnels()
	if err != nil {
		return nil, err
	}
	var out []time.Time
	for _, t := range tunnels {
		if t.Edge != inc.Edge || inc.Site != "" && t.Site != inc.Site {
			continue
		}
		evs, err := s.db.WatchEvents(t.Edge, t.Site, t.Tunnel, inc.Created, until)
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			if ev.Kind == store.WatchDrop {
				out = append(out, ev.Time)
			}
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out, nil
}

// stepThreadNote tells the diagnosis thread of an incident that never had its own channel.
func stepThreadNote(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	if x.inc.Channel == "" || x.inc.ThreadTS == "" {
		return "", nil, nil
	}
	text := fmt.Sprintf(":white_check_mark: %s resolved by <@%s>.", x.inc.ID, x.op.Actor)
	if x.op.Text != "" {
		text = fmt.Sprintf(":white_check_mark: %s resolved by <@%s>: %s", x.inc.ID, x.op.Actor, escape(x.op.Text))
	}
	ts, err := x.postStep(ctx, x.inc.Channel, x.inc.ThreadTS, text, nil)
	return ts, nil, err
}
