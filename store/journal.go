package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// CaptureJournal records the captures of a process that cannot write the store because
// another one (the running bot) holds it: one file per capture in a directory beside the
// store, locked by the process for as long as it lives. A capture whose file is no longer
// locked belongs to a process that died; whoever holds the store adopts it (Adopt) and its
// capture cleanup then removes it from the Edge.
type CaptureJournal struct {
	dir  string
	mu   sync.Mutex
	held map[string]*os.File // by file name: the locked files of this process
}

// JournalFor is the journal of the store at storePath ("bot.db" -> "bot.db.captures/").
func JournalFor(storePath string) *CaptureJournal {
	return &CaptureJournal{dir: storePath + ".captures", held: map[string]*os.File{}}
}

// Dir is the journal's directory.
func (j *CaptureJournal) Dir() string { return j.dir }

const journalExt = ".json"

func journalName(edge, file string) (string, error) {
	key, err := captureKey(edge, file)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:12]) + journalExt, nil
}

// Put records c before its capture starts and keeps its file locked until Delete or the
// process's end. The file is locked before it gets its name, so no one adopts it half written.
func (j *CaptureJournal) Put(c Capture) error {
	name, err := journalName(c.Edge, c.File)
	if err != nil {
		return fmt.Errorf("journal capture: %w", err)
	}
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("journal capture: %w", err)
	}
	if err := os.MkdirAll(j.dir, 0o700); err != nil {
		return fmt.Errorf("journal capture: %w", err)
	}
	f, err := os.CreateTemp(j.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("journal capture: %w", err)
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("journal capture: %w", err)
	}
	if err := lockFile(f, true); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := os.Rename(f.Name(), filepath.Join(j.dir, name)); err != nil {
		return fail(err)
	}
	j.mu.Lock()
	if old := j.held[name]; old != nil {
		old.Close()
	}
	j.held[name] = f
	j.mu.Unlock()
	return nil
}

// Delete forgets the capture once it is removed from the Edge. Deleting one that is not
// recorded is not an error.
func (j *CaptureJournal) Delete(edge, file string) error {
	name, err := journalName(edge, file)
	if err != nil {
		return fmt.Errorf("journal capture: %w", err)
	}
	err = os.Remove(filepath.Join(j.dir, name))
	j.mu.Lock()
	if f := j.held[name]; f != nil {
		f.Close()
		delete(j.held, name)
	}
	j.mu.Unlock()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("journal capture: %w", err)
	}
	return nil
}

// Adopt moves every capture of a dead process from the journal into db, where the capture
// cleanup finds it, and returns how many. A file still locked (its process lives) is left;
// one that cannot be read is reported and left for a person to look at.
func (j *CaptureJournal) Adopt(db *DB) (int, error) {
	entries, err := os.ReadDir(j.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("capture journal: %w", err)
	}
	n := 0
	var errs []error
	for _, e := range entries {
		ok, err := j.adopt(db, e.Name())
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			n++
		}
	}
	return n, errors.Join(errs...)
}

func (j *CaptureJournal) adopt(db *DB, name string) (bool, error) {
	path := filepath.Join(j.dir, name)
	j.mu.Lock()
	_, ours := j.held[name]
	j.mu.Unlock()
	if ours {
		return false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil // deleted meanwhile
		}
		return false, fmt.Errorf("capture journal: %w", err)
	}
	defer f.Close()
	if err := lockFile(f, false); err != nil {
		return false, nil // its process is alive
	}
	if strings.HasPrefix(name, ".tmp-") {
		// Its process died before the record was complete, so before its capture started.
		return false, os.Remove(path)
	}
	if !strings.HasSuffix(name, journalExt) {
		return false, nil
	}
	var c Capture
	data, err := readAll(f)
	if err == nil {
		err = json.Unmarshal(data, &c)
	}
	if err != nil {
		return false, fmt.Errorf("capture journal %s: %w (left in place)", path, err)
	}
	if err := db.PutCapture(c); err != nil {
		return false, err
	}
	if err := os.Remove(path); err != nil {
		return false, fmt.Errorf("capture journal: %w", err)
	}
	return true, nil
}

// readAll reads the whole (small) journal file.
func readAll(f *os.File) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > 1<<20 {
		return nil, errors.New("larger than any capture record")
	}
	buf := make([]byte, st.Size())
	_, err = f.ReadAt(buf, 0)
	return buf, err
}

// Release closes this process's journal files without deleting them: their locks go, as
// they would with the process, and the holder of the store adopts them.
func (j *CaptureJournal) Release() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	var errs []error
	for name, f := range j.held {
		errs = append(errs, f.Close())
		delete(j.held, name)
	}
	return errors.Join(errs...)
}
