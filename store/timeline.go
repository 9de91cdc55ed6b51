package store

import (
	"fmt"
	"time"
)

// Event is one entry of an incident's append-only timeline.
type Event struct {
	Time  time.Time `json:"time"`
	Kind  string    `json:"kind"`            // e.g. "created", "step", "finding", "status", "handoff"
	Text  string    `json:"text"`            // what happened, as shown to people
	Actor string    `json:"actor,omitempty"` // Slack user ID, "bot" or "cli"
}

type eventRecord struct {
	header
	Event
}

// AppendEvent adds ev to the end of the incident's timeline; its Time defaults to now.
// ErrNotFound if the incident does not exist.
func (db *DB) AppendEvent(id string, ev Event) error {
	if ev.Time.IsZero() {
		ev.Time = db.now()
	}
	if err := db.appendUnder(bucketTimeline, id, &eventRecord{current, ev}); err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	return nil
}

// Timeline returns the incident's events in the order they were appended.
func (db *DB) Timeline(id string) ([]Event, error) {
	var out []Event
	err := db.listUnder(bucketTimeline, id, func(v []byte) error {
		var r eventRecord
		if err := decode(v, &r); err != nil {
			return err
		}
		out = append(out, r.Event)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	return out, nil
}
