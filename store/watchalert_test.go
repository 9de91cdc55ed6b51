package store_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"ipsecbot/store"
)

// Ensure a tunnel's open alert survives reopening the file, is one per tunnel (a second put
// replaces it), and is gone after its deletion; a store without alerts reads as empty.
func TestDB_WatchAlert_OnePerTunnelAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if as, err := db.WatchAlerts(); err != nil || len(as) != 0 {
		t.Fatalf("fresh store: %v %v", as, err)
	}
	if _, err := db.WatchAlert("edge-01", "s", "t"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("fresh store alert: %v, want ErrNotFound", err)
	}
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	a := store.WatchAlert{Edge: "edge-01", Site: "ipsecsite-1", Tunnel: "10.0.0.0/24-10.1.0.0/24", Channel: "CALERT",
		Opened: t0, State: "down", Since: t0, Reason: "down for 2m0s", Drops: 1, Pending: []string{"a reply"}, Stale: true}
	if err := db.PutWatchAlert(a); err != nil {
		t.Fatal(err)
	}
	a.TS, a.Pending, a.Stale = "1700000000.000001", nil, false
	if err := db.PutWatchAlert(a); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = mustOpenAt(t, path)
	all, err := db.WatchAlerts()
	if err != nil || len(all) != 1 {
		t.Fatalf("alerts after reopen: %+v %v", all, err)
	}
	got, err := db.WatchAlert(a.Edge, a.Site, a.Tunnel)
	if err != nil {
		t.Fatal(err)
	}
	if got.TS != a.TS || got.Channel != "CALERT" || got.State != "down" || !got.Opened.Equal(t0) || !got.Since.Equal(t0) ||
		got.Reason != a.Reason || got.Drops != 1 || got.Pending != nil || got.Stale {
		t.Errorf("alert after reopen\n got %+v\nwant %+v", got, a)
	}
	if err := db.DeleteWatchAlert(a.Edge, a.Site, a.Tunnel); err != nil {
		t.Fatal(err)
	}
	if _, err := db.WatchAlert(a.Edge, a.Site, a.Tunnel); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted alert: %v", err)
	}
	if err := db.PutWatchAlert(store.WatchAlert{Site: "s"}); err == nil {
		t.Error("an alert without an edge was stored")
	}
}
