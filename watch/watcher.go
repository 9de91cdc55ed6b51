package watch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"ipsecbot/store"
)

// Notifier receives the state changes of a sweep (the terminal prints them; Slack alerts and
// automatic diagnosis will be notifiers too). It must not block for long: it runs between
// sweeps.
type Notifier interface {
	Notify(ctx context.Context, t Transition)
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, t Transition)

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, t Transition) { f(ctx, t) }

// Observer is told about every sweep, e.g. for metrics.
type Observer interface {
	Swept(s Swept)
}

// Notifiers sends each change to every notifier in turn.
type Notifiers []Notifier

// Notify implements Notifier.
func (ns Notifiers) Notify(ctx context.Context, t Transition) {
	for _, n := range ns {
		if n != nil {
			n.Notify(ctx, t)
		}
	}
}

// Observers tells every observer of each sweep in turn.
type Observers []Observer

// Swept implements Observer.
func (os Observers) Swept(s Swept) {
	for _, o := range os {
		if o != nil {
			o.Swept(s)
		}
	}
}

// Swept is what one sweep found.
type Swept struct {
	At      time.Time
	Took    time.Duration
	Results []EdgeResult        // one per edge, in target order
	Tunnels []store.WatchTunnel // every tunnel's state after the sweep
	Drops   []Key               // the drops this sweep caught
}

// Config is what a Watcher needs.
type Config struct {
	Targets []Target
	Store   *store.DB
	Policy  Policy
	Sweep   SweepOptions
	// Next returns the time of the sweep after one started at t (an interval or a cron spec).
	Next func(t time.Time) time.Time
	// Retention is how long history rows are kept (0: forever).
	Retention time.Duration
	Notifier  Notifier
	Observer  Observer
	Logger    *slog.Logger
	// Now stamps the readings (nil: time.Now); a benchmark runs a day of sweeps on its own clock.
	Now func() time.Time
}

// Watcher sweeps the edges and keeps every tunnel's state.
type Watcher struct {
	cfg    Config
	policy Policy
	log    *slog.Logger

	mu         sync.Mutex
	tunnels    map[Key]*store.WatchTunnel
	lastPruned time.Time
	hints      map[string][]hint // by edge, until the next sweep keeps them
	lastEarly  time.Time         // the last sweep a hint brought forward
	wake       chan struct{}
}

// New loads the tunnels' lasting state from the store.
func New(cfg Config) (*Watcher, error) {
	if cfg.Store == nil {
		return nil, errors.New("watch: no store")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Next == nil {
		cfg.Next = func(t time.Time) time.Time { return t.Add(time.Minute) }
	}
	w := &Watcher{cfg: cfg, policy: cfg.Policy.withDefaults(), log: cfg.Logger, tunnels: map[Key]*store.WatchTunnel{},
		hints: map[string][]hint{}, wake: make(chan struct{}, 1)}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	saved, err := cfg.Store.WatchTunnels()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	for i := range saved {
		t := saved[i]
		w.tunnels[keyOf(&t)] = &t
	}
	return w, nil
}

// Run sweeps until ctx ends: one sweep at once, the next at Next of the last one's start.
func (w *Watcher) Run(ctx context.Context) error {
	for {
		start := time.Now()
		if _, err := w.SweepOnce(ctx); err != nil && ctx.Err() == nil {
			w.log.Error("watch sweep", "err", err)
		}
		wait := time.Until(w.cfg.Next(start))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(max(wait, 0)):
		case <-w.wake: // a hint: sweep now
		}
	}
}

// SweepOnce reads every edge once, updates the tunnels, stores them with their history rows
// and notifies the state changes, which it returns.
func (w *Watcher) SweepOnce(ctx context.Context) ([]Transition, error) {
	start := w.cfg.Now()
	results := Sweep(ctx, w.cfg.Targets, w.cfg.Sweep)
	if ctx.Err() != nil {
		return nil, context.Cause(ctx) // a cut-short sweep says nothing about the tunnels
	}
	now := w.cfg.Now()
	w.mu.Lock()
	var (
		changes []Transition
		drops   []Key
		touched []store.WatchTunnel
		removed [][3]string
		events  = map[[3]string][]store.WatchEvent{}
	)
	keep := func(t *store.WatchTunnel, evs []store.WatchEvent, tr *Transition) {
		c := *t
		c.Drops = slices.Clone(t.Drops) // saved after the lock is let go
		touched = append(touched, c)
		if len(evs) > 0 {
			events[keyOf(t).triple()] = append(events[keyOf(t).triple()], evs...)
		}
		if tr != nil {
			changes = append(changes, *tr)
		}
	}
	for _, r := range results {
		if r.Err != nil {
			reason := "api: " + oneLine(r.Err.Error())
			w.log.Warn("watch: edge unreadable", "edge", r.Edge, "err", r.Err)
			known := false
			for k, t := range w.tunnels {
				if k.Edge == r.Edge {
					known = true
					evs, tr := w.policy.fail(t, reason, now)
					keep(t, evs, tr)
				}
			}
			if !known { // an edge never read yet shows as one unknown line of its own
				t := &store.WatchTunnel{Edge: r.Edge}
				w.tunnels[keyOf(t)] = t
				evs, tr := w.policy.fail(t, reason, now)
				keep(t, evs, tr)
			}
			continue
		}
		if edgeOnly := (Key{Edge: r.Edge}); w.tunnels[edgeOnly] != nil {
			delete(w.tunnels, edgeOnly) // the edge answers: its tunnels stand for it now
			removed = append(removed, edgeOnly.triple())
		}
		readings := Readings(r.Edge, r.Stats)
		tunnels := make([]*store.WatchTunnel, len(readings))
		var prev []*store.WatchSample
		for i, rd := range readings {
			t, ok := w.tunnels[rd.Key]
			if !ok {
				t = &store.WatchTunnel{Edge: rd.Edge, Site: rd.Site, Tunnel: rd.Tunnel}
				w.tunnels[rd.Key] = t
			}
			tunnels[i] = t
			prev = append(prev, t.Last)
		}
		var budget *rekeyBudget
		if len(readings) > 0 {
			budget = edgeBudget(prev, readings[0].Sample.Rekeys)
		}
		// The oldest SAs take the edge's rekeys first: rekeys come at the end of an SA's life.
		order := make([]int, len(readings))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int {
			return cmp.Compare(saAge(tunnels[b].Last, now), saAge(tunnels[a].Last, now))
		})
		for _, i := range order {
			rd, t := readings[i], tunnels[i]
			evs, tr := w.policy.observeWith(t, rd.Sample, now, budget)
			for _, ev := range evs {
				if ev.Kind == store.WatchDrop {
					drops = append(drops, rd.Key)
				}
			}
			keep(t, evs, tr)
		}
	}
	w.keepHintsLocked(events)
	snapshot := w.snapshotLocked()
	prune := w.cfg.Retention > 0 && now.Sub(w.lastPruned) >= time.Hour
	if prune {
		w.lastPruned = now
	}
	w.mu.Unlock()

	err := w.cfg.Store.SaveWatch(touched, events, removed...)
	if prune && err == nil {
		if _, perr := w.cfg.Store.PruneWatch(now.Add(-w.cfg.Retention)); perr != nil {
			w.log.Error("watch: prune", "err", perr)
		}
	}
	if w.cfg.Observer != nil {
		w.cfg.Observer.Swept(Swept{At: now, Took: now.Sub(start), Results: results, Tunnels: snapshot, Drops: drops})
	}
	if w.cfg.Notifier != nil {
		for _, c := range changes {
			w.cfg.Notifier.Notify(ctx, c)
		}
	}
	return changes, err
}

// Tunnels returns a copy of every tunnel's state, by edge, site and tunnel.
func (w *Watcher) Tunnels() []store.WatchTunnel {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.snapshotLocked()
}

func (w *Watcher) snapshotLocked() []store.WatchTunnel {
	out := make([]store.WatchTunnel, 0, len(w.tunnels))
	for _, t := range w.tunnels {
		c := *t
		c.Drops = slices.Clone(t.Drops)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b store.WatchTunnel) int {
		return strings.Compare(a.Edge+"\x00"+a.Site+"\x00"+a.Tunnel, b.Edge+"\x00"+b.Site+"\x00"+b.Tunnel)
	})
	return out
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
