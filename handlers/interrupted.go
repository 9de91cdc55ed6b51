package handlers

import (
	"context"
	"fmt"
	"slices"
	"time"

	"ipsecbot/store"
)

// interruptPostTimeout bounds what the bot tells Slack about a run its shutdown cut short
// (the verdict from what was collected and its files, or the interruption note), and the
// progress posted after the cancel.
const interruptPostTimeout = 5 * time.Second

// interruptionNoted is the timeline text once an incident's thread has its interruption note.
const interruptionNoted = "interruption noted in the thread"

// markInterrupted marks the incidents a previous process left in "diagnosing": their run
// died with it. It returns them, updated, with the interrupted incidents (cancelled runs the
// engine marked itself) whose thread never got the note.
func (s *Server) markInterrupted() ([]store.Incident, error) {
	incs, err := s.db.Incidents(store.IncidentFilter{Statuses: []string{store.StatusDiagnosing}})
	if err != nil {
		return nil, err
	}
	var out []store.Incident
	interrupted, err := s.db.Incidents(store.IncidentFilter{Statuses: []string{store.StatusInterrupted}})
	if err != nil {
		return nil, err
	}
	for _, inc := range interrupted {
		if inc.Channel == "" || inc.ThreadTS == "" {
			continue
		}
		tl, err := s.db.Timeline(inc.ID)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(tl, func(e store.Event) bool { return e.Kind == "slack" && e.Text == interruptionNoted }) {
			out = append(out, inc)
		}
	}
	for _, inc := range incs {
		upd, err := s.db.UpdateIncident(inc.ID, func(i *store.Incident) error {
			i.Status = store.StatusInterrupted
			return nil
		})
		if err != nil {
			return out, err
		}
		s.appendEvent(inc.ID, "interrupted", "the bot stopped while this diagnosis was running", "bot")
		out = append(out, upd)
	}
	return out, nil
}

// noteInterrupted tells each interrupted incident's thread what happened and how to go on.
func (s *Server) noteInterrupted(ctx context.Context, incs []store.Incident) {
	for _, inc := range incs {
		if inc.Channel == "" || inc.ThreadTS == "" {
			continue
		}
		text := fmt.Sprintf(":warning: %s was interrupted: the bot stopped while diagnosing %s. "+
			"Any capture it left on the edge is stopped and removed. Run `/ipsec diagnose %s` again.", inc.ID, inc.Edge, inc.Edge)
		if _, err := s.api.post(ctx, inc.Channel, inc.ThreadTS, text, nil); err != nil {
			s.log.Error("interruption note not posted", "incident", inc.ID, "err", err)
			continue
		}
		s.appendEvent(inc.ID, "slack", interruptionNoted, "bot")
	}
}
