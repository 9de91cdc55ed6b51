package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Verify checks the store file at path without changing it: the pages bbolt needs to open
// it, bbolt's full consistency check, and that it is a bot store. It returns one line per
// problem found (none: the file is sound), and an error when the file could not be checked
// at all (it does not exist, or another process holds it: ErrInUse).
func Verify(path string, lockTimeout time.Duration) ([]string, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("check store: %w", err)
	}
	if err := preflight(path); err != nil {
		return []string{err.Error()}, nil
	}
	if lockTimeout <= 0 {
		lockTimeout = DefaultLockTimeout
	}
	b, err := openBolt(path, Options{ReadOnly: true, LockTimeout: lockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("check store %s: %w", path, ErrInUse)
	}
	if err != nil {
		return []string{err.Error()}, nil
	}
	defer b.Close()
	problems := pageProblems(b)
	if len(problems) == 0 {
		if err := contained(func() error { return b.View(checkSchema) }); err != nil {
			problems = append(problems, err.Error())
		}
	}
	return problems, nil
}

// pageProblems runs bbolt's consistency check over every page and returns what it found,
// one line each.
func pageProblems(b *bolt.DB) []string {
	var problems []string
	// bbolt's checker trusts the tree's shape, and runs on a goroutine of its own where a
	// fault on a damaged page would end the process: the shape is checked from the file first.
	if why := treeProblem(b.Path()); why != "" {
		return []string{why}
	}
	err := contained(func() error {
		return b.View(func(tx *bolt.Tx) error {
			for err := range tx.Check() { // drain: the checker runs until the channel closes
				problems = append(problems, err.Error())
			}
			return nil
		})
	})
	if err != nil {
		problems = append(problems, err.Error())
	}
	for i, p := range problems {
		problems[i] = strings.Join(strings.Fields(p), " ")
	}
	return problems
}

// Backup writes a consistent copy of the whole store to w from one read transaction, while
// writers go on. It returns the bytes written.
func (db *DB) Backup(w io.Writer) (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("backup: %w", err)
	}
	return n, nil
}

// WriteFileAtomic makes path hold what write writes, or leaves it as it was: write goes to a
// temporary file beside path, which is synced and then renamed over it.
func WriteFileAtomic(path string, write func(w io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o600)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// BackupFile writes a consistent copy of the store to dst (replaced atomically).
func (db *DB) BackupFile(dst string) error {
	if abs, err := filepath.Abs(dst); err == nil && abs == mustAbs(db.path) {
		return fmt.Errorf("backup: %s is the store itself", dst)
	}
	err := WriteFileAtomic(dst, func(w io.Writer) error {
		_, err := db.Backup(w)
		return err
	})
	if err != nil {
		return fmt.Errorf("backup to %s: %w", dst, err)
	}
	return nil
}

func mustAbs(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// Scheduled backups are named backupPrefix + UTC time + backupSuffix, so that names sort by
// time and retention never touches another file in the directory.
const (
	backupPrefix = "bot-"
	backupSuffix = ".db"
	backupStamp  = "20060102T150405Z"
)

// BackupTo writes a timestamped backup into dir and then keeps only the keep newest backups
// there (keep <= 0 keeps them all). It returns the new file's path.
func (db *DB) BackupTo(dir string, keep int, now time.Time) (string, error) {
	path := filepath.Join(dir, backupPrefix+now.UTC().Format(backupStamp)+backupSuffix)
	if err := db.BackupFile(path); err != nil {
		return "", err
	}
	if keep <= 0 {
		return path, nil
	}
	old, err := Backups(dir)
	if err != nil {
		return path, fmt.Errorf("backup retention: %w", err)
	}
	var errs []error
	for _, p := range old[:max(len(old)-keep, 0)] {
		if err := os.Remove(p); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return path, fmt.Errorf("backup retention: %w", err)
	}
	return path, nil
}

// Backups lists the scheduled backups in dir, oldest first.
func Backups(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		stamp, ok := strings.CutPrefix(name, backupPrefix)
		if stamp, ok2 := strings.CutSuffix(stamp, backupSuffix); ok && ok2 && e.Type().IsRegular() {
			if _, err := time.Parse(backupStamp, stamp); err == nil {
				out = append(out, filepath.Join(dir, name))
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// compactTxSize bounds one transaction of Compact's copy, so memory stays flat.
const compactTxSize = 64 << 20

// Compact rewrites the store at path into a new file without its free pages and puts it in
// place atomically. It holds the store's lock throughout, so it fails with ErrInUse while
// the bot runs. The store is verified first: a damaged one is refused, not copied.
func Compact(path string, lockTimeout time.Duration) (before, after int64, err error) {
	problems, err := Verify(path, lockTimeout)
	if err != nil {
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	if len(problems) > 0 {
		return 0, 0, fmt.Errorf("compact %s: %w: %s", path, ErrDamaged, problems[0])
	}
	src, err := Open(path, Options{LockTimeout: lockTimeout})
	if err != nil {
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	defer src.Close()
	st, err := os.Stat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".compact-*")
	if err != nil {
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	tmpPath := tmp.Name()
	tmp.Close()
	os.Remove(tmpPath) // bbolt creates and initialises it itself
	defer os.Remove(tmpPath)
	dst, err := bolt.Open(tmpPath, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, Timeout: lockTimeout})
	if err != nil {
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	if err := bolt.Compact(dst, src.bolt.DB, compactTxSize); err != nil {
		dst.Close()
		return 0, 0, fmt.Errorf("compact %s: %w", path, err)
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	if err := dst.Close(); err != nil {
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	nst, err := os.Stat(tmpPath)
	if err != nil {
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	// Renamed while the old file's lock is still held: no writer can slip in between.
	if err := os.Rename(tmpPath, path); err != nil {
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	return st.Size(), nst.Size(), nil
}
