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

// Action is one button press, as either transport delivers it.
type Action struct {
	ActionID    string
	Value       string
	User        string
	Channel     string
	ResponseURL string
	MessageTS   string
}

// actionsFromCallback extracts the block actions of an interaction payload.
func actionsFromCallback(cb slack.InteractionCallback) []Action {
	if cb.Type != slack.InteractionTypeBlockActions {
		return nil
	}
	var out []Action
	for _, a := range cb.ActionCallback.BlockActions {
		out = append(out, Action{
			ActionID: a.ActionID, Value: a.Value, User: cb.User.ID, Channel: cb.Channel.ID,
			ResponseURL: cb.ResponseURL, MessageTS: cb.Container.MessageTs,
		})
	}
	return out
}

// handleAction runs a button press after it was acknowledged; the answer goes to the user
// through the response_url, ephemeral. Buttons are checked against the access list like
// commands, and audited the same way.
func (s *Server) handleAction(ctx context.Context, a Action) {
	command := "button " + a.ActionID
	var reply string
	switch a.ActionID {
	case actionRerun, actionCaptureLonger:
		reply = s.rerunAction(ctx, a, command)
	case actionResolve:
		reply = s.resolveAction(ctx, a, command)
	case actionEscalate:
		reply = s.escalateAction(ctx, a, command)
	case actionSnooze:
		reply = s.snoozeAction(ctx, a, command)
	default:
		s.record(a.User, a.Channel, command, a.Value, outcomeUsage, "unknown action")
		reply = "That button is not known to this bot."
	}
	msg := &slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, Text: reply}
	if err := s.api.respond(ctx, a.ResponseURL, msg); err != nil {
		s.log.Error("button answer not posted", "action", a.ActionID, "user", a.User, "err", err)
	}
}

func (s *Server) rerunAction(ctx context.Context, a Action, command string) string {
	edge, secs, ok := decodeTarget(a.Value)
	if !ok {
		s.record(a.User, a.Channel, command, a.Value, outcomeUsage, "bad value")
		return "That button's value is malformed."
	}
	if !s.access.allowed(ctx, PermDiagnose, a.User, a.Channel) {
		return s.denied(a.User, a.Channel, command, a.Value, PermDiagnose).Text
	}
	if (a.ActionID == actionCaptureLonger || secs > 0) && !s.access.allowed(ctx, PermCapture, a.User, a.Channel) {
		return s.denied(a.User, a.Channel, command, a.Value, PermCapture).Text
	}
	e, ok := s.cfg.Edge(edge)
	if !ok {
		s.record(a.User, a.Channel, command, a.Value, outcomeUnknownEdge, "")
		return s.unknownEdgeReply(edge).Text
	}
	secs = min(secs, maxCapture(e))
	r, joined, err := s.startDiagnosis(edge, secs, a.User, a.Channel, a.ResponseURL)
	return s.startedReply(a.User, a.Channel, command, a.Value, r, joined, err).Text
}

func (s *Server) resolveAction(ctx context.Context, a Action, command string) string {
	inc, err := s.db.Incident(a.Value)
	if errors.Is(err, store.ErrNotFound) {
		s.record(a.User, a.Channel, command, a.Value, outcomeNotFound, "")
		return fmt.Sprintf("There is no incident %s.", escape(a.Value))
	}
	mayResolve := s.access.allowed(ctx, PermResolve, a.User, a.Channel)
	if err == nil && !mayResolve && !s.isCommander(inc, a.User) {
		return s.denied(a.User, a.Channel, command, a.Value, PermResolve).Text
	}
	if err == nil && inc.Status != store.StatusResolved && inc.Handoff != nil && inc.Handoff.Channel != "" {
		// An incident with its own channel closes with a summary of what fixed it.
		s.record(a.User, a.Channel, command, a.Value, outcomeUsage, "no note")
		return fmt.Sprintf(":memo: What fixed it? Resolve %s with a note for the closing summary: `/ipsec resolve %s NOTE`", inc.ID, inc.ID)
	}
	if err == nil {
		_, op, berr := s.beginResolve(inc.ID, a.User, "", mayResolve, "resolved in Slack")
		if berr == nil {
			msg, ferr := s.finishOp(ctx, inc.ID, op)
			if ferr == nil {
				s.record(a.User, a.Channel, command, a.Value, outcomeOK, "")
				return msg
			}
			berr = ferr
		}
		err = berr
	}
	switch {
	case errors.Is(err, incident.ErrBusy):
		s.record(a.User, a.Channel, command, a.Value, outcomeOK, "already resolved")
		return fmt.Sprintf("%s is already resolved.", escape(a.Value))
	case errors.Is(err, errNotAllowed):
		return s.denied(a.User, a.Channel, command, a.Value, PermResolve).Text
	}
	s.record(a.User, a.Channel, command, a.Value, outcomeError, err.Error())
	return ":x: " + escape(fault.Sentence(err))
}

func (s *Server) escalateAction(ctx context.Context, a Action, command string) string {
	if !s.access.allowed(ctx, PermEscalate, a.User, a.Channel) {
		return s.denied(a.User, a.Channel, command, a.Value, PermEscalate).Text
	}
	msg, err := s.escalate(ctx, a.Value, a.User, incident.DefaultSeverity)
	if errors.Is(err, store.ErrNotFound) {
		s.record(a.User, a.Channel, command, a.Value, outcomeNotFound, "")
		return fmt.Sprintf("There is no incident %s.", escape(a.Value))
	}
	if err != nil {
		s.record(a.User, a.Channel, command, a.Value, outcomeError, err.Error())
		return fmt.Sprintf(":x: %s could not be escalated. %s", escape(a.Value), escape(fault.Sentence(err)))
	}
	s.record(a.User, a.Channel, command, a.Value, outcomeOK, "")
	return msg
}
