package store_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ipsecbot/store"
	"ipsecbot/store/storetest"
)

// populated writes a store with a few incidents and audit records and closes it.
func populated(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bot.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := db.CreateIncident(store.Incident{Edge: "edge-01", Summary: strings.Repeat("x", 200)}); err != nil {
			t.Fatal(err)
		}
		if err := db.Audit(store.AuditRecord{User: "U1", Command: "diagnose", Args: strings.Repeat("a", i*10)}); err != nil {
			t.Fatal(err)
		}
	}
	// Free some pages, so the freelist page has content.
	if _, err := db.UpdateIncident("INC-1", func(inc *store.Incident) error { inc.Summary = "short"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// Ensure a store whose freelist page was overwritten is refused with ErrDamaged, on one line
// that says what to do, where bbolt itself panics with "invalid freelist page".
func TestOpen_DamagedFreelistRefused(t *testing.T) {
	path := populated(t)
	id, ps := storetest.Page(t, path, "freelist")
	flags := binary.LittleEndian.AppendUint16(nil, 0x02) // now a "leaf"
	storetest.Overwrite(t, path, id*ps+8, flags)
	before, _ := os.ReadFile(path)
	for _, ro := range []bool{false, true} {
		db, err := store.Open(path, store.Options{ReadOnly: ro})
		if err == nil {
			db.Close()
			t.Fatalf("ReadOnly=%v: a damaged store opened", ro)
		}
		if !errors.Is(err, store.ErrDamaged) || strings.Contains(err.Error(), "\n") ||
			!strings.Contains(err.Error(), "restore it from a backup") || !strings.Contains(err.Error(), "freelist page") {
			t.Errorf("ReadOnly=%v: err = %q", ro, err)
		}
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("the refused file was changed")
	}
	problems, err := store.Verify(path, time.Second)
	if err != nil || len(problems) != 1 || !strings.Contains(problems[0], "freelist page") {
		t.Errorf("Verify = %q, %v", problems, err)
	}
}

// Ensure a store with both meta pages overwritten is refused, and so is a truncated one.
func TestOpen_DamagedMetaRefused(t *testing.T) {
	path := populated(t)
	_, ps := storetest.Page(t, path, "freelist")
	junk := bytes.Repeat([]byte{0xA5}, 64)
	storetest.Overwrite(t, path, 16, junk)
	storetest.Overwrite(t, path, ps+16, junk)
	if _, err := store.Open(path, store.Options{}); !errors.Is(err, store.ErrDamaged) {
		t.Errorf("both metas overwritten: err = %v", err)
	}

	path = populated(t)
	if err := os.Truncate(path, 3*ps); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(path, store.Options{}); !errors.Is(err, store.ErrDamaged) {
		t.Errorf("truncated file: err = %v", err)
	}
}

// Ensure an existing 0-byte store is refused and left as it is, not replaced by an empty store.
func TestOpen_EmptyFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		db, err := store.Open(path, store.Options{ReadOnly: ro})
		if err == nil {
			db.Close()
			t.Fatalf("ReadOnly=%v: an empty file opened", ro)
		}
		if !errors.Is(err, store.ErrEmpty) || !strings.Contains(err.Error(), "restore it from a backup") {
			t.Errorf("ReadOnly=%v: err = %q", ro, err)
		}
	}
	if st, err := os.Stat(path); err != nil || st.Size() != 0 {
		t.Errorf("the empty file was changed: %v %v", st, err)
	}
	problems, err := store.Verify(path, time.Second)
	if err != nil || len(problems) != 1 || !strings.Contains(problems[0], "empty") {
		t.Errorf("Verify = %q, %v", problems, err)
	}
}

// Ensure a leaf page overwritten in the middle of the file, which opens, is found by Verify.
func TestVerify_DamagedLeaf(t *testing.T) {
	path := populated(t)
	if problems, err := store.Verify(path, time.Second); err != nil || len(problems) != 0 {
		t.Fatalf("sound store: %q, %v", problems, err)
	}
	storetest.SmashPage(t, path, "leaf")
	problems, err := store.Verify(path, time.Second)
	if err != nil || len(problems) == 0 {
		t.Fatalf("Verify = %q, %v", problems, err)
	}
	for _, p := range problems {
		if strings.Contains(p, "\n") {
			t.Errorf("problem on several lines: %q", p)
		}
	}
	if _, err := store.Verify(filepath.Join(t.TempDir(), "none.db"), time.Second); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// Ensure a backup taken while the store is being written is a sound store with every record
// committed before it, and scheduled backups keep only the newest.
func TestDB_BackupWhileWriting(t *testing.T) {
	db := mustOpen(t)
	for range 50 {
		if _, err := db.CreateIncident(store.Incident{Edge: "edge-01"}); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	wrote := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				wrote <- nil
				return
			default:
			}
			if err := db.Audit(store.AuditRecord{User: "U1", Command: "diagnose"}); err != nil {
				wrote <- err
				return
			}
		}
	}()
	dir := t.TempDir()
	var paths []string
	for i := range 4 {
		p, err := db.BackupTo(dir, 2, t0.Add(time.Duration(i)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	close(stop)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	kept, err := store.Backups(dir)
	if err != nil || len(kept) != 2 || kept[0] != paths[2] || kept[1] != paths[3] {
		t.Fatalf("kept %q (%v), want the last two of %q", kept, err, paths)
	}
	if problems, err := store.Verify(kept[1], time.Second); err != nil || len(problems) != 0 {
		t.Fatalf("backup not sound: %q, %v", problems, err)
	}
	b, err := store.Open(kept[1], store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Incident("INC-50"); err != nil {
		t.Errorf("backup lacks INC-50: %v", err)
	}
	if err := db.BackupFile(db.Path()); err == nil {
		t.Error("a backup over the store itself was allowed")
	}
}

// Ensure Compact keeps every record, shrinks a file with free pages, and is refused while the
// store is open elsewhere (the running bot) and for a damaged store.
func TestCompact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 300 {
		if err := db.AppendHealth(store.HealthSample{Edge: "e", Site: "s", Tunnel: "t", State: "up"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.CreateIncident(store.Incident{Edge: "edge-01"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PruneHealth(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Compact(path, 200*time.Millisecond); !errors.Is(err, store.ErrInUse) {
		t.Errorf("compact while open: %v", err)
	}
	db.Close()
	before, after, err := store.Compact(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if after >= before {
		t.Errorf("compact: %d -> %d bytes", before, after)
	}
	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Incident("INC-1"); err != nil {
		t.Errorf("after compact: %v", err)
	}
	if inc, err := db.CreateIncident(store.Incident{Edge: "edge-01"}); err != nil || inc.ID != "INC-2" {
		t.Errorf("sequence after compact: %+v, %v", inc, err)
	}
	db.Close()

	storetest.SmashPage(t, path, "leaf")
	if _, _, err := store.Compact(path, time.Second); !errors.Is(err, store.ErrDamaged) {
		t.Errorf("compact of a damaged store: %v", err)
	}
}

// BenchmarkOpen opens the 4M-sample fleet file read-only: the tree's shape is checked.
func BenchmarkOpen(b *testing.B) {
	fleetOnce.Do(buildFleet)
	if fleetErr != nil {
		b.Fatal(fleetErr)
	}
	for b.Loop() {
		db, err := store.Open(fleetPath, store.Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
}

// BenchmarkFullCheck runs bbolt's whole-file check over the 4M-sample fleet file: what a
// writable Open (the bot's start) and Verify cost.
func BenchmarkFullCheck(b *testing.B) {
	fleetOnce.Do(buildFleet)
	if fleetErr != nil {
		b.Fatal(fleetErr)
	}
	if st, err := os.Stat(fleetPath); err == nil {
		b.ReportMetric(float64(st.Size())/(1<<20), "MiB")
	}
	for b.Loop() {
		if problems, err := store.Verify(fleetPath, time.Second); err != nil || len(problems) > 0 {
			b.Fatal(problems, err)
		}
	}
}

// Ensure a store with a smashed leaf is refused by a writable and a read-only open alike.
func TestOpen_DamagedLeafRefused(t *testing.T) {
	path := populated(t)
	storetest.SmashPage(t, path, "leaf")
	for _, ro := range []bool{false, true} {
		if _, err := store.Open(path, store.Options{ReadOnly: ro}); !errors.Is(err, store.ErrDamaged) {
			t.Errorf("ReadOnly=%v: %v", ro, err)
		}
	}
}

// FuzzOpen: whatever bytes the file holds, Open either opens it or returns an error; it never
// panics. Seeds: a real store, and that store with its meta, freelist or a leaf page changed.
func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	for range 5 {
		if _, err := db.CreateIncident(store.Incident{Edge: "edge-01"}); err != nil {
			f.Fatal(err)
		}
	}
	db.Close()
	seed, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	for _, off := range []int{16, 4096 + 16, 2 * 4096, 3 * 4096, 4*4096 + 8} {
		if off < len(seed) {
			bad := bytes.Clone(seed)
			bad[off] ^= 0xFF
			f.Add(bad)
		}
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "bot.db")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, ro := range []bool{true, false} {
			db, err := store.Open(p, store.Options{ReadOnly: ro, LockTimeout: 100 * time.Millisecond})
			if err == nil {
				_, _ = db.Incidents(store.IncidentFilter{})
				db.Close()
			}
		}
	})
}
