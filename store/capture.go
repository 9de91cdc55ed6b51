package store

import (
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Capture is a packet capture running on an Edge. It is recorded before the capture starts
// and deleted once the capture is stopped and its file removed, so a restarted bot can find
// and clean up what a previous run left behind.
type Capture struct {
	Edge      string `json:"edge"`
	Interface string `json:"interface"`
	File      string `json:"file"` // the capture file's name on the Edge (a pattern until the Edge names it)
	// Before lists the Edge's capture files from before the capture started: a cleanup after
	// a restart removes only files of the interface not in it (those this capture created).
	Before   []string  `json:"before,omitempty"`
	Incident string    `json:"incident,omitempty"`
	Started  time.Time `json:"started"`
	// Host, for a capture on one of step 8's hosts (not the Edge): the host's name in the
	// edge's datapath inventory; File is then the capture's path there and PID its process
	// (0 until it runs).
	Host string `json:"host,omitempty"`
	PID  int    `json:"pid,omitempty"`
}

type captureRecord struct {
	header
	Capture
}

// PutCapture records a running capture, replacing any record of the same edge and file.
// Started defaults to now.
func (db *DB) PutCapture(c Capture) error {
	key, err := captureKey(c.Edge, c.File)
	if err != nil {
		return fmt.Errorf("put capture: %w", err)
	}
	if c.Started.IsZero() {
		c.Started = db.now()
	}
	v, err := encode(&captureRecord{current, c})
	if err != nil {
		return fmt.Errorf("put capture: %w", err)
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCaptures).Put(key, v)
	})
}

// DeleteCapture forgets a capture once it is stopped and removed. Deleting one that is not
// recorded is not an error, so cleanup can be retried.
func (db *DB) DeleteCapture(edge, file string) error {
	key, err := captureKey(edge, file)
	if err != nil {
		return fmt.Errorf("delete capture: %w", err)
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCaptures).Delete(key)
	})
}

// Captures lists the recorded captures, by edge then file.
func (db *DB) Captures() ([]Capture, error) {
	var out []Capture
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCaptures).ForEach(func(_, v []byte) error {
			var r captureRecord
			if err := decode(v, &r); err != nil {
				return err
			}
			out = append(out, r.Capture)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("captures: %w", err)
	}
	return out, nil
}

func captureKey(edge, file string) ([]byte, error) {
	if edge == "" || file == "" {
		return nil, errors.New("edge and file are required")
	}
	if strings.ContainsRune(edge, 0) || strings.ContainsRune(file, 0) {
		return nil, errors.New("edge and file must not contain NUL")
	}
	return []byte(edge + "\x00" + file), nil
}
