package store

import (
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// EventKind says what a timeline entry records. Like statuses, the strings are what the file
// holds; entries written by earlier versions may carry kinds no longer written ("started",
// "interrupted", "resolved", "handoff") and read as they are.
type EventKind string

// Timeline entry kinds.
const (
	EventOpened            EventKind = "opened"             // the incident was opened: by whom, how
	EventStatus            EventKind = "status"             // its status moved, or a diagnosis of it started
	EventStep              EventKind = "step"               // a step of the procedure ended
	EventFinding           EventKind = "finding"            // the verdict of a diagnosis
	EventCapture           EventKind = "capture"            // a packet capture started, stopped or was removed
	EventFailed            EventKind = "failed"             // a diagnosis could not run
	EventSlack             EventKind = "slack"              // what Slack did not take: a post, an invite
	EventInterruptionNoted EventKind = "interruption-noted" // the thread was told its diagnosis was cut short
	EventCommander         EventKind = "commander"          // the incident commander changed
	EventUpdate            EventKind = "update"             // a status update (conditions, actions, needs)
	EventReminder          EventKind = "reminder"           // an update reminder was posted or snoozed
)

// EventKinds lists every kind the bot writes.
var EventKinds = []EventKind{EventOpened, EventStatus, EventStep, EventFinding, EventCapture, EventFailed, EventSlack, EventInterruptionNoted,
	EventCommander, EventUpdate, EventReminder}

// Event is one entry of an incident's append-only timeline.
type Event struct {
	Time  time.Time `json:"time"`
	Kind  EventKind `json:"kind"`
	Text  string    `json:"text"`            // what happened, as shown to people
	Actor string    `json:"actor,omitempty"` // Slack user ID, "bot" or "cli"
}

type eventRecord struct {
	header
	Event
}

// AppendEvent adds ev to the end of the incident's timeline; its Time defaults to now.
// ErrNotFound if the incident does not exist; an unknown kind is refused.
func (db *DB) AppendEvent(id string, ev Event) error {
	if ev.Time.IsZero() {
		ev.Time = db.now()
	}
	if err := checkKind(ev.Kind); err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	if err := db.appendUnder(bucketTimeline, id, &eventRecord{current, ev}); err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	return nil
}

// putEvents appends events to the timeline of incident n inside tx; an event without a time
// gets at.
func putEvents(tx *bolt.Tx, n uint64, at time.Time, events []Event) error {
	b := tx.Bucket(bucketTimeline)
	for _, ev := range events {
		if err := checkKind(ev.Kind); err != nil {
			return err
		}
		if ev.Time.IsZero() {
			ev.Time = at
		}
		v, err := encode(&eventRecord{current, ev})
		if err != nil {
			return err
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		if err := b.Put(seqKey(n, seq), v); err != nil {
			return err
		}
	}
	return nil
}

func checkKind(k EventKind) error {
	if !slices.Contains(EventKinds, k) {
		return fmt.Errorf("unknown event kind %q", k)
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
