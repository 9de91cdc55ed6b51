package incident

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"ipsecbot/store"
)

// allowedMoves is the transition table as the package documents it, written out again so
// that a change to the table shows up here.
var allowedMoves = map[[2]store.Status]bool{
	{store.StatusOpen, store.StatusDiagnosing}:        true,
	{store.StatusOpen, store.StatusEscalated}:         true,
	{store.StatusOpen, store.StatusResolved}:          true,
	{store.StatusDiagnosing, store.StatusOpen}:        true,
	{store.StatusDiagnosing, store.StatusInterrupted}: true,
	{store.StatusDiagnosing, store.StatusEscalated}:   true,
	{store.StatusDiagnosing, store.StatusResolved}:    true,
	{store.StatusInterrupted, store.StatusDiagnosing}: true,
	{store.StatusInterrupted, store.StatusEscalated}:  true,
	{store.StatusInterrupted, store.StatusResolved}:   true,
	{store.StatusEscalated, store.StatusResolved}:     true,
}

// Ensure every pair of statuses is allowed or refused as the table says, on a real store: an
// allowed move writes the status and one status entry saying why; a refused one (ErrRefused)
// writes nothing at all.
func TestTransition_Table(t *testing.T) {
	l := newLifecycle(t)
	for _, from := range store.Statuses {
		for _, to := range store.Statuses {
			t.Run(fmt.Sprintf("%s-%s", from, to), func(t *testing.T) {
				inc := incidentAt(t, l, "edge-01", from)
				before := timeline(t, l, inc.ID)
				got, err := l.Transition(inc.ID, to, "U2", "because", Owner("U2"))
				after := timeline(t, l, inc.ID)
				if allowedMoves[[2]store.Status{from, to}] {
					if err != nil || got.Status != to || got.Owner != "U2" {
						t.Fatalf("allowed move: %+v, %v", got, err)
					}
					last := after[len(after)-1]
					if len(after) != len(before)+1 || last.Kind != store.EventStatus || last.Text != "because" || last.Actor != "U2" {
						t.Errorf("timeline after the move: %+v", after)
					}
					return
				}
				if !errors.Is(err, ErrRefused) {
					t.Fatalf("refused move: err = %v, want ErrRefused", err)
				}
				if stored, _ := l.Store().Incident(inc.ID); stored.Status != from || stored.Owner != "" {
					t.Errorf("refused move changed the incident: %+v", stored)
				}
				if len(after) != len(before) {
					t.Errorf("refused move wrote the timeline: %+v", after[len(before):])
				}
			})
		}
	}
}

// Ensure Allowed says why a move is refused: staying put, and leaving resolved, name it.
func TestAllowed_Messages(t *testing.T) {
	for _, tt := range []struct {
		from, to store.Status
		want     string
	}{
		{store.StatusResolved, store.StatusDiagnosing, "status change refused: resolved → diagnosing (resolved is final: open a new incident)"},
		{store.StatusEscalated, store.StatusEscalated, "status change refused: already escalated"},
		{store.StatusEscalated, store.StatusOpen, "status change refused: escalated → open"},
	} {
		if err := Allowed(tt.from, tt.to); err == nil || err.Error() != tt.want {
			t.Errorf("Allowed(%s, %s) = %v, want %q", tt.from, tt.to, err, tt.want)
		}
	}
	if err := Allowed(store.StatusInterrupted, store.StatusDiagnosing); err != nil {
		t.Errorf("an interrupted incident may be diagnosed again: %v", err)
	}
}

// Ensure a diagnosis begins from open and interrupted, runs within diagnosing and escalated
// without moving them, and is refused on a resolved incident; and that it ends open or
// interrupted only from diagnosing, its fields written whatever the status.
func TestBeginEndDiagnosis(t *testing.T) {
	l := newLifecycle(t)
	for _, tt := range []struct {
		from      store.Status
		begin     store.Status // "" when refused
		endAs     store.Status
		afterEnd  store.Status
		statusLog int // status entries written by begin and end together
	}{
		{store.StatusOpen, store.StatusDiagnosing, store.StatusOpen, store.StatusOpen, 2},
		{store.StatusInterrupted, store.StatusDiagnosing, store.StatusInterrupted, store.StatusInterrupted, 2},
		{store.StatusDiagnosing, store.StatusDiagnosing, store.StatusOpen, store.StatusOpen, 2},
		{store.StatusEscalated, store.StatusEscalated, store.StatusOpen, store.StatusEscalated, 1},
		{store.StatusResolved, "", store.StatusOpen, store.StatusResolved, 0},
	} {
		t.Run(string(tt.from), func(t *testing.T) {
			inc := incidentAt(t, l, "edge-01", tt.from)
			n := len(timeline(t, l, inc.ID))
			got, err := l.BeginDiagnosis(inc.ID, "cli", "diagnosis started", Site("branch-fw"))
			switch {
			case tt.begin == "" && !errors.Is(err, ErrRefused):
				t.Fatalf("begin on %s: %v, want ErrRefused", tt.from, err)
			case tt.begin != "" && (err != nil || got.Status != tt.begin || got.Site != "branch-fw"):
				t.Fatalf("begin on %s: %+v %v", tt.from, got, err)
			}
			got, err = l.EndDiagnosis(inc.ID, tt.endAs, "cli", "", Finding("auth_failed", "PSK mismatch"),
				Noting(store.EventFinding, "auth_failed: PSK mismatch"))
			if err != nil || got.Status != tt.afterEnd || got.Cause != "auth_failed" {
				t.Fatalf("end: %+v %v", got, err)
			}
			tl := timeline(t, l, inc.ID)[n:]
			statuses := 0
			for _, e := range tl {
				if e.Kind == store.EventStatus {
					statuses++
				}
			}
			if statuses != tt.statusLog || tl[len(tl)-1].Kind != store.EventFinding {
				t.Errorf("timeline: %+v; want %d status entries, then the finding", tl, tt.statusLog)
			}
		})
	}
	if _, err := l.EndDiagnosis("INC-1", store.StatusResolved, Bot, ""); err == nil {
		t.Error("a diagnosis ended as resolved")
	}
}

// Ensure Open writes the origin and its first entry in one go, and refuses an unknown origin.
func TestOpen(t *testing.T) {
	l := newLifecycle(t)
	auto, err := l.Open(Opening{Origin: store.OriginAutomatic, Edge: "edge-02", Why: "tunnel to branch-fw down for 5 minutes"})
	if err != nil {
		t.Fatal(err)
	}
	manual, err := l.Open(Opening{Edge: "edge-01", Requester: "U1", Channel: "C1", Diagnosing: true})
	if err != nil {
		t.Fatal(err)
	}
	if auto.Status != store.StatusOpen || auto.Origin != store.OriginAutomatic || manual.Status != store.StatusDiagnosing || manual.Origin != store.OriginManual {
		t.Errorf("opened %+v and %+v", auto, manual)
	}
	if tl := timeline(t, l, auto.ID); len(tl) != 1 || tl[0].Kind != store.EventOpened || tl[0].Actor != Bot || tl[0].Text != "tunnel to branch-fw down for 5 minutes" {
		t.Errorf("automatic incident's timeline: %+v", tl)
	}
	if tl := timeline(t, l, manual.ID); len(tl) != 1 || tl[0].Actor != "U1" || tl[0].Text != "opened (manual)" {
		t.Errorf("manual incident's timeline: %+v", tl)
	}
	if _, err := l.Open(Opening{Origin: "guessed", Edge: "edge-01"}); err == nil {
		t.Error("unknown origin accepted")
	}
	if list, _ := l.Store().Incidents(store.IncidentFilter{}); len(list) != 2 {
		t.Errorf("%d incidents, want 2", len(list))
	}
	if _, err := New(nil, Options{}).Open(Opening{Edge: "edge-01"}); err == nil {
		t.Error("a lifecycle without a store opened an incident")
	}
}

// Ensure every kind the bot writes reads back as written, and an unknown kind is refused.
func TestNote_KindsRoundTrip(t *testing.T) {
	l := newLifecycle(t)
	inc := incidentAt(t, l, "edge-01", store.StatusOpen)
	for i, k := range store.EventKinds {
		if err := l.Note(inc.ID, k, fmt.Sprintf("entry %d", i), "U1"); err != nil {
			t.Fatalf("note %s: %v", k, err)
		}
	}
	tl := timeline(t, l, inc.ID)[1:]
	var kinds []store.EventKind
	for i, e := range tl {
		kinds = append(kinds, e.Kind)
		if e.Text != fmt.Sprintf("entry %d", i) || e.Actor != "U1" || e.Time.IsZero() {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
	if !slices.Equal(kinds, store.EventKinds) {
		t.Errorf("kinds read back %v, wrote %v", kinds, store.EventKinds)
	}
	if err := l.Note(inc.ID, "resolved", "old kind", "U1"); err == nil {
		t.Error("a kind the bot no longer writes was accepted")
	}
	if n := len(timeline(t, l, inc.ID)); n != len(store.EventKinds)+1 {
		t.Errorf("the refused note was written: %d entries", n)
	}
}
