package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AuditRecord is one command someone gave the bot, whatever its outcome.
type AuditRecord struct {
	Time    time.Time `json:"time"`
	User    string    `json:"user"`    // Slack user ID, or "cli"
	Channel string    `json:"channel"` // Slack channel ID
	Command string    `json:"command"` // e.g. "diagnose"
	Args    string    `json:"args"`    // as given, secrets already redacted
	Outcome string    `json:"outcome"` // e.g. "ok", "denied", "failed: ..."
}

type auditRecord struct {
	header
	AuditRecord
}

// Audit appends r to the audit log; its Time defaults to now. Records are never changed or deleted.
func (db *DB) Audit(r AuditRecord) error {
	if r.Time.IsZero() {
		r.Time = db.now()
	}
	v, err := encode(&auditRecord{current, r})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		return b.Put(seqKey(uint64(max(r.Time.UnixNano(), 0)), seq), v)
	})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditLog returns the records with from <= Time < to, oldest first.
func (db *DB) AuditLog(from, to time.Time) ([]AuditRecord, error) {
	start := u64(uint64(max(from.UnixNano(), 0)))
	end := u64(uint64(max(to.UnixNano(), 0)))
	var out []AuditRecord
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Seek(start); k != nil && bytes.Compare(k[:8], end) < 0; k, v = c.Next() {
			var r auditRecord
			if err := decode(v, &r); err != nil {
				return fmt.Errorf("audit record at %d: %w", binary.BigEndian.Uint64(k), err)
			}
			out = append(out, r.AuditRecord)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return out, nil
}
