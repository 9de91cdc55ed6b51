package incident

import (
	"errors"
	"fmt"
	"slices"

	"ipsecbot/store"
)

// ErrRefused is wrapped by the error of a status change the table does not allow.
var ErrRefused = errors.New("status change refused")

// next lists, for each status, the statuses an incident may move to from it. Staying is not a
// move. A diagnosis starts only from open or interrupted (an interrupted incident may be
// diagnosed again) and ends open or interrupted; escalating and resolving are always allowed
// until the incident is resolved. Resolved is final: a tunnel that fails again gets a new
// incident, and the resolved one keeps the record of what was done then.
var next = map[store.Status][]store.Status{
	store.StatusOpen:        {store.StatusDiagnosing, store.StatusEscalated, store.StatusResolved},
	store.StatusDiagnosing:  {store.StatusOpen, store.StatusInterrupted, store.StatusEscalated, store.StatusResolved},
	store.StatusInterrupted: {store.StatusDiagnosing, store.StatusEscalated, store.StatusResolved},
	store.StatusEscalated:   {store.StatusResolved},
	store.StatusResolved:    nil,
}

// Allowed says whether an incident may move from one status to another: nil, or an error
// wrapping ErrRefused that says why not.
func Allowed(from, to store.Status) error {
	switch {
	case from == to:
		return Refuse(ErrRefused, "already %s", to)
	case from == store.StatusResolved:
		return Refuse(ErrRefused, "%s → %s (resolved is final: open a new incident)", from, to)
	case !slices.Contains(next[from], to):
		return Refuse(ErrRefused, "%s → %s", from, to)
	}
	return nil
}

// Refusal is a status change or op that was refused: Kind is the sentinel it matches
// (ErrRefused, ErrBusy, or a caller's own), Reason the sentence for the person who asked.
// Callers show Reason as it is rather than picking the error's text apart.
type Refusal struct {
	Kind   error
	Reason string
}

func (r *Refusal) Error() string { return r.Kind.Error() + ": " + r.Reason }
func (r *Refusal) Unwrap() error { return r.Kind }

// Refuse returns a Refusal of kind whose reason is formatted from format and args.
func Refuse(kind error, format string, args ...any) error {
	return &Refusal{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}
