package watch

import (
	"time"

	"ipsecbot/store"
)

// hint is a line of an edge's syslog that said a tunnel dropped.
type hint struct {
	at   time.Time
	line string
}

// Hint bounds.
const (
	// maxHints is how many hints of one edge wait for a sweep; more are counted in the last.
	maxHints = 32
	// EarlySweepGap is the least time between two sweeps a hint brings forward.
	EarlySweepGap = 10 * time.Second
)

// Hint tells the watcher that an edge's syslog just said a tunnel dropped (a charon or pluto
// line, as the syslog receiver gets it): every tunnel of the edge gets a history row with the
// line at its time, and the next sweep comes at once (at most one early sweep per
// EarlySweepGap), so the drop is read while it is on. It never blocks.
func (w *Watcher) Hint(edge string, at time.Time, line string) {
	w.mu.Lock()
	hs := w.hints[edge]
	if len(hs) < maxHints {
		w.hints[edge] = append(hs, hint{at: at, line: oneLine(line)})
	}
	early := at.Sub(w.lastEarly) >= EarlySweepGap
	if early {
		w.lastEarly = at
	}
	w.mu.Unlock()
	if early {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// keepHintsLocked adds the waiting hints to the history rows of their edges' tunnels.
func (w *Watcher) keepHintsLocked(events map[[3]string][]store.WatchEvent) {
	for edge, hs := range w.hints {
		for k := range w.tunnels {
			if k.Edge != edge || (k.Site == "" && k.Tunnel == "") {
				continue
			}
			for _, h := range hs {
				events[k.triple()] = append(events[k.triple()], store.WatchEvent{Time: h.at, Kind: store.WatchHint, Note: h.line})
			}
		}
	}
	clear(w.hints)
}
