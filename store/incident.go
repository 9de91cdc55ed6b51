package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Status is where an incident stands. The strings are what the file holds: they never change,
// so files written by earlier versions read the same. Which status may follow which is the
// incident package's business; the store only refuses a status it does not know.
type Status string

// Incident statuses.
const (
	StatusOpen        Status = "open"
	StatusDiagnosing  Status = "diagnosing"
	StatusResolved    Status = "resolved"
	StatusEscalated   Status = "escalated"
	StatusInterrupted Status = "interrupted" // a run that was going when the bot stopped
)

// Statuses lists every incident status.
var Statuses = []Status{StatusOpen, StatusDiagnosing, StatusResolved, StatusEscalated, StatusInterrupted}

// ParseStatus reads a status as stored or typed ("resolved"); anything else is an error that
// lists the statuses.
func ParseStatus(s string) (Status, error) {
	if st := Status(s); slices.Contains(Statuses, st) {
		return st, nil
	}
	return "", fmt.Errorf("unknown status %q (one of %s)", s, StatusNames())
}

// StatusNames lists the statuses for people: "open, diagnosing, ...".
func StatusNames() string {
	names := make([]string, len(Statuses))
	for i, st := range Statuses {
		names[i] = string(st)
	}
	return strings.Join(names, ", ")
}

// Origin says how an incident came to be.
type Origin string

// Incident origins. Incidents stored before origins were recorded read as "" (manual).
const (
	OriginManual    Origin = "manual"    // someone asked for a diagnosis
	OriginAutomatic Origin = "automatic" // the bot saw the tunnel fail by itself
)

// incidentPrefix starts every incident ID: INC-1, INC-2, ...
const incidentPrefix = "INC-"

// Incident is one diagnosis of an edge's tunnel to a site, from request to resolution.
type Incident struct {
	ID        string `json:"id"` // INC-<n>, assigned by CreateIncident
	Edge      string `json:"edge"`
	Site      string `json:"site,omitempty"`
	Status    Status `json:"status"`
	Origin    Origin `json:"origin,omitempty"`
	Owner     string `json:"owner,omitempty"`     // Slack user ID
	Channel   string `json:"channel,omitempty"`   // Slack channel ID the incident is discussed in
	ThreadTS  string `json:"thread_ts,omitempty"` // Slack thread of the progress messages
	Cause     string `json:"cause,omitempty"`     // a diag cause label once classified
	Summary   string `json:"summary,omitempty"`
	Requester string `json:"requester,omitempty"` // Slack user ID, or "cli"

	Created        time.Time `json:"created"`
	Updated        time.Time `json:"updated"`
	CaptureSeconds int       `json:"capture_seconds,omitempty"`

	// Handoff is set once the incident is escalated into its own channel.
	Handoff *Handoff `json:"handoff,omitempty"`
}

type incidentRecord struct {
	header
	Incident
}

// IncidentFilter selects incidents; zero fields select everything.
type IncidentFilter struct {
	Statuses []Status // any of these
	Edge     string
	Limit    int // at most this many, newest first; 0 is no limit
}

// CreateIncident stores a new incident, with the first entries of its timeline, in one
// transaction and returns it with its ID and times set. The status defaults to StatusOpen;
// Created and Updated default to now, an event's Time to Created.
func (db *DB) CreateIncident(inc Incident, events ...Event) (Incident, error) {
	if inc.Edge == "" {
		return Incident{}, errors.New("create incident: edge is required")
	}
	if inc.Status == "" {
		inc.Status = StatusOpen
	}
	if err := checkStatus(inc.Status); err != nil {
		return Incident{}, fmt.Errorf("create incident: %w", err)
	}
	now := db.now()
	if inc.Created.IsZero() {
		inc.Created = now
	}
	inc.Updated = inc.Created
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIncidents)
		n, err := b.NextSequence()
		if err != nil {
			return err
		}
		inc.ID = incidentPrefix + strconv.FormatUint(n, 10)
		if err := putIncident(b, n, inc); err != nil {
			return err
		}
		return putEvents(tx, n, inc.Created, events)
	})
	if err != nil {
		return Incident{}, fmt.Errorf("create incident: %w", err)
	}
	return inc, nil
}

// UpdateIncident applies fn to the stored incident and saves the result in one transaction;
// if fn returns an error nothing changes. ID and Created cannot be changed; Updated is set to now.
func (db *DB) UpdateIncident(id string, fn func(*Incident) error) (Incident, error) {
	return db.ChangeIncident(id, func(inc *Incident) ([]Event, error) { return nil, fn(inc) })
}

// ChangeIncident is UpdateIncident whose fn also returns entries for the incident's timeline,
// appended in the same transaction (an event's Time defaults to now): a status and the entry
// that says why are committed together or not at all.
func (db *DB) ChangeIncident(id string, fn func(*Incident) ([]Event, error)) (Incident, error) {
	n, err := incidentNumber(id)
	if err != nil {
		return Incident{}, err
	}
	var inc Incident
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIncidents)
		old, err := getIncident(b, n, id)
		if err != nil {
			return err
		}
		inc = old
		events, err := fn(&inc)
		if err != nil {
			return err
		}
		if err := checkStatus(inc.Status); err != nil {
			return err
		}
		inc.ID, inc.Created, inc.Updated = old.ID, old.Created, db.now()
		if err := putIncident(b, n, inc); err != nil {
			return err
		}
		return putEvents(tx, n, inc.Updated, events)
	})
	if err != nil {
		return Incident{}, fmt.Errorf("update incident %s: %w", id, err)
	}
	return inc, nil
}

// Incident returns one incident; ErrNotFound if there is none with that ID.
func (db *DB) Incident(id string) (Incident, error) {
	n, err := incidentNumber(id)
	if err != nil {
		return Incident{}, err
	}
	var inc Incident
	err = db.bolt.View(func(tx *bolt.Tx) error {
		inc, err = getIncident(tx.Bucket(bucketIncidents), n, id)
		return err
	})
	return inc, err
}

// Incidents lists the incidents f selects, newest first.
func (db *DB) Incidents(f IncidentFilter) ([]Incident, error) {
	var out []Incident
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketIncidents).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var r incidentRecord
			if err := decode(v, &r); err != nil {
				return fmt.Errorf("incident %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if f.Edge != "" && r.Edge != f.Edge {
				continue
			}
			if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, r.Status) {
				continue
			}
			out = append(out, r.Incident)
			if f.Limit > 0 && len(out) == f.Limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	return out, nil
}

// incidentNumber parses "INC-12" (case-insensitive) into 12. A malformed ID is not found.
func incidentNumber(id string) (uint64, error) {
	if len(id) > len(incidentPrefix) && strings.EqualFold(id[:len(incidentPrefix)], incidentPrefix) {
		if n, err := strconv.ParseUint(id[len(incidentPrefix):], 10, 64); err == nil && n > 0 {
			return n, nil
		}
	}
	return 0, fmt.Errorf("incident %q: %w (IDs look like INC-12)", id, ErrNotFound)
}

// getIncident reads incident n; id is only for the error.
func getIncident(b *bolt.Bucket, n uint64, id string) (Incident, error) {
	v := b.Get(u64(n))
	if v == nil {
		return Incident{}, fmt.Errorf("incident %s: %w", id, ErrNotFound)
	}
	var r incidentRecord
	if err := decode(v, &r); err != nil {
		return Incident{}, fmt.Errorf("incident %s: %w", id, err)
	}
	return r.Incident, nil
}

// requireIncident returns the key of an existing incident, for records that hang off one.
func requireIncident(tx *bolt.Tx, id string) (uint64, error) {
	n, err := incidentNumber(id)
	if err != nil {
		return 0, err
	}
	if tx.Bucket(bucketIncidents).Get(u64(n)) == nil {
		return 0, fmt.Errorf("incident %s: %w", id, ErrNotFound)
	}
	return n, nil
}

func putIncident(b *bolt.Bucket, n uint64, inc Incident) error {
	v, err := encode(&incidentRecord{current, inc})
	if err != nil {
		return err
	}
	return b.Put(u64(n), v)
}

func checkStatus(s Status) error {
	_, err := ParseStatus(string(s))
	return err
}
