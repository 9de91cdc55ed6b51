package store

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The watcher's buckets. They are created on the first write, so a store that never ran the
// watcher has none and reads as empty.
var (
	bucketWatchTunnels = []byte("watch_tunnels") // edge ‖ 0 ‖ site ‖ 0 ‖ tunnel ‖ 0 -> WatchTunnel
	bucketWatchEvents  = []byte("watch_events")  // edge ‖ 0 ‖ site ‖ 0 ‖ tunnel ‖ 0 ‖ unixNano (8B) -> WatchEvent
)

// WatchSample is one sweep's reading of one tunnel from the Manager's IPsec statistics. Short
// JSON names keep the rows small: a tunnel writes a few hundred of them a day.
type WatchSample struct {
	ChannelStatus string `json:"cs,omitempty"`
	ChannelState  string `json:"cst,omitempty"`
	TunnelStatus  string `json:"ts,omitempty"`
	TunnelState   string `json:"tst,omitempty"`
	Failure       string `json:"fail,omitempty"` // failureMessage (tunnel, else channel, else site)
	Info          string `json:"info,omitempty"` // lastInformationalMessage, same order
	LocalSPI      string `json:"lspi,omitempty"`
	PeerSPI       string `json:"pspi,omitempty"`
	Established   string `json:"est,omitempty"` // establishedDate as NSX writes it
	PacketsIn     uint64 `json:"pin,omitempty"`
	PacketsOut    uint64 `json:"pout,omitempty"`
	BytesIn       uint64 `json:"bin,omitempty"`
	BytesOut      uint64 `json:"bout,omitempty"`
	Errors        uint64 `json:"err,omitempty"` // the tunnel's error counters summed
	// Rekeys sums the edge's IKE rekey counters (ikeInitRekey, ikeRspRekey, ikeChildSaRekey);
	// HasIKE says the document had ikeStatistics at all (6.4.2 and later).
	Rekeys uint64 `json:"rk,omitempty"`
	HasIKE bool   `json:"ike,omitempty"`
}

// Watch event kinds.
const (
	WatchSampled = "sample"  // a periodic sample
	WatchChanged = "change"  // status, state, SPI or a message changed since the last reading
	WatchDrop    = "drop"    // the tunnel went down or was re-established between two sweeps
	WatchRekey   = "rekey"   // new SAs with the rekey counters moving (never a drop)
	WatchState   = "state"   // the watcher's state changed
	WatchUnknown = "unknown" // the edge's API failed
	WatchHint    = "hint"    // the edge's syslog said a tunnel dropped (a charon/pluto line)
)

// WatchEvent is one row of a tunnel's watch history.
type WatchEvent struct {
	header
	Time   time.Time    `json:"-"` // in the key
	Kind   string       `json:"k"`
	State  string       `json:"s,omitempty"`
	Note   string       `json:"n,omitempty"`
	Sample *WatchSample `json:"x,omitempty"`
}

// WatchTunnel is the watcher's lasting state of one tunnel: its state, the hold timers and the
// last reading, so a restart resumes where it stopped.
type WatchTunnel struct {
	header
	Edge   string `json:"edge"`
	Site   string `json:"site"`
	Tunnel string `json:"tunnel"`
	// State is up, down or unstable: the state the readings justify. Unknown (the API
	// failing) is kept apart so the timers go on when the API comes back.
	State string    `json:"state"`
	Since time.Time `json:"since"`
	// UnknownSince is set while the edge's API fails, with the reason.
	UnknownSince  time.Time `json:"unknown_since,omitzero"`
	UnknownReason string    `json:"unknown_reason,omitempty"`
	// DownSince is when the tunnel was first read down (zero while up).
	DownSince time.Time `json:"down_since,omitzero"`
	// StableSince is when the tunnel was last read up after a drop or a down.
	StableSince time.Time `json:"stable_since,omitzero"`
	// Drops are the drop times within the flap window.
	Drops         []time.Time  `json:"drops,omitempty"`
	LastFailure   string       `json:"last_failure,omitempty"`
	LastFailureAt time.Time    `json:"last_failure_at,omitzero"`
	LastSampleAt  time.Time    `json:"last_sample_at,omitzero"` // the last periodic sample row
	LastAt        time.Time    `json:"last_at,omitzero"`        // the last reading
	Last          *WatchSample `json:"last,omitempty"`
}

// Shown is the state to show: unknown while the API fails, else State.
func (t *WatchTunnel) Shown() (string, time.Time) {
	if !t.UnknownSince.IsZero() {
		return "unknown", t.UnknownSince
	}
	return t.State, t.Since
}

// SaveWatch writes a sweep's tunnel states and events in one transaction, and removes the
// states of the tunnels named in removed (edge, site, tunnel); their history stays.
func (db *DB) SaveWatch(tunnels []WatchTunnel, events map[[3]string][]WatchEvent, removed ...[3]string) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		tb, err := tx.CreateBucketIfNotExists(bucketWatchTunnels)
		if err != nil {
			return err
		}
		eb, err := tx.CreateBucketIfNotExists(bucketWatchEvents)
		if err != nil {
			return err
		}
		eb.FillPercent = healthFillPercent // rows land at the end of each tunnel's range
		for _, r := range removed {
			k, err := tunnelPrefix(r[0], r[1], r[2])
			if err != nil {
				return err
			}
			if err := tb.Delete(k); err != nil {
				return err
			}
		}
		for i := range tunnels {
			t := &tunnels[i]
			k, err := tunnelPrefix(t.Edge, t.Site, t.Tunnel)
			if err != nil {
				return err
			}
			t.header = current
			v, err := encode(t)
			if err != nil {
				return err
			}
			if err := tb.Put(k, v); err != nil {
				return err
			}
		}
		for key, evs := range events {
			prefix, err := tunnelPrefix(key[0], key[1], key[2])
			if err != nil {
				return err
			}
			for i := range evs {
				ev := &evs[i]
				ev.header = current
				v, err := encode(ev)
				if err != nil {
					return err
				}
				k := timeKey(prefix, ev.Time)
				for eb.Get(k) != nil { // two events of one sweep: keep both, in order
					k = timeKey(prefix, keyTime(k).Add(time.Nanosecond))
				}
				if err := eb.Put(k, v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save watch: %w", err)
	}
	return nil
}

// WatchTunnels returns every tunnel's watch state, by edge, site and tunnel.
func (db *DB) WatchTunnels() ([]WatchTunnel, error) {
	var out []WatchTunnel
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWatchTunnels)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var t WatchTunnel
			if err := decode(v, &t); err != nil {
				return err
			}
			out = append(out, t)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("watch tunnels: %w", err)
	}
	return out, nil
}

// WatchEvents returns one tunnel's events with from <= Time < to, oldest first.
func (db *DB) WatchEvents(edge, site, tunnel string, from, to time.Time) ([]WatchEvent, error) {
	prefix, err := tunnelPrefix(edge, site, tunnel)
	if err != nil {
		return nil, fmt.Errorf("watch events: %w", err)
	}
	start, end := timeKey(prefix, from), timeKey(prefix, to)
	var out []WatchEvent
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWatchEvents)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(start); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
			var ev WatchEvent
			if err := decode(v, &ev); err != nil {
				return err
			}
			ev.Time = keyTime(k)
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("watch events: %w", err)
	}
	return out, nil
}

// PruneWatch deletes every watch event older than before and returns how many. Tunnel states
// stay: they are one record per tunnel.
func (db *DB) PruneWatch(before time.Time) (int, error) {
	var n int
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWatchEvents)
		if b == nil {
			return nil
		}
		var err error
		n, err = pruneTimeKeyed(b, before)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune watch: %w", err)
	}
	return n, nil
}

// pruneTimeKeyed deletes the rows of a bucket keyed prefix ‖ unixNano older than before. It
// visits only the old part of each prefix's range, and collects keys before deleting them
// (deleting under a moving cursor can skip keys).
func pruneTimeKeyed(b *bolt.Bucket, before time.Time) (int, error) {
	var old [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil; {
		if len(k) <= timeLen {
			return 0, fmt.Errorf("malformed key %q", k)
		}
		if !keyTime(k).Before(before) {
			// The rest of this range is newer: jump to the next prefix.
			next := append(bytes.Clone(k[:len(k)-timeLen]), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
			k, _ = c.Seek(next)
			continue
		}
		old = append(old, bytes.Clone(k))
		k, _ = c.Next()
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(old), nil
}
