package store_test

import (
	"os"
	"path/filepath"
	"testing"

	"ipsecbot/store"
)

// Ensure the journal's entry of a live holder is never adopted, a released one is adopted into
// the store once, and an entry that is not a capture record is reported and left in place.
func TestCaptureJournal_AdoptsOnlyReleasedEntries(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "bot.db")
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := store.Capture{Edge: "edge-01", Interface: "vNic_0", File: "tcpdump_vNic_0.*", Before: []string{"tcpdump_vNic_0.0"}}

	live := store.JournalFor(dbPath) // the other process's, holding its entry's lock
	if err := live.Put(c); err != nil {
		t.Fatal(err)
	}
	holder := store.JournalFor(dbPath)
	if n, err := holder.Adopt(db); n != 0 || err != nil {
		t.Fatalf("adopted %d (%v) while its process holds it", n, err)
	}
	// The lock goes with the open file, as it does when the process dies.
	if err := live.Release(); err != nil {
		t.Fatal(err)
	}
	if n, err := holder.Adopt(db); n != 1 || err != nil {
		t.Fatalf("adopted %d (%v), want 1", n, err)
	}
	recs, err := db.Captures()
	if err != nil || len(recs) != 1 || recs[0].Edge != c.Edge || recs[0].File != c.File || len(recs[0].Before) != 1 {
		t.Fatalf("store records %+v %v", recs, err)
	}
	if n, err := holder.Adopt(db); n != 0 || err != nil {
		t.Errorf("second adopt: %d %v", n, err)
	}

	bad := filepath.Join(holder.Dir(), "0123.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := holder.Adopt(db); n != 0 || err == nil {
		t.Errorf("adopt of a damaged entry: %d %v, want an error", n, err)
	}
	if _, err := os.Stat(bad); err != nil {
		t.Errorf("the damaged entry was not left in place: %v", err)
	}
}

// Ensure Delete removes the entry and deleting an unknown one is no error.
func TestCaptureJournal_Delete(t *testing.T) {
	j := store.JournalFor(filepath.Join(t.TempDir(), "bot.db"))
	if err := j.Delete("edge-01", "x"); err != nil {
		t.Fatal(err)
	}
	if err := j.Put(store.Capture{Edge: "edge-01", Interface: "vNic_0", File: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := j.Delete("edge-01", "x"); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(j.Dir()); len(entries) != 0 {
		t.Errorf("journal holds %d entries after Delete", len(entries))
	}
}
