package handlers

import (
	"slices"
	"strings"
	"testing"

	"ipsecbot/handlers/slacktestx"
	"ipsecbot/incident"
	"ipsecbot/store"
)

// Ensure an incident the engine marked interrupted (a run cancelled as the bot stopped) whose
// note could not be posted then gets it at the next start, and only once.
func TestStart_NotesInterruptedIncidentsNotYetNoted(t *testing.T) {
	checkLeaks(t)
	dir := t.TempDir()
	db, err := store.Open(testConfig(dir).Store.Path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	incidents := incident.New(db, incident.Options{})
	inc, err := incidents.Open(incident.Opening{Edge: "edge-01", Channel: "C1", Diagnosing: true})
	if err != nil {
		t.Fatal(err)
	}
	if inc, err = incidents.EndDiagnosis(inc.ID, store.StatusInterrupted, incident.Bot, "the diagnosis was interrupted",
		incident.Thread("C1", "1700000000.000009")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	fake := slacktestx.New(t)
	notes := func() int {
		n := 0
		for _, m := range fake.Messages() {
			if m.ThreadTS == inc.ThreadTS && strings.Contains(m.Text, "interrupted") {
				n++
			}
		}
		return n
	}
	b := newTestBot(t, dir, &fakeEngine{cause: "auth_failed"}, fake)
	waitFor(t, "interruption note", func() bool { return notes() == 1 })
	waitFor(t, "the note in the timeline", func() bool {
		tl, _ := b.db.Timeline(inc.ID)
		return slices.ContainsFunc(tl, func(e store.Event) bool { return e.Kind == store.EventInterruptionNoted })
	})
	b.stop()

	b = newTestBot(t, dir, &fakeEngine{cause: "auth_failed"}, fake)
	defer b.stop()
	if again, err := b.srv.markInterrupted(); err != nil || len(again) != 0 {
		t.Errorf("at the next start, to note again: %+v %v", again, err)
	}
}
