package engine

import (
	"fmt"
	"runtime/debug"

	"ipsecbot/incident"
	"ipsecbot/store"
)

// executeContained runs the diagnosis and turns a panic outside any step (the steps have
// safeRun) into the run's error: its clients are closed, its incident records the failure,
// and the process goes on serving everyone else.
func (r *run) executeContained() {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		r.err = fmt.Errorf("internal error in the diagnosis of %s: %v", r.req.Edge, p)
		r.report = nil
		r.e.log.Error("diagnosis panicked", "edge", r.req.Edge, "incident", r.req.Incident, "panic", p, "stack", string(debug.Stack()))
		r.cancel()
		r.closeClientsContained()
		r.recordFailure()
	}()
	r.execute()
}

// closeClientsContained closes what the run opened, even when closing itself panics.
func (r *run) closeClientsContained() {
	defer func() {
		if p := recover(); p != nil {
			r.e.log.Error("closing a diagnosis's clients panicked", "edge", r.req.Edge, "panic", p)
		}
	}()
	r.closeClients()
}

// recordFailure ends a diagnosing incident with the run's error in its summary and timeline.
func (r *run) recordFailure() {
	if !r.e.incidents.Recording() || r.req.Incident == "" {
		return
	}
	_, err := r.e.incidents.EndDiagnosis(r.req.Incident, store.StatusOpen, incident.Bot, "",
		incident.Summary("diagnosis failed: "+r.err.Error()), incident.Noting(store.EventFailed, r.err.Error()))
	if err != nil {
		r.e.log.Warn("update incident", "incident", r.req.Incident, "err", err)
	}
}
