// Package store keeps the bot's state in one bbolt file: incidents with their timelines and
// artifacts, active captures, tunnel health samples and the audit log.
//
//   - One process at a time: Open waits at most Options.LockTimeout for the file lock and then
//     fails with ErrInUse instead of hanging.
//   - Every write is one transaction, synced before it returns; after a crash the file opens at
//     the last committed write.
//   - Keys are big-endian so cursors walk in numeric and time order; values are JSON with a "v"
//     schema field.
//   - No bbolt slice escapes a transaction: values are decoded, keys copied.
package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout this package reads and writes. A file of a newer version is
// refused rather than misread.
const SchemaVersion = 1

// Errors returned by Open.
var (
	// ErrInUse is returned when another process (normally the running bot) holds the file.
	ErrInUse = errors.New("database is in use by another process")
	// ErrNewerSchema is returned for a file written by a newer version of the bot.
	ErrNewerSchema = errors.New("database was written by a newer version of the bot")
)

// ErrNotFound is returned when an incident or record does not exist.
var ErrNotFound = errors.New("not found")

// Bucket names.
var (
	bucketMeta      = []byte("meta")
	bucketIncidents = []byte("incidents") // incident number (8B) -> Incident
	bucketTimeline  = []byte("timeline")  // incident number (8B) ‖ sequence (8B) -> Event
	bucketArtifacts = []byte("artifacts") // incident number (8B) ‖ sequence (8B) -> Artifact
	bucketCaptures  = []byte("captures")  // edge ‖ 0 ‖ file -> Capture
	bucketHealth    = []byte("health")    // edge ‖ 0 ‖ site ‖ 0 ‖ tunnel ‖ 0 ‖ unixNano (8B) -> state
	bucketAudit     = []byte("audit")     // unixNano (8B) ‖ sequence (8B) -> AuditRecord

	allBuckets = [][]byte{bucketMeta, bucketIncidents, bucketTimeline, bucketArtifacts, bucketCaptures, bucketHealth, bucketAudit}

	keySchema = []byte("schema")
)

// DefaultLockTimeout is how long Open waits for another process to let go of the file.
const DefaultLockTimeout = 2 * time.Second

// Options tune Open.
type Options struct {
	// LockTimeout bounds the wait for the file lock (default DefaultLockTimeout). bbolt itself
	// would wait forever; we never do.
	LockTimeout time.Duration
	// ReadOnly opens the file for reading only, with a shared lock. A writer still blocks it.
	ReadOnly bool
}

// DB is an open store. Its methods are safe for concurrent use.
type DB struct {
	bolt guarded
	path string

	// Now stamps records whose time is unset. Tests may replace it before use.
	Now func() time.Time
}

// Open opens or creates the store at path, creating its directory and buckets as needed.
// It refuses an existing 0-byte file (ErrEmpty) and a damaged one (ErrDamaged) with one line
// saying what to do. The pages bbolt reads to open a file are checked for every open; a
// writable open also runs bbolt's consistency check over the whole file.
func Open(path string, opts Options) (*DB, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	// A 0-byte or broken file is refused before bbolt sees it: bbolt would initialise the
	// first (losing every record for good) and panic on the second.
	if err := preflight(path); err != nil {
		return nil, refusal(path, err)
	}
	b, err := openBolt(path, opts)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: %w", path, ErrInUse)
	}
	if err != nil {
		return nil, refusal(path, err)
	}
	// The tree's shape is checked once at open (a page referenced twice would make a later
	// read loop forever, an element past its page make it fault), and a writer (the bot)
	// also runs bbolt's full check: a damaged page found later would panic under whichever
	// read or write touched it first. Readers skip the full check (about 4 s for 4M health
	// samples, BenchmarkFullCheck; the shape alone takes 1.5 s, BenchmarkOpen); the guard
	// turns a panic on a page they touch into an error.
	problems := func() []string {
		if !opts.ReadOnly {
			return pageProblems(b) // the shape first, then bbolt's check
		}
		if why := treeProblem(path); why != "" {
			return []string{why}
		}
		return nil
	}()
	if len(problems) > 0 {
		b.Close()
		return nil, refusal(path, fmt.Errorf("%w: %s (%d problem(s) in all)", ErrDamaged, problems[0], len(problems)))
	}
	db := &DB{bolt: guarded{b}, path: path, Now: time.Now}
	err = contained(func() error {
		if opts.ReadOnly {
			return b.View(checkSchema)
		}
		return b.Update(initSchema)
	})
	if err != nil {
		b.Close()
		return nil, refusal(path, err)
	}
	return db, nil
}

// guarded is the bbolt handle with bbolt's panics (its answer to a damaged page) turned into
// errors wrapping ErrDamaged: one bad page fails the call that touched it, not the process.
type guarded struct{ *bolt.DB }

func (g guarded) View(fn func(*bolt.Tx) error) error {
	return contained(func() error { return g.DB.View(fn) })
}

func (g guarded) Update(fn func(*bolt.Tx) error) error {
	return noRoom(contained(func() error { return g.DB.Update(fn) }))
}

// openBolt is bolt.Open with its panics on a damaged file turned into ErrDamaged. (After
// such a panic bbolt's file handle stays open: the process is about to report and stop.)
func openBolt(path string, opts Options) (b *bolt.DB, err error) {
	err = contained(func() error {
		b, err = bolt.Open(path, 0o600, &bolt.Options{
			Timeout:      opts.LockTimeout,
			ReadOnly:     opts.ReadOnly,
			FreelistType: bolt.FreelistMapType,
		})
		return err
	})
	return b, err
}

// contained runs fn and turns a bbolt panic (its answer to a page it cannot make sense of)
// into an error wrapping ErrDamaged.
func contained(fn func() error) (err error) {
	// A damaged page can point bbolt past its memory map: a fault, fatal unless this
	// goroutine turns it into a panic.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrDamaged, p)
		}
	}()
	return fn()
}

// refusal is Open's one-line error, with what the operator can do about a file it refuses.
func refusal(path string, err error) error {
	switch {
	case errors.Is(err, ErrEmpty):
		return fmt.Errorf("open store %s: %w: its incidents and audit log are gone; restore it from a backup, or delete the file to start an empty store", path, err)
	case errors.Is(err, ErrDamaged), errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch):
		if !errors.Is(err, ErrDamaged) {
			err = fmt.Errorf("%w: %w", ErrDamaged, err)
		}
		return fmt.Errorf("open store %s: %w; restore it from a backup (`bot store check` lists the problems)", path, err)
	}
	return fmt.Errorf("open store %s: %w", path, noRoom(err))
}

// Close releases the file and its lock.
func (db *DB) Close() error { return db.bolt.Close() }

// Path is the file the store lives in.
func (db *DB) Path() string { return db.path }

// Check runs bbolt's consistency check over the whole file.
func (db *DB) Check() error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() { // drain: the checker runs until the channel closes
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

// initSchema creates every bucket and records the schema version of a new file.
func initSchema(tx *bolt.Tx) error {
	if err := checkSchema(tx); err != nil {
		return err
	}
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	if meta.Get(keySchema) == nil {
		return meta.Put(keySchema, u64(SchemaVersion))
	}
	return nil
}

// checkSchema refuses a file whose schema version is newer than this package's.
func checkSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if tx.Writable() {
			return nil // a new file; initSchema sets it up
		}
		return errors.New("not a bot store (no meta bucket)")
	}
	v := meta.Get(keySchema)
	if len(v) != 8 {
		return errors.New("not a bot store (no schema version)")
	}
	if n := binary.BigEndian.Uint64(v); n > SchemaVersion {
		return fmt.Errorf("%w (schema %d, this build reads up to %d)", ErrNewerSchema, n, SchemaVersion)
	}
	return nil
}

// now returns the store's clock reading in UTC.
func (db *DB) now() time.Time { return db.Now().UTC() }

// u64 encodes n as 8 big-endian bytes.
func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// header is the schema field every stored value carries.
type header struct {
	V int `json:"v"`
}

func (h header) schema() int { return h.V }

// current is the header of values written now.
var current = header{V: SchemaVersion}

// versioned is a pointer to a stored record type, which embeds header.
type versioned interface{ schema() int }

// encode marshals a record for storage.
func encode(v versioned) ([]byte, error) { return json.Marshal(v) }

// decode unmarshals a stored record and refuses one written with a newer schema.
func decode(data []byte, v versioned) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode record: %w", err)
	}
	if n := v.schema(); n > SchemaVersion {
		return fmt.Errorf("decode record: %w (record version %d)", ErrNewerSchema, n)
	}
	return nil
}

// seqKey is an 8-byte prefix followed by an 8-byte sequence number.
func seqKey(prefix, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(u64(prefix), seq)
}

// appendUnder adds a record under an existing incident in bucket (timeline, artifacts); the
// bucket's sequence keeps them in the order they were added.
func (db *DB) appendUnder(bucket []byte, id string, rec versioned) error {
	v, err := encode(rec)
	if err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		n, err := requireIncident(tx, id)
		if err != nil {
			return err
		}
		b := tx.Bucket(bucket)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		return b.Put(seqKey(n, seq), v)
	})
}

// listUnder calls fn with each record under an existing incident in bucket, oldest first.
func (db *DB) listUnder(bucket []byte, id string, fn func(v []byte) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		n, err := requireIncident(tx, id)
		if err != nil {
			return err
		}
		prefix := u64(n)
		c := tx.Bucket(bucket).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if err := fn(v); err != nil {
				return err
			}
		}
		return nil
	})
}
