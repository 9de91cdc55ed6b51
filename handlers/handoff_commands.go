package handlers

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"

	"ipsecbot/diag/fault"
	"ipsecbot/incident"
	"ipsecbot/store"
)

// isCommander reports whether user is inc's incident commander.
func (s *Server) isCommander(inc store.Incident, user string) bool {
	return inc.Handoff != nil && inc.Handoff.Commander != "" && inc.Handoff.Commander == user
}

// needChannel refuses an op on an incident without its own channel.
func needChannel(i *store.Incident) error {
	if i.Status == store.StatusResolved {
		return incident.Refuse(incident.ErrRefused, "%s is resolved", i.ID)
	}
	if i.Handoff == nil || i.Handoff.Channel == "" {
		return incident.Refuse(incident.ErrRefused, "%s has no incident channel yet: `/ipsec escalate %s` first", i.ID, i.ID)
	}
	return nil
}

// handoffCommand runs `/ipsec commander`, `/ipsec update` and `/ipsec resolve`.
func (s *Server) handoffCommand(ctx context.Context, inv Invocation, cmd Command) Reply {
	name := "/ipsec " + cmd.Name
	var (
		op  store.Op
		err error
		ack string
	)
	switch cmd.Name {
	case "commander":
		mayEscalate := s.access.allowed(ctx, PermEscalate, inv.User, inv.Channel)
		// Asked of Slack only for someone who may hand over (beginCommander decides for good).
		if inc, rerr := s.db.Incident(cmd.Incident); rerr == nil && (mayEscalate || s.isCommander(inc, inv.User)) {
			if reason := s.unfitCommander(ctx, cmd.User); reason != "" {
				s.record(inv.User, inv.Channel, name, inv.Text, outcomeUsage, reason)
				return Reply{Text: ":warning: " + reason}
			}
		}
		_, op, err = s.beginCommander(cmd.Incident, inv.User, cmd.User, mayEscalate)
		ack = fmt.Sprintf("Handing %s over to <@%s>…", cmd.Incident, cmd.User)
	case "update":
		_, op, err = s.beginUpdate(cmd.Incident, inv.User, cmd.Text)
		ack = fmt.Sprintf("Posting the update of %s…", cmd.Incident)
	case "resolve":
		if cmd.Text == "" {
			s.record(inv.User, inv.Channel, name, inv.Text, outcomeUsage, "no note")
			return Reply{Text: fmt.Sprintf(":memo: What fixed it? Resolve with a note for the closing summary: `/ipsec resolve %s the PSK was re-keyed on both sides`", cmd.Incident)}
		}
		mayResolve := s.access.allowed(ctx, PermResolve, inv.User, inv.Channel)
		_, op, err = s.beginResolve(cmd.Incident, inv.User, cmd.Text, mayResolve, "")
		ack = fmt.Sprintf("Resolving %s…", cmd.Incident)
	}
	if errors.Is(err, errNotAllowed) {
		s.record(inv.User, inv.Channel, name, inv.Text, outcomeDenied, err.Error())
		return Reply{Text: ":no_entry: " + refusal(err)}
	}
	if reply, done := s.opRefused(inv, name, cmd.Incident, err); done {
		return reply
	}
	return s.runInBackground(inv, name, cmd.Incident, op, ack)
}

// errNotAllowed is wrapped by the refusal of someone who is neither the commander nor holds
// the permission that stands in for it.
var errNotAllowed = errors.New("not allowed")

// unfitCommander says why user cannot take the commander role (a bot, a deactivated
// account, an unknown ID), "" when they can.
func (s *Server) unfitCommander(ctx context.Context, user string) string {
	var u *slack.User
	err := s.api.call(ctx, "users.info", func(ctx context.Context) error {
		var err error
		u, err = s.api.client.GetUserInfoContext(ctx, user)
		return err
	})
	switch {
	case slackErr(err) == "user_not_found":
		return fmt.Sprintf("There is no user %s in this workspace.", user)
	case err != nil:
		s.log.Warn("commander check failed", "user", user, "err", err)
		why := "it did not answer in time"
		if code := slackErr(err); code != "" {
			why = "it answered " + code
		} else if !fault.Timeout(err) && !errors.Is(err, context.DeadlineExceeded) {
			why = "it could not be reached"
		}
		return fmt.Sprintf("Slack could not tell who <@%s> is just now (%s); try again in a minute.", user, escape(why))
	case u.Deleted:
		return fmt.Sprintf("<@%s> is deactivated and cannot command an incident.", user)
	case u.IsBot:
		return fmt.Sprintf("<@%s> is a bot and cannot command an incident.", user)
	}
	return ""
}

// beginCommander records that actor hands the commander role of id to target: only the
// current commander, or someone with the escalate permission (mayEscalate), may.
func (s *Server) beginCommander(id, actor, target string, mayEscalate bool) (store.Incident, store.Op, error) {
	var from string
	return s.incidents.Begin(id, incident.Plan{
		Kind: store.OpCommander, Actor: actor, Target: target,
		Steps: []string{"invite-target", "announce", "set-topic", "open-dm", "dm-brief", "index-line", "update-brief"},
		Check: func(i *store.Incident) error {
			if err := needChannel(i); err != nil {
				return err
			}
			from = i.Handoff.Commander
			switch {
			case from == target:
				return incident.Refuse(incident.ErrBusy, "<@%s> is already the commander of %s", target, i.ID)
			case from != actor && !mayEscalate:
				return incident.Refuse(errNotAllowed, "only the commander <@%s> or someone with the escalate permission may hand %s over", from, i.ID)
			}
			return nil
		},
		Set: func(h *store.Handoff) { h.Commander = target },
	}, incident.Noting(store.EventCommander, fmt.Sprintf("%s is commander (handed over by %s)", target, actor)))
}

// beginUpdate records a status update of id by actor; the previous pinned update is
// unpinned by the op.
func (s *Server) beginUpdate(id, actor, text string) (store.Incident, store.Op, error) {
	now := s.now()
	return s.incidents.Begin(id, incident.Plan{
		Kind: store.OpUpdate, Actor: actor, Text: text,
		Steps: []string{"post-update", "unpin-previous", "pin-update", "update-brief"},
		Check: needChannel,
		Set: func(h *store.Handoff) {
			h.LastUpdate = now
			h.Ops[len(h.Ops)-1].Prev = h.UpdateTS
		},
	}, incident.Noting(store.EventUpdate, text))
}

// beginResolve records that actor resolves id with note: only the commander or someone with
// the resolve permission (mayResolve) may. why is the status entry (default: the note).
func (s *Server) beginResolve(id, actor, note string, mayResolve bool, why string) (store.Incident, store.Op, error) {
	inc, err := s.db.Incident(id)
	if err != nil {
		return inc, store.Op{}, err
	}
	steps := []string{"thread-note"}
	if inc.Handoff != nil && inc.Handoff.Channel != "" {
		steps = []string{"closing-summary", "set-topic", "index-line", "pointer", "update-brief"}
	}
	if why == "" {
		why = "resolved: " + note
	}
	now := s.now()
	return s.incidents.Begin(inc.ID, incident.Plan{
		Kind: store.OpResolve, Actor: actor, Text: note, Steps: steps, To: store.StatusResolved, Why: why,
		Check: func(i *store.Incident) error {
			if i.Status == store.StatusResolved {
				return incident.Refuse(incident.ErrBusy, "%s is already resolved", i.ID)
			}
			if !mayResolve && !s.isCommander(*i, actor) {
				who := "someone with the resolve permission"
				if c := i.Handoff.Commander; c != "" {
					who = fmt.Sprintf("the commander <@%s> or %s", c, who)
				}
				return incident.Refuse(errNotAllowed, "only %s may resolve %s", who, i.ID)
			}
			return nil
		},
		Set: func(h *store.Handoff) { h.Resolved = now },
	}, incident.Owner(actor))
}

// briefCommand shows an incident's handoff brief.
func (s *Server) briefCommand(inv Invocation, cmd Command) Reply {
	const name = "/ipsec incident"
	inc, err := s.db.Incident(cmd.Incident)
	if errors.Is(err, store.ErrNotFound) {
		s.record(inv.User, inv.Channel, name, inv.Text, outcomeNotFound, "")
		return Reply{Text: fmt.Sprintf("There is no incident %s.", cmd.Incident)}
	}
	if err != nil {
		s.record(inv.User, inv.Channel, name, inv.Text, outcomeError, err.Error())
		s.log.Error(name+" failed", "err", err)
		return Reply{Text: ":x: " + escape(fault.Sentence(err))}
	}
	text := s.view(inc).Brief(slackStyle)
	s.record(inv.User, inv.Channel, name, inv.Text, outcomeOK, "")
	return Reply{Text: text, Blocks: []slack.Block{section(truncate(text, maxSectionText))}}
}
