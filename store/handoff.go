package store

import "time"

// Handoff is what an incident's own channel holds beyond the incident: its severity and
// commander, the Slack IDs of what the bot created there (never looked up again by name),
// the latest status update, and the operations run on it with their recorded side effects.
// It is written with the incident (ChangeIncident), so a step and the state it produced
// are committed together.
type Handoff struct {
	Severity    string `json:"severity,omitempty"` // sev1, sev2, sev3
	Commander   string `json:"commander,omitempty"`
	Channel     string `json:"channel,omitempty"` // the incident channel's ID
	ChannelName string `json:"channel_name,omitempty"`
	// Origin is where the incident was diagnosed before it got its channel: the verdict thread.
	OriginChannel string `json:"origin_channel,omitempty"`
	OriginThread  string `json:"origin_thread,omitempty"`
	BriefTS       string `json:"brief_ts,omitempty"`  // the pinned handoff brief, kept current
	UpdateTS      string `json:"update_ts,omitempty"` // the latest status update, pinned
	IndexChannel  string `json:"index_channel,omitempty"`
	IndexTS       string `json:"index_ts,omitempty"` // the incident's line in the index channel

	Escalated    time.Time `json:"escalated,omitzero"`
	LastUpdate   time.Time `json:"last_update,omitzero"`
	SnoozedUntil time.Time `json:"snoozed_until,omitzero"`
	// Reminded is the due time the last update reminder was posted for: one reminder per
	// overdue period.
	Reminded time.Time `json:"reminded,omitzero"`
	Resolved time.Time `json:"resolved,omitzero"`
	// Archived is when the channel was archived, or the archive reminder posted.
	Archived time.Time `json:"archived,omitzero"`

	Ops     []Op `json:"ops,omitempty"`
	LastSeq int  `json:"last_seq,omitempty"` // the Seq of the newest op
}

// Op kinds: what was asked of the incident channel.
const (
	OpEscalate  = "escalate"
	OpCommander = "commander"
	OpUpdate    = "update"
	OpResolve   = "resolve"
	OpRemind    = "remind"  // an update reminder
	OpArchive   = "archive" // the channel archived, or its archiving suggested
	OpSnooze    = "snooze"  // the update reminder postponed
)

// Op is one request on the incident channel (an escalation, a handover, an update, a
// resolution) with the side effects it plans. Steps still planned when the bot stopped are
// run by the next start; done and failed ones never again.
type Op struct {
	Seq    int       `json:"seq"`
	Kind   string    `json:"kind"`
	Actor  string    `json:"actor"`
	Target string    `json:"target,omitempty"` // the new commander
	Text   string    `json:"text,omitempty"`   // the update, the resolution note
	Prev   string    `json:"prev,omitempty"`   // the message it replaces (the previous pinned update)
	At     time.Time `json:"at"`
	Done   bool      `json:"done,omitempty"`
	Steps  []Step    `json:"steps"`
}

// StepState is where a side effect stands.
type StepState string

// Step states.
const (
	StepPlanned StepState = "planned"
	StepDone    StepState = "done"
	StepFailed  StepState = "failed"
)

// Step is one side effect of an op: a Slack call, recorded with what it produced.
type Step struct {
	Name  string    `json:"name"`
	State StepState `json:"state"`
	Out   string    `json:"out,omitempty"` // the Slack ID it produced: a channel, a ts
	Error string    `json:"error,omitempty"`
	At    time.Time `json:"at,omitzero"`
}

// Step returns op's step named name, or nil.
func (o *Op) Step(name string) *Step {
	for i := range o.Steps {
		if o.Steps[i].Name == name {
			return &o.Steps[i]
		}
	}
	return nil
}

// Op returns the op with sequence seq, or nil.
func (h *Handoff) Op(seq int) *Op {
	for i := range h.Ops {
		if h.Ops[i].Seq == seq {
			return &h.Ops[i]
		}
	}
	return nil
}

// Failed lists the steps that failed across every op, oldest first.
func (h *Handoff) Failed() []Step {
	var out []Step
	for _, o := range h.Ops {
		for _, s := range o.Steps {
			if s.State == StepFailed {
				out = append(out, s)
			}
		}
	}
	return out
}
