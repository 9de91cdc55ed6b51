package store

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketWatchAlerts holds the open Slack alert of each tunnel, created on the first write like
// the other watch buckets: edge ‖ 0 ‖ site ‖ 0 ‖ tunnel ‖ 0 -> WatchAlert.
var bucketWatchAlerts = []byte("watch_alerts")

// WatchAlert is a tunnel's open alert in Slack: where it was posted and what it shows, so a
// restart edits the same message and threads under it instead of posting a second alert. What
// did not reach Slack yet is kept here until it does.
type WatchAlert struct {
	header
	Edge   string `json:"edge"`
	Site   string `json:"site"`
	Tunnel string `json:"tunnel"`
	// Channel and TS name the alert's message; TS is empty until the post succeeded.
	Channel string `json:"channel"`
	TS      string `json:"ts,omitempty"`
	// Opened is when the tunnel first went down or unstable for this alert.
	Opened time.Time `json:"opened"`
	// State is the tunnel's latest state the alert knows of, since Since, for Reason.
	State       string    `json:"state"`
	Since       time.Time `json:"since"`
	Reason      string    `json:"reason,omitempty"`
	LastFailure string    `json:"last_failure,omitempty"`
	Drops       int       `json:"drops"` // drops within 24 h before the last change
	// Cleared is set once the tunnel stayed up long enough; the alert is removed when Slack
	// shows it cleared.
	Cleared time.Time `json:"cleared,omitzero"`
	// Pending are thread replies not posted yet; Stale says the message does not show the
	// record yet (an edit failed).
	Pending []string `json:"pending,omitempty"`
	Stale   bool     `json:"stale,omitempty"`
	// Incident is the automatic diagnosis the alert links (INC-n); Diagnosed says it ended,
	// with Cause its verdict's cause (empty: it failed).
	Incident  string `json:"incident,omitempty"`
	Diagnosed bool   `json:"diagnosed,omitempty"`
	Cause     string `json:"cause,omitempty"`
}

// PutWatchAlert writes a tunnel's alert, replacing the one it had.
func (db *DB) PutWatchAlert(a WatchAlert) error {
	k, err := tunnelPrefix(a.Edge, a.Site, a.Tunnel)
	if err != nil {
		return fmt.Errorf("put watch alert: %w", err)
	}
	a.header = current
	v, err := encode(&a)
	if err != nil {
		return fmt.Errorf("put watch alert: %w", err)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketWatchAlerts)
		if err != nil {
			return err
		}
		return b.Put(k, v)
	})
	if err != nil {
		return fmt.Errorf("put watch alert: %w", err)
	}
	return nil
}

// WatchAlert returns a tunnel's alert, or ErrNotFound.
func (db *DB) WatchAlert(edge, site, tunnel string) (WatchAlert, error) {
	k, err := tunnelPrefix(edge, site, tunnel)
	if err != nil {
		return WatchAlert{}, fmt.Errorf("watch alert: %w", err)
	}
	var a WatchAlert
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWatchAlerts)
		if b == nil {
			return ErrNotFound
		}
		v := b.Get(k)
		if v == nil {
			return ErrNotFound
		}
		return decode(v, &a)
	})
	if err != nil {
		return WatchAlert{}, fmt.Errorf("watch alert %s %s %s: %w", edge, site, tunnel, err)
	}
	return a, nil
}

// WatchAlerts returns every open alert, by edge, site and tunnel.
func (db *DB) WatchAlerts() ([]WatchAlert, error) {
	var out []WatchAlert
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWatchAlerts)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var a WatchAlert
			if err := decode(v, &a); err != nil {
				return err
			}
			out = append(out, a)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("watch alerts: %w", err)
	}
	return out, nil
}

// DeleteWatchAlert removes a tunnel's alert (none is not an error).
func (db *DB) DeleteWatchAlert(edge, site, tunnel string) error {
	k, err := tunnelPrefix(edge, site, tunnel)
	if err != nil {
		return fmt.Errorf("delete watch alert: %w", err)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWatchAlerts)
		if b == nil {
			return nil
		}
		return b.Delete(k)
	})
	if err != nil {
		return fmt.Errorf("delete watch alert: %w", err)
	}
	return nil
}

// LastWatchEvent returns a tunnel's latest history row before `before` of the given kind (any
// kind when kind is empty), walking back from `before`; ok is false when there is none.
func (db *DB) LastWatchEvent(edge, site, tunnel string, before time.Time, kind string) (ev WatchEvent, ok bool, err error) {
	prefix, err := tunnelPrefix(edge, site, tunnel)
	if err != nil {
		return WatchEvent{}, false, fmt.Errorf("last watch event: %w", err)
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWatchEvents)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		// The last key before `before`: Seek lands at or after it, so step back once (or
		// start from the end when nothing is at or after it).
		var k, v []byte
		if sk, _ := c.Seek(timeKey(prefix, before)); sk == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+timeLen; k, v = c.Prev() {
			var e WatchEvent
			if err := decode(v, &e); err != nil {
				return err
			}
			if kind == "" || e.Kind == kind {
				e.Time = keyTime(k)
				ev, ok = e, true
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return WatchEvent{}, false, fmt.Errorf("last watch event: %w", err)
	}
	return ev, ok, nil
}
