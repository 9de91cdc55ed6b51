package diag

import "time"

// Request asks for one diagnosis.
type Request struct {
	Edge           string        // an edge name from the inventory
	Peer           string        // the IPsec site's peer name; empty: all that are down, else the first
	CaptureSeconds int           // capture window; 0: the default (60 s)
	Incident       string        // the incident ID this run belongs to ("INC-7"); empty: none
	OutDir         string        // where artifacts are written; empty: the store's artifacts dir
	Requester      string        // who asked (a Slack user ID or "cli")
	Automatic      bool          // the watcher asked (the incident's origin is automatic), not a person
	Deadline       time.Duration // overall; 0: the default
	// DataPath asks for step 8 (the traffic fails): a ping followed through four capture
	// points, on the hosts the peer's datapath block names.
	DataPath bool
}

// Event kinds a run reports to its listeners.
const (
	EventStarted      = "run_started"
	EventStepStarted  = "step_started"
	EventStepFinished = "step_finished"
	EventStepFailed   = "step_failed"
	EventFinished     = "run_finished"
	// EventWindow is the capture window's countdown, every few seconds while it is open.
	EventWindow = "capture_window"
)

// Event is one progress report of a run. Listeners must not block: they are called in order,
// one event at a time (the window's countdown comes from a goroutine of its own).
type Event struct {
	Kind     string    `json:"kind"`
	Edge     string    `json:"edge"`
	Incident string    `json:"incident,omitempty"`
	Step     string    `json:"step,omitempty"`  // the step's name
	Title    string    `json:"title,omitempty"` // the step's human title
	Index    int       `json:"index,omitempty"` // 1-based position of the step in the plan
	Total    int       `json:"total,omitempty"` // number of steps in the plan
	Summary  string    `json:"summary,omitempty"`
	Err      string    `json:"error,omitempty"`
	Time     time.Time `json:"time"`
	// WindowLeftS is the capture window's seconds left (EventWindow).
	WindowLeftS int `json:"window_left_s,omitempty"`
	// WindowSeen is what the Edge has counted of the tunnel's traffic since the window opened,
	// as its last poll read it ("ESP packets so far: 120 in / 118 out (Edge SA counters)"; empty
	// until a poll has answered). Summary carries it too (EventWindow).
	WindowSeen string      `json:"window_seen,omitempty"`
	Result     *StepResult `json:"-"` // set on step_finished / step_failed
	Report     *Report     `json:"-"` // set on run_finished
}

// Listener receives a run's events.
type Listener func(Event)
