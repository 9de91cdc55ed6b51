package engine

import (
	"fmt"
	"io"
	"time"

	"ipsecbot/diag"
	"ipsecbot/watch"
)

// watchHistoryFile is where a diagnosis keeps the tunnel's watch history.
const watchHistoryFile = "api/watch-history.tsv"

// historyWindow is how far back the watch history a diagnosis keeps goes.
const historyWindow = 24 * time.Hour

// watchHistory writes the watcher's history of the run's site (of the whole edge when the
// site is not known to the watcher) for the last historyWindow into the report directory, and
// hands it to the classifier: a drop that is over by now is proven by what the sweeps saw
// while it happened. Without a store or any watch data for the edge, nothing is written.
func (r *run) watchHistory() (*diag.Artifact, error) {
	db := r.e.db
	if db == nil {
		return nil, nil
	}
	tunnels, err := db.WatchTunnels()
	if err != nil {
		return nil, err
	}
	_, siteID := r.edgeSite()
	key := watch.Key{Edge: r.edge.Name}
	found := false
	for _, t := range tunnels {
		if t.Edge != r.edge.Name {
			continue
		}
		found = true
		if t.Site != "" && (t.Site == siteID || (r.peerAddr.IsValid() && t.Site == r.peerAddr.String())) {
			key.Site = t.Site
		}
	}
	if !found {
		return nil, nil
	}
	now := r.e.opts.Now()
	a, err := r.streamArtifact(watchHistoryFile, "api", func(w io.Writer) error {
		return watch.WriteHistory(w, db, key, historyWindow, now)
	})
	if err != nil {
		return nil, fmt.Errorf("watch history: %w", err)
	}
	r.collect(func(c *Collected) { c.History = a.Name; c.HistoryAt = now })
	return &a, nil
}
