// Package incident owns the life of an incident: it opens one, moves its status along the
// allowed transitions (transitions.go), keeps its timeline and the files recorded under it,
// lets one diagnosis per edge run (runs.go) and orders the writes (writes.go). The engine, the
// Slack handlers and the command line go through a Lifecycle; nothing else writes an incident
// (a test reads the module's sources to hold that).
package incident

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"ipsecbot/store"
)

// Bot is the actor of what the bot does by itself.
const Bot = "bot"

// errNoStore is returned by writes of a Lifecycle without a store.
var errNoStore = errors.New("incidents are not recorded: no store")

// Options tune a Lifecycle.
type Options struct {
	// Now stamps what is written: an incident's opening and its timeline entries (default
	// time.Now). Tests may fix it.
	Now func() time.Time
}

// Lifecycle writes the incidents of one store and keeps the registry of running diagnoses.
// It is safe for concurrent use; one per process, shared by everything that writes.
type Lifecycle struct {
	db  *store.DB // nil: nothing is recorded; runs are still claimed
	now func() time.Time

	order sync.RWMutex // see writes.go

	runsMu sync.Mutex
	runs   map[string]*Run // by edge
}

// New returns the lifecycle of the incidents in db. db may be nil: then nothing is recorded
// (Recording is false and every write fails) but diagnoses still claim their edge.
func New(db *store.DB, o Options) *Lifecycle {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Lifecycle{db: db, now: o.Now, runs: map[string]*Run{}}
}

// Recording reports whether incidents are recorded (there is a store).
func (l *Lifecycle) Recording() bool { return l.db != nil }

// Store is the store the incidents are written to (nil when none), for reading them.
func (l *Lifecycle) Store() *store.DB { return l.db }

func (l *Lifecycle) stamp() time.Time { return l.now().UTC() }

// Opening describes a new incident.
type Opening struct {
	Origin         store.Origin // default OriginManual
	Edge           string       // required
	Site           string
	Requester      string // who asked: a Slack user ID, "cli"; empty for an automatic incident
	Channel        string // the Slack channel it is discussed in
	CaptureSeconds int
	// Diagnosing opens it for a diagnosis that starts now (status diagnosing); otherwise it
	// opens with status open.
	Diagnosing bool
	// Why is the first entry of its timeline, e.g. "diagnosis of edge-01 requested".
	Why string
}

// Open records a new incident with its first timeline entry in one commit. It goes ahead of
// the queued background writes (writes.go): an acknowledgement to Slack waits for it.
func (l *Lifecycle) Open(o Opening) (store.Incident, error) {
	if l.db == nil {
		return store.Incident{}, errNoStore
	}
	if o.Origin == "" {
		o.Origin = store.OriginManual
	}
	if o.Origin != store.OriginManual && o.Origin != store.OriginAutomatic {
		return store.Incident{}, fmt.Errorf("open incident: unknown origin %q", o.Origin)
	}
	status := store.StatusOpen
	if o.Diagnosing {
		status = store.StatusDiagnosing
	}
	actor := o.Requester
	if actor == "" {
		actor = Bot
	}
	why := o.Why
	if why == "" {
		why = fmt.Sprintf("opened (%s)", o.Origin)
	}
	at := l.stamp()
	var inc store.Incident
	err := l.urgent(func() error {
		var err error
		inc, err = l.db.CreateIncident(store.Incident{
			Edge: o.Edge, Site: o.Site, Status: status, Origin: o.Origin, Requester: o.Requester,
			Channel: o.Channel, CaptureSeconds: o.CaptureSeconds, Created: at,
		}, store.Event{Time: at, Kind: store.EventOpened, Text: why, Actor: actor})
		return err
	})
	return inc, err
}

// A Set is written with a status change (or by Update) in the same commit: a field of the
// incident, or another entry of its timeline.
type Set func(*change)

// change is one commit being prepared: the incident as it will be stored and the timeline
// entries that go with it.
type change struct {
	inc    *store.Incident
	actor  string
	at     time.Time
	events []store.Event
}

func (c *change) note(kind store.EventKind, text string) {
	c.events = append(c.events, store.Event{Time: c.at, Kind: kind, Text: text, Actor: c.actor})
}

// Site sets the IPsec site (peer) being diagnosed.
func Site(name string) Set { return func(c *change) { c.inc.Site = name } }

// Finding sets the cause label and summary of a verdict.
func Finding(cause, summary string) Set {
	return func(c *change) { c.inc.Cause, c.inc.Summary = cause, summary }
}

// Summary sets the one-line summary alone (a diagnosis that failed says why there).
func Summary(text string) Set { return func(c *change) { c.inc.Summary = text } }

// Owner sets who owns the incident (who resolved it, who took it over).
func Owner(user string) Set { return func(c *change) { c.inc.Owner = user } }

// Thread sets where the incident is discussed: a Slack channel and the thread of its messages.
func Thread(channel, ts string) Set {
	return func(c *change) { c.inc.Channel, c.inc.ThreadTS = channel, ts }
}

// Noting adds a timeline entry of kind by the change's actor.
func Noting(kind store.EventKind, text string) Set {
	return func(c *change) { c.note(kind, text) }
}

// Transition moves the incident to status to, when the table allows it from where the
// incident stands (an error wrapping ErrRefused otherwise, and nothing is written). The sets
// go in the same commit, and why (default: the move) in the timeline as a status entry by actor.
func (l *Lifecycle) Transition(id string, to store.Status, actor, why string, sets ...Set) (store.Incident, error) {
	return l.change(id, actor, why, func(from store.Status) (store.Status, error) {
		return to, Allowed(from, to)
	}, sets)
}

// BeginDiagnosis records that a diagnosis of the incident starts: an open or interrupted
// incident moves to diagnosing; a diagnosing one (opened for this diagnosis) and an escalated
// one (diagnosed within its escalation) keep their status; a resolved one is refused. why
// goes in the timeline as a status entry.
func (l *Lifecycle) BeginDiagnosis(id, actor, why string, sets ...Set) (store.Incident, error) {
	return l.change(id, actor, why, func(from store.Status) (store.Status, error) {
		if from == store.StatusDiagnosing || from == store.StatusEscalated {
			return from, nil
		}
		return store.StatusDiagnosing, Allowed(from, store.StatusDiagnosing)
	}, sets)
}

// EndDiagnosis records that the incident's diagnosis ended: a diagnosing incident moves to
// to, which is open, or interrupted when the run was cut short; an incident that moved on
// while it ran (escalated, resolved) keeps its status. The sets are written either way, and
// why, when given, as a status entry.
func (l *Lifecycle) EndDiagnosis(id string, to store.Status, actor, why string, sets ...Set) (store.Incident, error) {
	if to != store.StatusOpen && to != store.StatusInterrupted {
		return store.Incident{}, fmt.Errorf("incident %s: a diagnosis ends open or interrupted, not %s", id, to)
	}
	return l.change(id, actor, why, func(from store.Status) (store.Status, error) {
		if from != store.StatusDiagnosing {
			return from, nil
		}
		return to, nil
	}, sets)
}

// Update writes sets (fields, timeline entries by actor) without moving the status.
func (l *Lifecycle) Update(id, actor string, sets ...Set) (store.Incident, error) {
	return l.change(id, actor, "", func(from store.Status) (store.Status, error) { return from, nil }, sets)
}

// Note appends one entry to the incident's timeline.
func (l *Lifecycle) Note(id string, kind store.EventKind, text, actor string) error {
	_, err := l.Update(id, actor, Noting(kind, text))
	return err
}

// RecordArtifact records a file collected for the incident.
func (l *Lifecycle) RecordArtifact(id string, a store.Artifact) error {
	if l.db == nil {
		return errNoStore
	}
	return l.background(func() error { return l.db.AddArtifact(id, a) })
}

// change is every write to an existing incident: move picks the status from the stored one
// (or refuses), and the status entry (why, else the move when there is one) and the sets'
// entries are committed with it.
func (l *Lifecycle) change(id, actor, why string, move func(from store.Status) (store.Status, error), sets []Set) (store.Incident, error) {
	return l.changeIncident(id, actor, why, func(i *store.Incident) (store.Status, error) { return move(i.Status) }, sets)
}

// changeIncident is change whose move sees the whole stored incident.
func (l *Lifecycle) changeIncident(id, actor, why string, move func(i *store.Incident) (store.Status, error), sets []Set) (store.Incident, error) {
	if l.db == nil {
		return store.Incident{}, errNoStore
	}
	if actor == "" {
		actor = Bot
	}
	at := l.stamp()
	var inc store.Incident
	err := l.background(func() error {
		var err error
		inc, err = l.db.ChangeIncident(id, func(i *store.Incident) ([]store.Event, error) {
			from := i.Status
			to, err := move(i)
			if err != nil {
				return nil, err
			}
			i.Status = to
			c := &change{inc: i, actor: actor, at: at}
			switch {
			case why != "":
				c.note(store.EventStatus, why)
			case to != from:
				c.note(store.EventStatus, fmt.Sprintf("%s → %s", from, to))
			}
			for _, set := range sets {
				set(c)
			}
			return c.events, nil
		})
		return err
	})
	return inc, err
}
