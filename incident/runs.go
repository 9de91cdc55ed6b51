package incident

import (
	"context"
	"fmt"
	"sync"

	"ipsecbot/diag"
	"ipsecbot/store"
)

// Run is the one diagnosis of an edge in progress. The first to claim the edge owns the run:
// it opens the incident (or runs for one that exists), executes the diagnosis and finishes
// the run. Whoever claims the edge meanwhile is handed the same run and decides: join it
// (learn its incident, get its later events, wait for its report) or give up.
type Run struct {
	Edge string
	l    *Lifecycle

	opened   chan struct{} // closed once the incident is known, or the run has ended
	openOnce sync.Once
	inc      store.Incident
	openErr  error

	evMu      sync.Mutex // serialises events: listeners see them in order
	listeners []diag.Listener

	done       chan struct{}
	finishOnce sync.Once
	report     *diag.Report
	err        error
}

// Claim returns the run of edge: a new one the caller owns (owner true), or the one in
// progress (owner false). The owner must Finish it, which frees the edge.
func (l *Lifecycle) Claim(edge string) (r *Run, owner bool) {
	l.runsMu.Lock()
	defer l.runsMu.Unlock()
	if r, ok := l.runs[edge]; ok {
		return r, false
	}
	r = &Run{Edge: edge, l: l, opened: make(chan struct{}), done: make(chan struct{})}
	l.runs[edge] = r
	return r, true
}

// Running reports whether a diagnosis of edge is in progress.
func (l *Lifecycle) Running(edge string) bool {
	l.runsMu.Lock()
	defer l.runsMu.Unlock()
	_, ok := l.runs[edge]
	return ok
}

// Idle reports whether no diagnosis is in progress.
func (l *Lifecycle) Idle() bool {
	l.runsMu.Lock()
	defer l.runsMu.Unlock()
	return len(l.runs) == 0
}

// runningIncidents are the incidents of the runs in progress (the ones whose owner opened or
// named one).
func (l *Lifecycle) runningIncidents() map[string]bool {
	l.runsMu.Lock()
	defer l.runsMu.Unlock()
	ids := map[string]bool{}
	for _, r := range l.runs {
		select {
		case <-r.opened:
			if r.inc.ID != "" {
				ids[r.inc.ID] = true
			}
		default:
		}
	}
	return ids
}

// ClaimedFrom reports whether the run is in l's registry of runs (and not another's).
func (r *Run) ClaimedFrom(l *Lifecycle) bool { return r.l == l }

// Open opens the run's incident (o.Edge is the run's) for the diagnosis that starts now, and
// tells the joiners waiting for it. Only the owner calls it, at most once.
func (r *Run) Open(o Opening) (store.Incident, error) {
	if o.Edge != "" && o.Edge != r.Edge {
		return store.Incident{}, fmt.Errorf("open incident: edge %s for a run of %s", o.Edge, r.Edge)
	}
	o.Edge, o.Diagnosing = r.Edge, true
	inc, err := r.l.Open(o)
	r.setIncident(inc, err)
	return inc, err
}

// For names the existing incident the run diagnoses, for the joiners.
func (r *Run) For(inc store.Incident) { r.setIncident(inc, nil) }

func (r *Run) setIncident(inc store.Incident, err error) {
	r.openOnce.Do(func() {
		r.inc, r.openErr = inc, err
		close(r.opened)
	})
}

// Incident waits until the run's owner has opened (or named) its incident and returns it, or
// why it could not. A run that ended without one (nothing recorded) returns its error, or
// the zero incident. The owner opens right after claiming, so the wait is one commit.
func (r *Run) Incident() (store.Incident, error) {
	select {
	case <-r.opened:
		return r.inc, r.openErr
	case <-r.done:
		select {
		case <-r.opened:
			return r.inc, r.openErr
		default:
			return store.Incident{}, r.err
		}
	}
}

// Listen adds listeners of the run's later events.
func (r *Run) Listen(ls ...diag.Listener) {
	r.evMu.Lock()
	r.listeners = append(r.listeners, ls...)
	r.evMu.Unlock()
}

// Emit tells every listener of ev, in the order events are emitted. Listeners must not block.
func (r *Run) Emit(ev diag.Event) {
	r.evMu.Lock()
	defer r.evMu.Unlock()
	for _, l := range r.listeners {
		l(ev)
	}
}

// Finish ends the run with its report (nil when there is none) and error: the edge is free
// again and the joiners get them. Only the owner calls it; a second call does nothing.
func (r *Run) Finish(rep *diag.Report, err error) {
	r.finishOnce.Do(func() {
		r.report, r.err = rep, err
		r.l.runsMu.Lock()
		if r.l.runs[r.Edge] == r {
			delete(r.l.runs, r.Edge)
		}
		r.l.runsMu.Unlock()
		close(r.done)
	})
}

// Done is closed when the run has finished.
func (r *Run) Done() <-chan struct{} { return r.done }

// Wait returns the run's report and error once it has finished, or ctx's error first.
func (r *Run) Wait(ctx context.Context) (*diag.Report, error) {
	select {
	case <-r.done:
		return r.report, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
