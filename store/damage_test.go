package store_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ipsecbot/store"
)

// Ensure random damage to a real store (a few bytes anywhere) never makes Open or a read
// panic, fault or hang: each file is opened, read-only and writable, within a watchdog.
func TestOpen_RandomDamage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "seed.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := db.CreateIncident(store.Incident{Edge: "edge-01"}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	seed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		bad := bytes.Clone(seed)
		for range 1 + r.IntN(4) {
			bad[r.IntN(len(bad))] = byte(r.IntN(256))
		}
		p := filepath.Join(dir, "x.db")
		if err := os.WriteFile(p, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for _, ro := range []bool{true, false} {
				db, err := store.Open(p, store.Options{ReadOnly: ro, LockTimeout: 100 * time.Millisecond})
				if err == nil {
					db.Incidents(store.IncidentFilter{})
					db.Close()
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("mutation %d: Open or a read did not return within 5 s", i)
		}
	}
}
