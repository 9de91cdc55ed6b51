package incident

import (
	"path/filepath"
	"testing"

	"ipsecbot/store"
)

// newLifecycle returns a lifecycle over a new bbolt file in t.TempDir.
func newLifecycle(t *testing.T) *Lifecycle {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "bot.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return New(db, Options{})
}

// incidentAt opens an incident on edge and brings it to status through the lifecycle's own
// moves, as the bot would.
func incidentAt(t *testing.T, l *Lifecycle, edge string, status store.Status) store.Incident {
	t.Helper()
	inc, err := l.Open(Opening{Edge: edge, Requester: "U1", Diagnosing: status != store.StatusOpen})
	if err != nil {
		t.Fatal(err)
	}
	switch status {
	case store.StatusInterrupted:
		inc, err = l.EndDiagnosis(inc.ID, store.StatusInterrupted, Bot, "cut short")
	case store.StatusEscalated, store.StatusResolved:
		inc, err = l.Transition(inc.ID, status, "U1", "")
	}
	if err != nil {
		t.Fatal(err)
	}
	if inc.Status != status {
		t.Fatalf("incident at %s, want %s", inc.Status, status)
	}
	return inc
}

func timeline(t *testing.T, l *Lifecycle, id string) []store.Event {
	t.Helper()
	tl, err := l.Store().Timeline(id)
	if err != nil {
		t.Fatal(err)
	}
	return tl
}
