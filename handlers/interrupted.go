package handlers

import (
	"context"
	"fmt"
	"time"

	"ipsecbot/store"
)

// interruptPostTimeout bounds what the bot tells Slack about a run its shutdown cut short
// (the verdict from what was collected and its files, or the interruption note), and the
// progress posted after the cancel.
const interruptPostTimeout = 5 * time.Second

// markInterrupted marks the incidents a previous process left in "diagnosing": their run
// died with it. It returns them, updated, with the interrupted incidents (cancelled runs the
// engine marked itself) whose thread never got the note.
func (s *Server) markInterrupted() ([]store.Incident, error) {
	out, err := s.incidents.AwaitingInterruptionNote()
	if err != nil {
		return nil, err
	}
	marked, err := s.incidents.InterruptDiagnosing("the bot stopped while this diagnosis was running")
	return append(out, marked...), err
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
		if err := s.incidents.NoteInterruption(inc.ID); err != nil {
			s.log.Error("incident event not written", "incident", inc.ID, "err", err)
		}
	}
}
