package watch

import (
	"context"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"ipsecbot/lab/nsxsim"
	"ipsecbot/store"
)

// Ensure a syslog hint brings the next sweep forward at once (once per EarlySweepGap) and
// leaves its line in the history of the edge's tunnels.
func TestWatcher_HintSweepsAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	synctest.Test(t, func(t *testing.T) {
		src := &timelineSource{tl: nsxsim.Timeline{Start: time.Now(), Tunnels: []nsxsim.TimelineTunnel{{SiteID: "s1", LocalSubnet: "a", PeerSubnet: "b"}}}}
		db, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		w, err := New(Config{Targets: []Target{{Edge: "edge-01", EdgeID: "edge-1", Source: src}}, Store: db,
			Next: func(t time.Time) time.Time { return t.Add(time.Hour) }})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); w.Run(ctx) }()
		time.Sleep(time.Second) // the first sweep
		if n := src.calls.Load(); n != 1 {
			t.Fatalf("%d sweeps at start", n)
		}
		const line = "charon: 09[IKE] giving up after 5 retransmits"
		at := time.Now()
		w.Hint("edge-01", at, line)
		w.Hint("edge-01", at.Add(time.Second), line) // within the gap: no second early sweep
		time.Sleep(time.Second)
		if n := src.calls.Load(); n != 2 {
			t.Fatalf("%d sweeps after two hints, want 2 (one early)", n)
		}
		evs, err := db.WatchEvents("edge-01", "s1", "a-b", at.Add(-time.Minute), at.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		hints := 0
		for _, ev := range evs {
			if ev.Kind == store.WatchHint && ev.Note == line {
				hints++
			}
		}
		if hints != 2 {
			t.Errorf("%d hint rows, want 2: %+v", hints, evs)
		}
		cancel()
		<-done
	})
}
