package handlers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"ipsecbot/diag"
	"ipsecbot/diag/fault"
	"ipsecbot/incident"
	"ipsecbot/store"
)

// actionSnooze postpones an update reminder by one cadence of the incident's severity.
const actionSnooze = "snooze_update"

// defaultSweepEvery is how often escalated incidents are checked for a due update and
// resolved ones for a due archive.
const defaultSweepEvery = time.Minute

// sweepLoop checks the incident channels every interval until ctx ends or the server stops.
func (s *Server) sweepLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.stopLoops:
			return
		case <-t.C:
			s.sweepHandoffs(ctx, s.now())
		}
	}
}

// sweepHandoffs posts the update reminders due at now, once per overdue period, and
// archives (or suggests archiving) the channels of incidents resolved for archive_after.
// Each is an op, so a double sweep or a restart does it once.
func (s *Server) sweepHandoffs(ctx context.Context, now time.Time) {
	incs, err := s.db.Incidents(store.IncidentFilter{Statuses: []store.Status{store.StatusEscalated, store.StatusResolved}})
	if err != nil {
		s.log.Error("incident sweep", "err", err)
		return
	}
	for _, inc := range incs {
		h := inc.Handoff
		if h == nil || h.Channel == "" {
			continue
		}
		var p incident.Plan
		switch {
		case inc.Status == store.StatusEscalated:
			due := s.nextUpdate(inc)
			if now.Before(due) || h.Reminded.Equal(due) {
				continue
			}
			p = incident.Plan{Kind: store.OpRemind, Actor: incident.Bot, Steps: []string{"post-reminder"}, Supersede: true,
				Check: func(i *store.Incident) error {
					if i.Status != store.StatusEscalated || i.Handoff.Reminded.Equal(due) {
						return incident.Refuse(incident.ErrBusy, "reminded")
					}
					return nil
				},
				Set: func(h *store.Handoff) { h.Reminded = due }}
		case !h.Resolved.IsZero() && h.Archived.IsZero() && !now.Before(h.Resolved.Add(s.cfg.Slack.ArchiveDelay())):
			step := "archive-note"
			if s.cfg.Slack.ArchiveResolved {
				step = "archive-channel"
			}
			p = incident.Plan{Kind: store.OpArchive, Actor: incident.Bot, Steps: []string{step},
				Check: func(i *store.Incident) error {
					if !i.Handoff.Archived.IsZero() {
						return incident.Refuse(incident.ErrBusy, "archived")
					}
					return nil
				},
				Set: func(h *store.Handoff) { h.Archived = now }}
		default:
			continue
		}
		_, op, err := s.incidents.Begin(inc.ID, p)
		if errors.Is(err, incident.ErrBusy) {
			continue
		}
		if err != nil {
			s.log.Error("incident sweep", "incident", inc.ID, "err", err)
			continue
		}
		if _, err := s.runOp(ctx, inc.ID, op.Seq); err != nil && ctx.Err() == nil {
			s.log.Error("incident sweep", "incident", inc.ID, "err", err)
		}
	}
}

func stepPostReminder(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	ch, err := x.channel()
	if err != nil {
		return "", nil, err
	}
	h := x.h()
	who := "the incident commander"
	if h.Commander != "" {
		who = "<@" + h.Commander + ">"
	}
	last := "none since the escalation"
	if !h.LastUpdate.IsZero() {
		last = "the last at " + diag.FormatTime(h.LastUpdate)
	}
	text := fmt.Sprintf(":alarm_clock: %s: %s has had no status update for %s (%s); %s, please post one: `/ipsec update %s conditions: … actions: … needs: …`",
		x.inc.ID, x.inc.ID, x.s.cfg.Slack.Cadence(h.Severity), last, who, x.inc.ID)
	blocks := []slack.Block{section(text), slack.NewActionBlock("reminder_actions",
		slack.NewButtonBlockElement(actionSnooze, x.inc.ID, plain("Snooze", 75)))}
	ts, err := x.postStep(ctx, ch, "", text, blocks)
	return ts, []incident.Set{incident.Noting(store.EventReminder, "update reminder posted")}, err
}

func stepArchiveChannel(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	ch, err := x.channel()
	if err != nil {
		return "", nil, err
	}
	err = x.s.api.call(ctx, "conversations.archive", func(ctx context.Context) error {
		return x.s.api.client.ArchiveConversationContext(ctx, ch)
	})
	if slackErr(err) == "already_archived" {
		err = nil
	}
	return ch, nil, err
}

func stepArchiveNote(ctx context.Context, x *opRun) (string, []incident.Set, error) {
	ch, err := x.channel()
	if err != nil {
		return "", nil, err
	}
	text := fmt.Sprintf(":file_cabinet: %s was resolved %s ago. Archive this channel when the review is done (`/ipsec incident %s` shows the brief; `bot incidents export %s` writes the postmortem skeleton).",
		x.inc.ID, x.s.cfg.Slack.ArchiveDelay(), x.inc.ID, x.inc.ID)
	return x.post(ctx, ch, text)
}

// snoozeAction postpones the update reminder by one cadence. Anyone who may escalate or
// resolve, and the commander, may snooze; a second press while snoozed says so.
func (s *Server) snoozeAction(ctx context.Context, a Action, command string) string {
	inc, err := s.db.Incident(a.Value)
	if err != nil {
		s.record(a.User, a.Channel, command, a.Value, outcomeNotFound, "")
		return fmt.Sprintf("There is no incident %s.", escape(a.Value))
	}
	if !s.isCommander(inc, a.User) && !s.access.allowed(ctx, PermEscalate, a.User, a.Channel) && !s.access.allowed(ctx, PermResolve, a.User, a.Channel) {
		return s.denied(a.User, a.Channel, command, a.Value, PermEscalate).Text
	}
	now := s.now()
	var until time.Time
	_, _, err = s.incidents.Begin(inc.ID, incident.Plan{Kind: store.OpSnooze, Actor: a.User, Supersede: true,
		Check: func(i *store.Incident) error {
			if i.Handoff.Channel == "" || i.Status != store.StatusEscalated {
				return incident.Refuse(incident.ErrRefused, "%s has no update reminders (%s)", i.ID, i.Status)
			}
			if until = i.Handoff.SnoozedUntil; until.After(now) {
				return incident.Refuse(incident.ErrBusy, "snoozed")
			}
			until = now.Add(s.cfg.Slack.Cadence(i.Handoff.Severity))
			return nil
		},
		Set: func(h *store.Handoff) { h.SnoozedUntil = until },
	}, incident.Noting(store.EventReminder, "update reminder snoozed"))
	switch {
	case errors.Is(err, incident.ErrBusy):
		s.record(a.User, a.Channel, command, a.Value, outcomeOK, "already snoozed")
		return fmt.Sprintf("The update reminder of %s is already snoozed until %s.", inc.ID, diag.FormatTime(until))
	case err != nil:
		s.record(a.User, a.Channel, command, a.Value, outcomeError, err.Error())
		return ":x: " + escape(fault.Sentence(err))
	}
	s.record(a.User, a.Channel, command, a.Value, outcomeOK, "")
	return fmt.Sprintf("The update reminder of %s is snoozed until %s.", inc.ID, diag.FormatTime(until))
}
