package incident

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"ipsecbot/config"
	"ipsecbot/store"
)

// Severities, most urgent first (the configuration's); an escalation without one gets
// DefaultSeverity.
var Severities = config.Severities

// DefaultSeverity is the severity of an escalation that names none.
const DefaultSeverity = "sev3"

// ParseSeverity reads "sev1" (any case); anything else is an error listing the severities.
func ParseSeverity(s string) (string, error) {
	if v := strings.ToLower(s); slices.Contains(Severities, v) {
		return v, nil
	}
	return "", fmt.Errorf("unknown severity %q (one of %s)", s, strings.Join(Severities, ", "))
}

// ErrBusy is wrapped by the error of an op that cannot begin because the same one is
// already under way or already happened (a double click).
var ErrBusy = errors.New("already done or under way")

// Plan is an op on the incident channel to begin: its steps (side effects, run in order)
// are recorded as planned in the same commit as the op's own state.
type Plan struct {
	Kind   string // store.OpEscalate ...
	Actor  string
	Target string
	Text   string
	Prev   string
	Steps  []string
	// Check sees the stored incident (its Handoff set) inside the commit and may change it:
	// an error refuses the op and nothing is written.
	Check func(inc *store.Incident) error
	// To is the status the op moves the incident to ("" keeps it; staying is not refused).
	To  store.Status
	Why string // the status entry of the timeline (default: the move)
	// Set changes the handoff state with the op (the handoff exists when it runs).
	Set func(h *store.Handoff)
	// Supersede drops the finished ops of the same kind: recurring ops (reminders, snoozes)
	// keep their record on the timeline without growing the incident with every period.
	Supersede bool
}

// Begin records a new op with its steps planned, the status move and the sets, in one
// commit, and returns the incident and the op as stored.
func (l *Lifecycle) Begin(id string, p Plan, sets ...Set) (store.Incident, store.Op, error) {
	var op store.Op
	at := l.stamp()
	inc, err := l.changeIncident(id, p.Actor, p.Why, func(i *store.Incident) (store.Status, error) {
		if i.Handoff == nil {
			i.Handoff = &store.Handoff{}
		}
		if p.Check != nil {
			if err := p.Check(i); err != nil {
				return "", err
			}
		}
		to := i.Status
		if p.To != "" && p.To != i.Status {
			if err := Allowed(i.Status, p.To); err != nil {
				return "", err
			}
			to = p.To
		}
		h := i.Handoff
		if p.Supersede {
			h.Ops = slices.DeleteFunc(h.Ops, func(o store.Op) bool { return o.Kind == p.Kind && o.Done })
		}
		h.LastSeq++
		op = store.Op{Seq: h.LastSeq, Kind: p.Kind, Actor: p.Actor, Target: p.Target, Text: p.Text, Prev: p.Prev, At: at, Done: len(p.Steps) == 0}
		for _, name := range p.Steps {
			op.Steps = append(op.Steps, store.Step{Name: name, State: store.StepPlanned})
		}
		h.Ops = append(h.Ops, op)
		if p.Set != nil {
			p.Set(h)
		}
		return to, nil
	}, sets)
	return inc, op, err
}

// StepDone records that step name of op seq happened, with the Slack ID it produced, and
// the sets that go with it, in one commit. The op is done once no step is planned.
func (l *Lifecycle) StepDone(id string, seq int, name, out string, sets ...Set) (store.Incident, error) {
	return l.endStep(id, seq, name, store.Step{State: store.StepDone, Out: out}, sets)
}

// StepFailed records that step name of op seq failed for good: the step keeps the error,
// the timeline says what Slack did not take, and the op goes on with its other steps.
func (l *Lifecycle) StepFailed(id string, seq int, name string, cause error) (store.Incident, error) {
	msg := cause.Error()
	return l.endStep(id, seq, name, store.Step{State: store.StepFailed, Error: msg},
		[]Set{Noting(store.EventSlack, fmt.Sprintf("%s failed: %s", name, msg))})
}

func (l *Lifecycle) endStep(id string, seq int, name string, end store.Step, sets []Set) (store.Incident, error) {
	at := l.stamp()
	return l.changeIncident(id, Bot, "", func(i *store.Incident) (store.Status, error) {
		if i.Handoff == nil || i.Handoff.Op(seq) == nil {
			return "", fmt.Errorf("incident %s has no op %d", id, seq)
		}
		op := i.Handoff.Op(seq)
		st := op.Step(name)
		if st == nil {
			return "", fmt.Errorf("op %d of incident %s has no step %q", seq, id, name)
		}
		if st.State != store.StepPlanned {
			return "", Refuse(ErrBusy, "step %s of op %d is %s", name, seq, st.State)
		}
		st.State, st.Out, st.Error, st.At = end.State, end.Out, end.Error, at
		op.Done = !slices.ContainsFunc(op.Steps, func(s store.Step) bool { return s.State == store.StepPlanned })
		return i.Status, nil
	}, sets)
}

// Handoff changes the handoff state with a commit (a set for StepDone and Update).
func Handoff(set func(h *store.Handoff)) Set {
	return func(c *change) {
		if c.inc.Handoff == nil {
			c.inc.Handoff = &store.Handoff{}
		}
		set(c.inc.Handoff)
	}
}

// Pending lists the incidents with ops whose steps are not all run: what a start resumes.
func (l *Lifecycle) Pending() ([]store.Incident, error) {
	if l.db == nil {
		return nil, nil
	}
	all, err := l.db.Incidents(store.IncidentFilter{})
	if err != nil {
		return nil, err
	}
	var out []store.Incident
	for _, inc := range all {
		if inc.Handoff != nil && slices.ContainsFunc(inc.Handoff.Ops, func(o store.Op) bool { return !o.Done }) {
			out = append(out, inc)
		}
	}
	return out, nil
}
