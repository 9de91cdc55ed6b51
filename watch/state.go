package watch

import (
	"time"

	"ipsecbot/store"
)

// Tunnel states.
const (
	StateUp       = "up"
	StateDown     = "down"
	StateUnstable = "unstable"
	StateUnknown  = "unknown"
)

// Policy holds the state machine's timers.
type Policy struct {
	DownAfter  time.Duration // read down this long: down
	Flaps      int           // this many drops...
	FlapWindow time.Duration // ...within this window: unstable
	ClearAfter time.Duration // unstable clears after this long of stable up
	// SALifetime is the SA lifetime that makes a new SA a rekey when the document has no
	// IKE counters (default DefaultSALifetime).
	SALifetime time.Duration
	// SampleEvery is how often a tunnel writes a full sample row besides its changes.
	SampleEvery time.Duration
}

// Policy defaults (the configuration's watch.* defaults).
const (
	DefaultDownAfter   = 2 * time.Minute
	DefaultFlaps       = 3
	DefaultFlapWindow  = 30 * time.Minute
	DefaultClearAfter  = 10 * time.Minute
	DefaultSampleEvery = 15 * time.Minute
)

func (p Policy) withDefaults() Policy {
	orDefault(&p.DownAfter, DefaultDownAfter)
	orDefault(&p.Flaps, DefaultFlaps)
	orDefault(&p.FlapWindow, DefaultFlapWindow)
	orDefault(&p.ClearAfter, DefaultClearAfter)
	orDefault(&p.SALifetime, DefaultSALifetime)
	orDefault(&p.SampleEvery, DefaultSampleEvery)
	return p
}

// orDefault sets *v to def unless it is positive.
func orDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Transition is a change of a tunnel's shown state.
type Transition struct {
	Key
	From, To    string
	At          time.Time
	Reason      string
	LastFailure string
}

// observe runs one reading of a tunnel through the state machine. t is the tunnel's lasting
// state (zero for a new tunnel) and is updated in place; the history rows to keep are returned,
// with the transition when the shown state changed.
func (p Policy) observe(t *store.WatchTunnel, cur store.WatchSample, now time.Time) ([]store.WatchEvent, *Transition) {
	return p.observeWith(t, cur, now, nil)
}

// observeWith is observe with the edge's rekey budget of this sweep (nil: the tunnel's own
// readings decide).
func (p Policy) observeWith(t *store.WatchTunnel, cur store.WatchSample, now time.Time, budget *rekeyBudget) ([]store.WatchEvent, *Transition) {
	before, _ := t.Shown()
	if t.State == "" {
		before = ""
	}
	var evs []store.WatchEvent
	ch := compare(t.Last, &cur, now, p.SALifetime, budget)
	row := func(kind, note string) {
		s := cur
		evs = append(evs, store.WatchEvent{Time: now, Kind: kind, Note: note, Sample: &s})
		t.LastSampleAt = now
	}
	if ch.Kind != "" {
		row(ch.Kind, ch.Reason)
	} else if now.Sub(t.LastSampleAt) >= p.SampleEvery {
		row(store.WatchSampled, "")
	}
	if cur.Failure != "" {
		t.LastFailure, t.LastFailureAt = cur.Failure, now
	}
	t.UnknownSince, t.UnknownReason = time.Time{}, ""
	t.Last, t.LastAt = &cur, now

	// Drops within the window.
	kept := t.Drops[:0]
	for _, d := range t.Drops {
		if now.Sub(d) < p.FlapWindow {
			kept = append(kept, d)
		}
	}
	t.Drops = kept
	dropped := ch.Kind == store.WatchDrop
	if dropped {
		t.Drops = append(t.Drops, now)
	}

	state := t.State
	if state == "" {
		state = StateUp
	}
	reason := ch.Reason
	if isUp(&cur) {
		t.DownSince = time.Time{}
		if dropped || t.StableSince.IsZero() {
			t.StableSince = now
		}
		switch {
		case dropped && len(t.Drops) >= p.Flaps:
			state, reason = StateUnstable, plural(len(t.Drops), "drop")+" within "+p.FlapWindow.String()+": "+ch.Reason
		case state == StateDown && len(t.Drops) >= p.Flaps:
			state, reason = StateUnstable, "back up after "+plural(len(t.Drops), "drop")+" within "+p.FlapWindow.String()
		case state == StateDown:
			state, reason = StateUp, "back up"
		case state == StateUnstable && now.Sub(t.StableSince) >= p.ClearAfter:
			state, reason = StateUp, "stable up for "+now.Sub(t.StableSince).Round(time.Second).String()
		}
	} else {
		t.StableSince = time.Time{}
		if t.DownSince.IsZero() {
			t.DownSince = now
		}
		switch {
		case now.Sub(t.DownSince) >= p.DownAfter:
			if state != StateDown {
				reason = "down for " + now.Sub(t.DownSince).Round(time.Second).String()
				if cur.Failure != "" {
					reason += ": " + cur.Failure
				}
			}
			state = StateDown
		case dropped && len(t.Drops) >= p.Flaps:
			state, reason = StateUnstable, plural(len(t.Drops), "drop")+" within "+p.FlapWindow.String()+": "+ch.Reason
		}
	}
	if state != t.State {
		t.State, t.Since = state, now
	}
	after, _ := t.Shown()
	if before == after || (before == "" && after == StateUp) {
		return evs, nil
	}
	evs = append(evs, store.WatchEvent{Time: now, Kind: store.WatchState, State: after, Note: reason})
	return evs, &Transition{Key: keyOf(t), From: before, To: after, At: now, Reason: reason, LastFailure: t.LastFailure}
}

// fail marks a tunnel unknown because its edge's API failed; its timers are kept.
func (p Policy) fail(t *store.WatchTunnel, reason string, now time.Time) ([]store.WatchEvent, *Transition) {
	before, _ := t.Shown()
	first := t.UnknownSince.IsZero()
	if first {
		t.UnknownSince = now
	}
	t.UnknownReason = reason
	if !first {
		return nil, nil
	}
	evs := []store.WatchEvent{
		{Time: now, Kind: store.WatchUnknown, Note: reason},
		{Time: now, Kind: store.WatchState, State: StateUnknown, Note: reason},
	}
	return evs, &Transition{Key: keyOf(t), From: before, To: StateUnknown, At: now, Reason: reason, LastFailure: t.LastFailure}
}

func keyOf(t *store.WatchTunnel) Key { return Key{Edge: t.Edge, Site: t.Site, Tunnel: t.Tunnel} }

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return itoa(n) + " " + word + "s"
}
