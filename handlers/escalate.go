package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"ipsecbot/diag/fault"
	"ipsecbot/incident"
	"ipsecbot/store"
)

// escalateSteps are the side effects of an escalation, in order, for inc: the channel, its
// people, the pinned brief, the topic, the bookmarks, the index line and the pointer left
// in the diagnosis thread. The bookmarks to files need slack.artifacts_url, the index line
// slack.incident_index_channel. The brief is brought up to date last.
func (s *Server) escalateSteps(inc store.Incident) []string {
	st := []string{"create-channel", "invite", "post-brief", "pin-brief", "set-topic"}
	thread := inc.Channel != "" && inc.ThreadTS != ""
	if thread {
		st = append(st, "bookmark-thread")
	}
	if s.cfg.Slack.ArtifactsURL != "" {
		st = append(st, "bookmark-report")
		if arts, err := s.db.Artifacts(inc.ID); err == nil && slices.ContainsFunc(arts, func(a store.Artifact) bool { return a.Kind == "pcap" }) {
			st = append(st, "bookmark-pcap")
		}
	}
	if s.cfg.Slack.IncidentIndexChannel != "" {
		st = append(st, "index-line")
	}
	if thread {
		st = append(st, "pointer")
	}
	// Last, so the pinned brief shows the steps Slack did not take.
	return append(st, "update-brief")
}

// beginEscalate records the escalation of incident id by user with severity sev: status
// escalated, user its first commander, the steps planned. A second escalation (a double
// click) is refused with ErrBusy, a resolved incident with ErrRefused.
func (s *Server) beginEscalate(id, user, sev string) (store.Incident, store.Op, error) {
	inc, err := s.db.Incident(id)
	if err != nil {
		return inc, store.Op{}, err
	}
	now := s.now()
	return s.incidents.Begin(inc.ID, incident.Plan{
		Kind: store.OpEscalate, Actor: user, Text: sev, Steps: s.escalateSteps(inc),
		To: store.StatusEscalated, Why: fmt.Sprintf("escalated (%s)", sev),
		Check: func(i *store.Incident) error {
			h := i.Handoff
			if h.Channel != "" {
				return incident.Refuse(incident.ErrBusy, "%s is already escalated to <#%s>", i.ID, h.Channel)
			}
			if slices.ContainsFunc(h.Ops, func(o store.Op) bool { return o.Kind == store.OpEscalate && !o.Done }) {
				return incident.Refuse(incident.ErrBusy, "%s is being escalated", i.ID)
			}
			if h.OriginChannel == "" {
				h.OriginChannel, h.OriginThread = i.Channel, i.ThreadTS
			}
			return nil
		},
		Set: func(h *store.Handoff) {
			h.Severity, h.Escalated, h.Commander = sev, now, user
		},
	}, incident.Noting(store.EventCommander, fmt.Sprintf("%s is commander (escalated)", user)))
}

// escalate escalates incident id and runs its steps; it returns what to tell the person
// who asked.
func (s *Server) escalate(ctx context.Context, id, user, sev string) (string, error) {
	_, op, err := s.beginEscalate(id, user, sev)
	switch {
	case errors.Is(err, incident.ErrBusy), errors.Is(err, incident.ErrRefused):
		return refusal(err), nil
	case err != nil:
		return "", err
	}
	return s.finishOp(ctx, id, op)
}

// refusal is the sentence of an op refused (ErrBusy, ErrRefused, errNotAllowed): the
// Refusal's reason, the bot's own text (IDs, mentions), not escaped.
func refusal(err error) string {
	var r *incident.Refusal
	if !errors.As(err, &r) || r.Reason == "" {
		return "That was refused."
	}
	return strings.ToUpper(r.Reason[:1]) + r.Reason[1:] + "."
}

// finishOp runs op's steps and says how it went: where the incident channel is, and what
// Slack did not take.
func (s *Server) finishOp(ctx context.Context, id string, op store.Op) (string, error) {
	inc, err := s.runOp(ctx, id, op.Seq)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	h := inc.Handoff
	switch op.Kind {
	case store.OpEscalate:
		if h.Channel == "" {
			return "", fmt.Errorf("%s: no incident channel: %s", id, stepError(h.Op(op.Seq), "create-channel"))
		}
		fmt.Fprintf(&b, "%s is escalated (%s) to <#%s>; <@%s> is its commander.", inc.ID, h.Severity, h.Channel, h.Commander)
	case store.OpCommander:
		fmt.Fprintf(&b, "<@%s> is now the incident commander of %s.", op.Target, inc.ID)
	case store.OpUpdate:
		fmt.Fprintf(&b, "The update of %s is posted and pinned in <#%s>.", inc.ID, h.Channel)
	case store.OpResolve:
		fmt.Fprintf(&b, "%s is resolved.", inc.ID)
	}
	if done := h.Op(op.Seq); done != nil {
		for _, st := range done.Steps {
			if st.State == store.StepFailed {
				fmt.Fprintf(&b, "\n:warning: %s failed: %s", st.Name, escape(st.Error))
			}
		}
	}
	return b.String(), nil
}

func stepError(op *store.Op, name string) string {
	if op != nil {
		if st := op.Step(name); st != nil && st.Error != "" {
			return st.Error
		}
	}
	return "not done"
}

// invite brings the given users and slack.oncall (user groups expanded) into channel.
// slackUserID reports whether id is a Slack user ID (U… or W…, upper-case letters and
// digits), not a name the terminal or the watcher stands in with ("cli", "watch", the bot).
func slackUserID(id string) bool {
	if len(id) < 2 || id[0] != 'U' && id[0] != 'W' {
		return false
	}
	for _, r := range id {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func (s *Server) invite(ctx context.Context, channel string, users ...string) error {
	var ids []string
	for _, id := range append(users, s.cfg.Slack.Oncall...) {
		if strings.HasPrefix(id, "S") {
			members, err := s.api.groupMembers(ctx, id)
			if err != nil {
				return fmt.Errorf("on-call group %s: %w", id, err)
			}
			ids = append(ids, members...)
			continue
		}
		if slackUserID(id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return nil
	}
	return s.api.call(ctx, "conversations.invite", func(ctx context.Context) error {
		_, err := s.api.client.InviteUsersToConversationContext(ctx, channel, ids...)
		return err
	})
}

func (s *Server) escalateCommand(ctx context.Context, inv Invocation, cmd Command) Reply {
	const name = "/ipsec escalate"
	if !s.access.allowed(ctx, PermEscalate, inv.User, inv.Channel) {
		return s.denied(inv.User, inv.Channel, name, inv.Text, PermEscalate)
	}
	sev := cmp.Or(cmd.Severity, incident.DefaultSeverity)
	_, op, err := s.beginEscalate(cmd.Incident, inv.User, sev)
	if reply, done := s.opRefused(inv, name, cmd.Incident, err); done {
		return reply
	}
	return s.runInBackground(inv, name, cmd.Incident, op,
		fmt.Sprintf("Escalating %s (%s): creating its channel and inviting the on-call group…", cmd.Incident, sev))
}

// opRefused answers an op that could not begin: not found, refused, already done.
func (s *Server) opRefused(inv Invocation, name, id string, err error) (Reply, bool) {
	switch {
	case err == nil:
		return Reply{}, false
	case errors.Is(err, store.ErrNotFound):
		s.record(inv.User, inv.Channel, name, inv.Text, outcomeNotFound, "")
		return Reply{Text: fmt.Sprintf("There is no incident %s.", id)}, true
	case errors.Is(err, incident.ErrBusy), errors.Is(err, incident.ErrRefused):
		s.record(inv.User, inv.Channel, name, inv.Text, outcomeOK, err.Error())
		return Reply{Text: refusal(err)}, true
	}
	s.record(inv.User, inv.Channel, name, inv.Text, outcomeError, err.Error())
	return Reply{Text: ":x: " + escape(fault.Sentence(err))}, true
}

// runInBackground runs a begun op after the acknowledgement and answers through the
// response_url. A bot stopping before it runs leaves its steps planned for the next start.
func (s *Server) runInBackground(inv Invocation, name, id string, op store.Op, ack string) Reply {
	started := s.accept(inv, name, id, func(ctx context.Context) {
		msg, err := s.finishOp(ctx, id, op)
		if err != nil {
			if ctx.Err() != nil {
				return // the next start finishes it
			}
			s.log.Error(name+" failed", "incident", id, "err", err)
			msg = fmt.Sprintf(":x: %s: %s", id, escape(fault.Sentence(err)))
		}
		if err := s.api.respond(ctx, inv.ResponseURL, &slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, Text: msg}); err != nil {
			s.log.Error(name+" answer not posted", "incident", id, "err", err)
		}
	})
	if !started {
		return Reply{Text: ":hourglass: The bot is restarting; what you asked is recorded and will be done when it is back."}
	}
	return Reply{Text: ack}
}
