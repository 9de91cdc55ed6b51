package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"ipsecbot/incident"
	"ipsecbot/store"
)

// defaultChannelPrefix names incident channels when slack.incident_channel_prefix is unset.
const defaultChannelPrefix = "inc-ipsec-"

// escalate hands an incident off into its own channel: created, the requester, the person
// escalating and the on-call users and user groups invited, a summary posted and pinned there,
// the incident moved to that channel with status escalated, and a pointer left in the old
// thread. It returns what to tell the person who asked.
func (s *Server) escalate(ctx context.Context, id, user string) (string, error) {
	inc, err := s.db.Incident(id)
	if err != nil {
		return "", err
	}
	if inc.Status == store.StatusResolved {
		return fmt.Sprintf("%s is resolved; nothing to escalate.", inc.ID), nil
	}
	if inc.Status == store.StatusEscalated {
		return fmt.Sprintf("%s is already escalated to <#%s>.", inc.ID, inc.Channel), nil
	}
	channel, err := s.createIncidentChannel(ctx, inc.ID)
	if err != nil {
		return "", err
	}
	if err := s.invite(ctx, channel, inc.Requester, user); err != nil {
		// The channel exists and the summary still goes there; say who could not be invited.
		s.log.Warn("invite failed", "incident", inc.ID, "channel", channel, "err", err)
		s.note(inc.ID, store.EventSlack, "invite to the incident channel failed: "+err.Error(), incident.Bot)
	}
	summary := fmt.Sprintf(":rotating_light: *%s* · `%s` escalated by <@%s>", inc.ID, escape(inc.Edge), user)
	if inc.Cause != "" {
		summary += fmt.Sprintf("\n*Cause:* `%s` — %s", escape(inc.Cause), escape(inc.Summary))
	}
	summary += fmt.Sprintf("\nRequested by <@%s>.", inc.Requester)
	if inc.Channel != "" {
		summary += fmt.Sprintf(" Diagnosis thread in <#%s>.", inc.Channel)
	}
	ts, err := s.api.post(ctx, channel, "", truncate(summary, maxMessageText), []slack.Block{section(summary)})
	if err != nil {
		return "", err
	}
	if err := s.api.call(ctx, "pins.add", func(ctx context.Context) error {
		return s.api.client.AddPinContext(ctx, channel, slack.NewRefToMessage(channel, ts))
	}); err != nil {
		s.log.Warn("summary not pinned", "incident", inc.ID, "err", err)
	}
	oldChannel, oldThread := inc.Channel, inc.ThreadTS
	if _, err := s.incidents.Transition(inc.ID, store.StatusEscalated, user, fmt.Sprintf("escalated to channel %s", channel),
		incident.Thread(channel, ts)); err != nil {
		return "", err
	}
	if oldChannel != "" && oldThread != "" {
		note := fmt.Sprintf(":arrow_right: %s escalated to <#%s> by <@%s>.", inc.ID, channel, user)
		if _, err := s.api.post(ctx, oldChannel, oldThread, note, nil); err != nil {
			s.log.Warn("escalation note not posted", "incident", inc.ID, "err", err)
		}
	}
	return fmt.Sprintf("%s is escalated to <#%s>.", inc.ID, channel), nil
}

// createIncidentChannel creates PREFIX<n> ("inc-ipsec-7"), or PREFIX<n>-2 ... if taken.
func (s *Server) createIncidentChannel(ctx context.Context, id string) (string, error) {
	prefix := s.cfg.Slack.IncidentChannelPrefix
	if prefix == "" {
		prefix = defaultChannelPrefix
	}
	base := strings.ToLower(prefix + strings.TrimPrefix(id, "INC-"))
	for i := 1; i <= 5; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		var ch *slack.Channel
		err := s.api.call(ctx, "conversations.create", func(ctx context.Context) error {
			var err error
			ch, err = s.api.client.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: name})
			return err
		})
		if e, ok := errors.AsType[slack.SlackErrorResponse](err); ok && e.Err == "name_taken" {
			continue
		}
		if err != nil {
			return "", err
		}
		return ch.ID, nil
	}
	return "", fmt.Errorf("channel names %s to %s-5 are all taken", base, base)
}

// invite brings the given users and slack.oncall (user groups expanded) into channel.
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
		if id != "" {
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
