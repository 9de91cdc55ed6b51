package chart

import (
	"fmt"
	"strings"
	"time"

	"ipsecbot/store"
	"ipsecbot/watch"
)

// FromStore builds a tunnel's row over [from, to] from the watch history: the state at from
// (the last state change before it; up when the tunnel was read but never changed state;
// blank before its first reading), each state change, each drop, and each failure message
// where it first appeared (again after another one).
func FromStore(db *store.DB, k watch.Key, from, to time.Time) (Row, error) {
	row := Row{Label: k.Site + "\n" + k.Tunnel}
	if k.Site == "" && k.Tunnel == "" {
		row.Label = k.Edge + " (edge never read)"
	}
	state, start := "", from
	if ev, ok, err := db.LastWatchEvent(k.Edge, k.Site, k.Tunnel, from, store.WatchState); err != nil {
		return Row{}, fmt.Errorf("chart %s: %w", k, err)
	} else if ok {
		state = ev.State
	} else if _, ok, err := db.LastWatchEvent(k.Edge, k.Site, k.Tunnel, from, ""); err != nil {
		return Row{}, fmt.Errorf("chart %s: %w", k, err)
	} else if ok {
		state = watch.StateUp // read before, never changed state: up all along
	}
	evs, err := db.WatchEvents(k.Edge, k.Site, k.Tunnel, from, to.Add(time.Nanosecond))
	if err != nil {
		return Row{}, fmt.Errorf("chart %s: %w", k, err)
	}
	var lastFailure string
	for _, ev := range evs {
		if state == "" { // the first reading: up unless a state row says otherwise
			state, start = watch.StateUp, ev.Time
		}
		switch ev.Kind {
		case store.WatchState:
			if ev.State != state {
				row.Spans = append(row.Spans, Span{From: start, To: ev.Time, State: state})
				state, start = ev.State, ev.Time
			}
		case store.WatchDrop:
			row.Drops = append(row.Drops, Mark{At: ev.Time, Note: ev.Note})
		}
		if ev.Sample != nil {
			if f := strings.TrimSpace(ev.Sample.Failure); f != "" && f != lastFailure {
				row.Failures = append(row.Failures, Mark{At: ev.Time, Note: f})
				lastFailure = f
			}
		}
	}
	if state != "" {
		row.Spans = append(row.Spans, Span{From: start, To: to, State: state})
	}
	return row, nil
}

// Tunnels builds the rows of the given tunnels over the last `window` before now.
func Tunnels(db *store.DB, keys []watch.Key, window time.Duration, now time.Time) ([]Row, error) {
	rows := make([]Row, 0, len(keys))
	for _, k := range keys {
		r, err := FromStore(db, k, now.Add(-window), now)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}
