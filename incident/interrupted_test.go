package incident

import (
	"slices"
	"testing"

	"ipsecbot/store"
)

// Ensure a start marks interrupted the incidents left diagnosing, except one whose run is in
// progress here; and that the incidents awaiting the interruption note are the interrupted
// ones with a thread and no interruption-noted entry, whatever other entries say in words.
func TestInterruptedNotes(t *testing.T) {
	l := newLifecycle(t)
	withThread := func(inc store.Incident) store.Incident {
		inc, err := l.Update(inc.ID, Bot, Thread("C1", "1700000000.0000"+inc.ID[4:]))
		if err != nil {
			t.Fatal(err)
		}
		return inc
	}
	left := incidentAt(t, l, "edge-01", store.StatusDiagnosing)                   // no thread
	leftThread := withThread(incidentAt(t, l, "edge-02", store.StatusDiagnosing)) // gets marked, then awaits
	waiting := withThread(incidentAt(t, l, "edge-03", store.StatusInterrupted))
	noted := withThread(incidentAt(t, l, "edge-04", store.StatusInterrupted))
	if err := l.NoteInterruption(noted.ID); err != nil {
		t.Fatal(err)
	}
	// The words alone are no note: only the kind counts.
	if err := l.Note(waiting.ID, store.EventSlack, interruptionNoted, Bot); err != nil {
		t.Fatal(err)
	}
	incidentAt(t, l, "edge-05", store.StatusInterrupted) // no thread to note in
	running, _ := l.Claim("edge-06")
	live, err := running.Open(Opening{Requester: "U1"})
	if err != nil {
		t.Fatal(err)
	}

	awaiting, err := l.AwaitingInterruptionNote()
	if err != nil {
		t.Fatal(err)
	}
	if ids := idsOf(awaiting); !slices.Equal(ids, []string{waiting.ID}) {
		t.Errorf("awaiting the note before the start: %v, want %s", ids, waiting.ID)
	}
	marked, err := l.InterruptDiagnosing("the bot stopped while this diagnosis was running")
	if err != nil {
		t.Fatal(err)
	}
	if ids := idsOf(marked); !slices.Equal(ids, []string{leftThread.ID, left.ID}) {
		t.Errorf("marked %v, want %s and %s (newest first)", ids, leftThread.ID, left.ID)
	}
	for _, inc := range marked {
		tl := timeline(t, l, inc.ID)
		if inc.Status != store.StatusInterrupted || tl[len(tl)-1].Text != "the bot stopped while this diagnosis was running" {
			t.Errorf("%s after marking: %s, %+v", inc.ID, inc.Status, tl[len(tl)-1])
		}
	}
	if inc, _ := l.Store().Incident(live.ID); inc.Status != store.StatusDiagnosing {
		t.Errorf("the running diagnosis's incident was marked %s", inc.Status)
	}
	awaiting, _ = l.AwaitingInterruptionNote()
	if ids := idsOf(awaiting); !slices.Equal(ids, []string{waiting.ID, leftThread.ID}) {
		t.Errorf("awaiting the note after the start: %v", ids)
	}
	for _, inc := range awaiting {
		if err := l.NoteInterruption(inc.ID); err != nil {
			t.Fatal(err)
		}
	}
	if awaiting, _ = l.AwaitingInterruptionNote(); len(awaiting) != 0 {
		t.Errorf("awaiting after every note: %v", idsOf(awaiting))
	}
	running.Finish(nil, nil)
}

func idsOf(incs []store.Incident) []string {
	var ids []string
	for _, inc := range incs {
		ids = append(ids, inc.ID)
	}
	return ids
}
