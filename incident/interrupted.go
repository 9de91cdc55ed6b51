package incident

import (
	"slices"

	"ipsecbot/store"
)

// interruptionNoted is the text of the timeline entry (EventInterruptionNoted) that says the
// incident's thread was told its diagnosis was cut short.
const interruptionNoted = "interruption noted in the thread"

// InterruptDiagnosing marks interrupted the incidents still diagnosing whose run is not in
// progress here: their run died with the process that started it. why goes in their timeline.
// It returns them, updated.
func (l *Lifecycle) InterruptDiagnosing(why string) ([]store.Incident, error) {
	if l.db == nil {
		return nil, errNoStore
	}
	incs, err := l.db.Incidents(store.IncidentFilter{Statuses: []store.Status{store.StatusDiagnosing}})
	if err != nil {
		return nil, err
	}
	running := l.runningIncidents()
	var out []store.Incident
	for _, inc := range incs {
		if running[inc.ID] {
			continue
		}
		upd, err := l.EndDiagnosis(inc.ID, store.StatusInterrupted, Bot, why)
		if err != nil {
			return out, err
		}
		out = append(out, upd)
	}
	return out, nil
}

// AwaitingInterruptionNote lists the interrupted incidents with a thread that was not told
// yet (no EventInterruptionNoted in their timeline).
func (l *Lifecycle) AwaitingInterruptionNote() ([]store.Incident, error) {
	if l.db == nil {
		return nil, errNoStore
	}
	incs, err := l.db.Incidents(store.IncidentFilter{Statuses: []store.Status{store.StatusInterrupted}})
	if err != nil {
		return nil, err
	}
	var out []store.Incident
	for _, inc := range incs {
		if inc.Channel == "" || inc.ThreadTS == "" {
			continue
		}
		tl, err := l.db.Timeline(inc.ID)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(tl, func(e store.Event) bool { return e.Kind == store.EventInterruptionNoted }) {
			out = append(out, inc)
		}
	}
	return out, nil
}

// NoteInterruption records that the incident's thread was told its diagnosis was cut short.
func (l *Lifecycle) NoteInterruption(id string) error {
	return l.Note(id, store.EventInterruptionNoted, interruptionNoted, Bot)
}
