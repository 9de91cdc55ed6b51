package store

import (
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// Ensure records written before statuses and kinds were types read the same: an incident with
// a status string and no origin, and timeline entries of kinds no longer written; and that
// the incident can still be changed.
func TestStore_ReadsUntypedRecords(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "bot.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		if _, err := tx.Bucket(bucketIncidents).NextSequence(); err != nil {
			return err
		}
		if err := tx.Bucket(bucketIncidents).Put(u64(1), []byte(`{"v":1,"id":"INC-1","edge":"edge-01","status":"escalated",`+
			`"channel":"C7","created":"2026-11-27T04:00:00Z","updated":"2026-11-27T05:00:00Z"}`)); err != nil {
			return err
		}
		for i, kind := range []string{"started", "handoff", "slack"} {
			v := `{"v":1,"time":"2026-11-27T04:00:00Z","kind":"` + kind + `","text":"entry","actor":"bot"}`
			if err := tx.Bucket(bucketTimeline).Put(seqKey(1, uint64(i+1)), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	inc, err := db.Incident("INC-1")
	if err != nil || inc.Status != StatusEscalated || inc.Origin != "" || inc.Channel != "C7" {
		t.Fatalf("old incident read as %+v, %v", inc, err)
	}
	tl, err := db.Timeline("INC-1")
	if err != nil || len(tl) != 3 || tl[0].Kind != "started" || tl[1].Kind != "handoff" || tl[2].Kind != EventSlack {
		t.Fatalf("old timeline read as %+v, %v", tl, err)
	}
	if list, err := db.Incidents(IncidentFilter{Statuses: []Status{StatusEscalated}}); err != nil || len(list) != 1 {
		t.Errorf("filter on an old status: %+v, %v", list, err)
	}
	if _, err := db.UpdateIncident("INC-1", func(i *Incident) error { i.Status = StatusResolved; return nil }); err != nil {
		t.Errorf("old incident not changed: %v", err)
	}
}
