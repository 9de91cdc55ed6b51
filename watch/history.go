package watch

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"ipsecbot/store"
)

// TunnelHealth is one tunnel's line of `bot health --json`.
type TunnelHealth struct {
	Edge        string    `json:"edge"`
	Site        string    `json:"site"`
	Tunnel      string    `json:"tunnel"`
	State       string    `json:"state"` // up, down, unstable or unknown
	Since       time.Time `json:"since"`
	Drops       int       `json:"drops_24h"` // drops within the report's window (default 24h)
	LastFailure string    `json:"last_failure"`
}

// HealthReport is `bot health --json` and the running bot's GET /health.
type HealthReport struct {
	Tunnels []TunnelHealth `json:"tunnels"`
}

// DefaultHealthWindow is the window drops are counted over.
const DefaultHealthWindow = 24 * time.Hour

// Health reports every tunnel's state (of one edge when edge is not empty) with its drops
// since now-window, from the store.
func Health(db *store.DB, edge string, window time.Duration, now time.Time) (HealthReport, error) {
	tunnels, err := db.WatchTunnels()
	if err != nil {
		return HealthReport{}, err
	}
	rep := HealthReport{Tunnels: []TunnelHealth{}}
	for i := range tunnels {
		t := &tunnels[i]
		if edge != "" && t.Edge != edge {
			continue
		}
		drops, err := CountEvents(db, keyOf(t), store.WatchDrop, now.Add(-window), now)
		if err != nil {
			return HealthReport{}, err
		}
		state, since := t.Shown()
		rep.Tunnels = append(rep.Tunnels, TunnelHealth{Edge: t.Edge, Site: t.Site, Tunnel: t.Tunnel,
			State: state, Since: since.UTC(), Drops: drops, LastFailure: t.LastFailure})
	}
	return rep, nil
}

// CountEvents counts a tunnel's history rows of one kind with from <= time <= to.
func CountEvents(db *store.DB, k Key, kind string, from, to time.Time) (int, error) {
	evs, err := db.WatchEvents(k.Edge, k.Site, k.Tunnel, from, to.Add(time.Nanosecond))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ev := range evs {
		if ev.Kind == kind {
			n++
		}
	}
	return n, nil
}

// historyColumns head the TSV of WriteHistory.
var historyColumns = []string{"time", "edge", "site", "tunnel", "kind", "state", "note", "channel_status", "channel_state",
	"tunnel_status", "tunnel_state", "local_spi", "peer_spi", "established", "packets_in", "packets_out",
	"errors", "ike_rekeys", "failure_message", "informational_message"}

// WriteHistory writes the watch history of the last `window` before now as TSV, of the
// tunnels k selects (Edge required; an empty Site or Tunnel selects all): every state change,
// drop, rekey, change of status, SPI or message (each failure and informational message with
// the time a sweep saw it), periodic sample and API failure, oldest first. It is the proof a
// diagnosis keeps as api/watch-history.tsv.
func WriteHistory(w io.Writer, db *store.DB, k Key, window time.Duration, now time.Time) error {
	if k.Edge == "" {
		return errors.New("watch history: no edge")
	}
	tunnels, err := db.WatchTunnels()
	if err != nil {
		return err
	}
	type row struct {
		key Key
		ev  store.WatchEvent
	}
	var rows []row
	for i := range tunnels {
		tk := keyOf(&tunnels[i])
		if tk.Edge != k.Edge || (k.Site != "" && tk.Site != k.Site) || (k.Tunnel != "" && tk.Tunnel != k.Tunnel) {
			continue
		}
		evs, err := db.WatchEvents(tk.Edge, tk.Site, tk.Tunnel, now.Add(-window), now.Add(time.Nanosecond))
		if err != nil {
			return err
		}
		for _, ev := range evs {
			rows = append(rows, row{tk, ev})
		}
	}
	slices.SortStableFunc(rows, func(a, b row) int { return a.ev.Time.Compare(b.ev.Time) })
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# watch history of %s, %s to %s\n", strings.TrimSpace(k.String()), now.Add(-window).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	fmt.Fprintln(bw, strings.Join(historyColumns, "\t"))
	for _, r := range rows {
		ev := r.ev
		fields := []string{ev.Time.UTC().Format(time.RFC3339Nano), r.key.Edge, r.key.Site, r.key.Tunnel, ev.Kind, ev.State, ev.Note}
		if s := ev.Sample; s != nil {
			fields = append(fields, s.ChannelStatus, s.ChannelState, s.TunnelStatus, s.TunnelState, s.LocalSPI, s.PeerSPI,
				s.Established, fmt.Sprint(s.PacketsIn), fmt.Sprint(s.PacketsOut), fmt.Sprint(s.Errors), rekeys(s), s.Failure, s.Info)
		} else {
			fields = append(fields, make([]string, len(historyColumns)-len(fields))...)
		}
		for i, f := range fields {
			fields[i] = tsvField(f)
		}
		fmt.Fprintln(bw, strings.Join(fields, "\t"))
	}
	return bw.Flush()
}

func rekeys(s *store.WatchSample) string {
	if !s.HasIKE {
		return ""
	}
	return fmt.Sprint(s.Rekeys)
}

// tsvField keeps a field on its line and in its column.
func tsvField(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

// marshalEvent is an event as the store keeps it (for size accounting).
func marshalEvent(ev store.WatchEvent) ([]byte, error) { return json.Marshal(ev) }
