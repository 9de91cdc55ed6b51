package store_test

import (
	"path/filepath"
	"testing"
	"time"

	"ipsecbot/store"
)

// Ensure a store that never ran the watcher reads as empty (also read-only), and that tunnel
// states and history rows round-trip, keep their order within one time, and prune by age.
func TestDB_Watch_SaveReadPrune(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	ro, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if ts, err := ro.WatchTunnels(); err != nil || len(ts) != 0 {
		t.Fatalf("fresh store: %v %v", ts, err)
	}
	if evs, err := ro.WatchEvents("edge-01", "s", "t", time.Time{}, time.Now()); err != nil || len(evs) != 0 {
		t.Fatalf("fresh store events: %v %v", evs, err)
	}
	ro.Close()

	db = mustOpenAt(t, path)
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	tun := store.WatchTunnel{Edge: "edge-01", Site: "ipsecsite-1", Tunnel: "10.0.0.0/24-10.1.0.0/24", State: "unstable", Since: t0,
		DownSince: t0.Add(time.Minute), Drops: []time.Time{t0, t0.Add(time.Minute)}, LastFailure: "Version-IKEv2 Authentication Failed.",
		Last: &store.WatchSample{TunnelStatus: "down", Failure: "Version-IKEv2 Authentication Failed."}}
	key := [3]string{tun.Edge, tun.Site, tun.Tunnel}
	evs := []store.WatchEvent{
		{Time: t0, Kind: store.WatchDrop, Note: "went down", Sample: tun.Last},
		{Time: t0, Kind: store.WatchState, State: "unstable"}, // the same time: both kept, in order
		{Time: t0.Add(2 * time.Hour), Kind: store.WatchSampled, Sample: &store.WatchSample{TunnelStatus: "up", LocalSPI: "c1"}},
	}
	if err := db.SaveWatch([]store.WatchTunnel{tun}, map[[3]string][]store.WatchEvent{key: evs}); err != nil {
		t.Fatal(err)
	}
	got, err := db.WatchTunnels()
	if err != nil || len(got) != 1 {
		t.Fatalf("tunnels: %v %v", got, err)
	}
	if g := got[0]; g.State != "unstable" || !g.DownSince.Equal(tun.DownSince) || len(g.Drops) != 2 || g.Last.Failure != tun.LastFailure {
		t.Errorf("tunnel read back as %+v", g)
	}
	rows, err := db.WatchEvents(tun.Edge, tun.Site, tun.Tunnel, t0, t0.Add(3*time.Hour))
	if err != nil || len(rows) != 3 {
		t.Fatalf("events: %+v %v", rows, err)
	}
	if rows[0].Kind != store.WatchDrop || rows[1].Kind != store.WatchState || !rows[1].Time.After(rows[0].Time) || rows[2].Sample.LocalSPI != "c1" {
		t.Errorf("events read back as %+v", rows)
	}
	n, err := db.PruneWatch(t0.Add(time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("prune: %d %v, want 2", n, err)
	}
	if rows, _ = db.WatchEvents(tun.Edge, tun.Site, tun.Tunnel, time.Time{}, t0.Add(3*time.Hour)); len(rows) != 1 {
		t.Errorf("after prune: %+v", rows)
	}
	if err := db.SaveWatch([]store.WatchTunnel{{Edge: ""}}, nil); err == nil {
		t.Error("a tunnel without an edge was saved")
	}
}

func mustOpenAt(t *testing.T, path string) *store.DB {
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Check(); err != nil {
			t.Errorf("consistency check: %v", err)
		}
		db.Close()
	})
	return db
}
