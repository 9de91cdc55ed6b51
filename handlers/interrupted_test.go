package handlers

import (
	"strings"
	"testing"

	"ipsecbot/handlers/slacktestx"
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
	inc, err := db.CreateIncident(store.Incident{Edge: "edge-01", Status: store.StatusInterrupted, Channel: "C1", ThreadTS: "1700000000.000009"})
	if err != nil {
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
		return strings.Contains(timelineTexts(tl), interruptionNoted)
	})
	b.stop()

	b = newTestBot(t, dir, &fakeEngine{cause: "auth_failed"}, fake)
	defer b.stop()
	if again, err := b.srv.markInterrupted(); err != nil || len(again) != 0 {
		t.Errorf("at the next start, to note again: %+v %v", again, err)
	}
}

func timelineTexts(tl []store.Event) string {
	var b strings.Builder
	for _, e := range tl {
		b.WriteString(e.Text + "\n")
	}
	return b.String()
}
