package chart

import (
	"fmt"
	"io"
	"time"

	"ipsecbot/store"
	"ipsecbot/watch"
)

// MaxRows bounds one chart; more tunnels than this need an edge chosen.
const MaxRows = 50

// Health draws the watched tunnels (of one edge when edge is not empty) over the last
// `window` before now, one row each in the store's order, and returns how many it drew.
func Health(w io.Writer, db *store.DB, edge string, window time.Duration, now time.Time) (int, error) {
	tunnels, err := db.WatchTunnels()
	if err != nil {
		return 0, err
	}
	var keys []watch.Key
	for _, t := range tunnels {
		if edge == "" || t.Edge == edge {
			keys = append(keys, watch.Key{Edge: t.Edge, Site: t.Site, Tunnel: t.Tunnel})
		}
	}
	switch {
	case len(keys) == 0 && edge != "":
		return 0, fmt.Errorf("no tunnels of %s watched yet", edge)
	case len(keys) == 0:
		return 0, fmt.Errorf("no tunnels watched yet")
	case len(keys) > MaxRows:
		return 0, fmt.Errorf("%d tunnels are more than one chart shows (%d): choose an edge", len(keys), MaxRows)
	}
	rows, err := Tunnels(db, keys, window, now)
	if err != nil {
		return 0, err
	}
	title := fmt.Sprintf("IPsec tunnels, last %s", shortDuration(window))
	if edge != "" {
		title = edge + ": " + title
	} else {
		for i, k := range keys { // all edges: each row says its edge
			rows[i].Label = k.Edge + " " + rows[i].Label
		}
	}
	return len(rows), WritePNG(w, title, rows, now.Add(-window), now)
}

// shortDuration writes 24h0m0s as 24h.
func shortDuration(d time.Duration) string {
	s := d.String()
	for _, z := range []string{"m0s", "h0m"} {
		if len(s) > len(z) && s[len(s)-len(z):] == z {
			s = s[:len(s)-len(z)+1]
		}
	}
	return s
}
