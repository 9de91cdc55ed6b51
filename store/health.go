package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// HealthSample is one observation of a tunnel's state by the health sweep.
type HealthSample struct {
	Edge   string    `json:"edge"`
	Site   string    `json:"site"`   // the IPsec site (peer)
	Tunnel string    `json:"tunnel"` // the tunnel within the site, e.g. "10.10.0.0/24-10.20.0.0/24"
	State  string    `json:"state"`  // e.g. "up", "down"
	Time   time.Time `json:"time"`
}

// healthRecord is a sample's stored value; edge, site, tunnel and time are in its key.
type healthRecord struct {
	header
	State string `json:"state"`
}

// healthFillPercent is how full the health bucket's pages are left when they split.
const healthFillPercent = 0.9

// The health key is edge ‖ 0 ‖ site ‖ 0 ‖ tunnel ‖ 0 ‖ unixNano (8 bytes, big-endian), so one
// tunnel's samples are contiguous and in time order: a time range is one Seek.
const timeLen = 8

// AppendHealth stores samples in one transaction. A sample's Time defaults to now; a second
// sample of the same tunnel at the same nanosecond replaces the first.
func (db *DB) AppendHealth(samples ...HealthSample) error {
	type kv struct{ k, v []byte }
	rows := make([]kv, 0, len(samples))
	now := db.now()
	for _, s := range samples {
		if s.Time.IsZero() {
			s.Time = now
		}
		prefix, err := tunnelPrefix(s.Edge, s.Site, s.Tunnel)
		if err != nil {
			return fmt.Errorf("append health: %w", err)
		}
		if s.Time.Before(time.Unix(0, 0)) {
			return fmt.Errorf("append health: time %v is before 1970", s.Time)
		}
		v, err := encode(&healthRecord{current, s.State})
		if err != nil {
			return fmt.Errorf("append health: %w", err)
		}
		rows = append(rows, kv{timeKey(prefix, s.Time), v})
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketHealth)
		// Each sample lands at the end of its tunnel's range and older pages are never written
		// again, so split pages nearly full: this halves the file compared with the default 0.5.
		b.FillPercent = healthFillPercent
		for _, r := range rows {
			if err := b.Put(r.k, r.v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("append health: %w", err)
	}
	return nil
}

// Health returns one tunnel's samples with from <= Time < to, oldest first.
func (db *DB) Health(edge, site, tunnel string, from, to time.Time) ([]HealthSample, error) {
	prefix, err := tunnelPrefix(edge, site, tunnel)
	if err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}
	if from.Before(time.Unix(0, 0)) {
		from = time.Unix(0, 0)
	}
	start, end := timeKey(prefix, from), timeKey(prefix, to)
	var out []HealthSample
	err = db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketHealth).Cursor()
		for k, v := c.Seek(start); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
			state, err := healthState(v)
			if err != nil {
				return err
			}
			out = append(out, HealthSample{Edge: edge, Site: site, Tunnel: tunnel, State: state, Time: keyTime(k)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}
	return out, nil
}

// PruneHealth deletes every sample older than before and returns how many it deleted.
func (db *DB) PruneHealth(before time.Time) (int, error) {
	var n int
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		var err error
		n, err = pruneTimeKeyed(tx.Bucket(bucketHealth), before)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune health: %w", err)
	}
	return n, nil
}

// tunnelPrefix is the key prefix of one tunnel's samples.
func tunnelPrefix(edge, site, tunnel string) ([]byte, error) {
	if edge == "" {
		return nil, errors.New("edge is required")
	}
	if strings.ContainsRune(edge+site+tunnel, 0) {
		return nil, errors.New("edge, site and tunnel must not contain NUL")
	}
	k := make([]byte, 0, len(edge)+len(site)+len(tunnel)+3+timeLen)
	k = append(k, edge...)
	k = append(k, 0)
	k = append(k, site...)
	k = append(k, 0)
	k = append(k, tunnel...)
	return append(k, 0), nil
}

// timeKey appends t's unixNano to prefix; times before 1970 clamp to 0.
func timeKey(prefix []byte, t time.Time) []byte {
	ns := max(t.UnixNano(), 0)
	return binary.BigEndian.AppendUint64(bytes.Clone(prefix), uint64(ns))
}

func keyTime(k []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(k[len(k)-timeLen:]))).UTC()
}

// healthValuePrefix starts every value this version writes; healthState reads those without
// the JSON decoder, which would cost several allocations per sample of a range query.
var healthValuePrefix = fmt.Appendf(nil, `{"v":%d,"state":"`, SchemaVersion)

// healthState decodes a stored sample's state.
func healthState(v []byte) (string, error) {
	if rest, ok := bytes.CutPrefix(v, healthValuePrefix); ok {
		if state, ok := bytes.CutSuffix(rest, []byte(`"}`)); ok && !bytes.ContainsAny(state, "\"\\") {
			switch string(state) { // the common states without an allocation
			case "up":
				return "up", nil
			case "down":
				return "down", nil
			}
			return string(state), nil
		}
	}
	var r healthRecord
	if err := decode(v, &r); err != nil {
		return "", err
	}
	return r.State, nil
}
