package watch

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultAutoEvery is the least time between two automatic diagnoses of one tunnel.
const DefaultAutoEvery = time.Hour

// AutoDiagnose is a Notifier that starts a diagnosis as soon as a tunnel turns unstable or
// down, so the capture runs while the tunnel fails. A tunnel gets at most one start per
// Every; while a diagnosis of an edge runs, another tunnel of it turning bad joins that run
// rather than start a second one.
type AutoDiagnose struct {
	// Start opens the incident and runs the diagnosis of the tunnel's site of its edge,
	// returning when it is over (it runs on a goroutine of its own). The tunnel is the one
	// whose change started it: its alert is where bot serve says the diagnosis.
	Start func(k Key) error
	// Enabled says whether an edge diagnoses itself (nil: every edge).
	Enabled func(edge string) bool
	Every   time.Duration // default DefaultAutoEvery
	Now     func() time.Time
	Logger  *slog.Logger

	mu      sync.Mutex
	last    map[Key]time.Time // the last start per tunnel
	running map[string]bool   // edges with a diagnosis this notifier started, not over yet
	wg      sync.WaitGroup
}

// Outcomes of AutoDiagnose.Decide.
const (
	AutoStarted = "started"
	AutoJoined  = "joined"  // a diagnosis of the edge runs: this change is part of it
	AutoLimited = "limited" // the tunnel had one within Every
	AutoIgnored = "ignored" // not a change to unstable or down, or the edge is not enabled
)

// Notify implements Notifier.
func (a *AutoDiagnose) Notify(_ context.Context, t Transition) { a.Decide(t) }

// Decide acts on one change and says what it did.
func (a *AutoDiagnose) Decide(t Transition) string {
	if t.To != StateUnstable && t.To != StateDown || a.Start == nil || (a.Enabled != nil && !a.Enabled(t.Edge)) {
		return AutoIgnored
	}
	now := time.Now()
	if a.Now != nil {
		now = a.Now()
	}
	every := a.Every
	if every <= 0 {
		every = DefaultAutoEvery
	}
	a.mu.Lock()
	if a.last == nil {
		a.last, a.running = map[Key]time.Time{}, map[string]bool{}
	}
	if a.running[t.Edge] {
		a.last[t.Key] = now
		a.mu.Unlock()
		a.logf("automatic diagnosis joined", t)
		return AutoJoined
	}
	if last, ok := a.last[t.Key]; ok && now.Sub(last) < every {
		a.mu.Unlock()
		return AutoLimited
	}
	a.last[t.Key] = now
	a.running[t.Edge] = true
	a.mu.Unlock()
	a.logf("automatic diagnosis started", t)
	a.wg.Go(func() {
		defer func() {
			a.mu.Lock()
			delete(a.running, t.Edge)
			a.mu.Unlock()
		}()
		if err := a.Start(t.Key); err != nil && a.Logger != nil {
			a.Logger.Warn("automatic diagnosis", "edge", t.Edge, "site", t.Site, "err", err)
		}
	})
	return AutoStarted
}

// Wait waits for the diagnoses it started to end.
func (a *AutoDiagnose) Wait() { a.wg.Wait() }

func (a *AutoDiagnose) logf(msg string, t Transition) {
	if a.Logger != nil {
		a.Logger.Info(msg, "edge", t.Edge, "site", t.Site, "tunnel", t.Tunnel, "to", t.To, "reason", t.Reason)
	}
}
