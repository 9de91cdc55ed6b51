// Package storetest damages real store files for tests: it finds a page of a given bbolt
// type and overwrites bytes in it, as a disk or an operator's mistake would.
package storetest

import (
	"bytes"
	"os"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Page returns the id of the first page of bbolt type typ ("leaf", "branch", "freelist")
// in the closed store at path, and the file's page size.
func Page(t testing.TB, path, typ string) (id, pageSize int64) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	id = -1
	err = b.View(func(tx *bolt.Tx) error {
		for i := 2; ; i++ {
			p, err := tx.Page(i)
			if err != nil || p == nil {
				return err
			}
			if p.Type == typ {
				id = int64(i)
				return nil
			}
		}
	})
	if err != nil || id < 0 {
		t.Fatalf("no %s page in %s: %v", typ, path, err)
	}
	return id, int64(b.Info().PageSize)
}

// Overwrite puts data at byte off of the file at path.
func Overwrite(t testing.TB, path string, off int64, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
}

// SmashPage fills the first page of type typ with 0xFF.
func SmashPage(t testing.TB, path, typ string) {
	t.Helper()
	id, ps := Page(t, path, typ)
	Overwrite(t, path, id*ps, bytes.Repeat([]byte{0xFF}, int(ps)))
}
