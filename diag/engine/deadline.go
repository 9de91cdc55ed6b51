package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// errRunDeadline is the cause of every context the run's overall deadline ends, so a step cut
// by it is told apart from one that ran out of its own time.
var errRunDeadline = errors.New("the run's overall deadline passed")

// minCleanup is the least time removing a capture gets, even past the run's deadline: a
// capture left running on the Edge costs more than a run a few seconds late.
const minCleanup = 5 * time.Second

// runBounds split a run's overall deadline, its window plus a fixed budget, into the times its
// parts end by: a hanging Manager, peer or Edge costs the run its budget, never more.
type runBounds struct {
	window, budget time.Duration
	beforeBy       time.Time // the prerequisites (a quarter of the budget)
	collectBy      time.Time // readings, the fetch, the logs (the window and half the budget more)
	deadline       time.Time // the capture removed, the report written (the last quarter)
}

// newRunBounds: budget is the engine's (0: the default); whole, when set, is the request's
// overall deadline and the budget is what it leaves beyond the window.
func newRunBounds(start time.Time, window, budget, whole time.Duration) runBounds {
	if budget <= 0 {
		budget = defaultRunBudget
	}
	if whole > 0 {
		budget = whole - window
		if budget <= 0 {
			budget = whole
		}
	}
	return runBounds{window: window, budget: budget,
		beforeBy:  start.Add(budget / 4),
		collectBy: start.Add(window + budget*3/4),
		deadline:  start.Add(window + budget)}
}

type boundsKey struct{}

// context is the run's context: it ends at collectBy and carries the bounds, so that work
// after the window, which must outlive a cancel, still ends with the run's time.
func (b *runBounds) context(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithDeadlineCause(context.WithValue(parent, boundsKey{}, b), b.collectBy, errRunDeadline)
}

// stepContext bounds one step by its own timeout and, before the window, by the
// prerequisites' share of the budget.
func (b *runBounds) stepContext(parent context.Context, ph phase, timeout time.Duration) (context.Context, context.CancelFunc) {
	dl, cause := time.Now().Add(timeout), error(nil)
	if ph == phaseBefore && b.beforeBy.Before(dl) {
		dl, cause = b.beforeBy, errRunDeadline
	}
	return context.WithDeadlineCause(parent, dl, cause)
}

// boundsOf returns the run's bounds ctx carries, nil when it carries none.
func boundsOf(ctx context.Context) *runBounds {
	b, _ := ctx.Value(boundsKey{}).(*runBounds)
	return b
}

// detached returns a context with ctx's values, none of its cancel, ending after d or at by,
// whichever is first.
func detached(ctx context.Context, d time.Duration, by time.Time) (context.Context, context.CancelFunc) {
	dl, cause := time.Now().Add(d), error(nil)
	if !by.IsZero() && by.Before(dl) {
		dl, cause = by, errRunDeadline
	}
	return context.WithDeadlineCause(context.WithoutCancel(ctx), dl, cause)
}

// cleanupContext bounds removing a capture: cleanupTimeout, within the run's deadline but
// never less than minCleanup.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	var by time.Time
	if b := boundsOf(ctx); b != nil {
		by = b.deadline
		if least := time.Now().Add(minCleanup); by.Before(least) {
			by = least
		}
	}
	return detached(ctx, cleanupTimeout, by)
}

// cut says whether the run's deadline ended ctx.
func (b *runBounds) cut(ctx context.Context) bool {
	if errors.Is(context.Cause(ctx), errRunDeadline) {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl) && (dl.Equal(b.beforeBy) || dl.Equal(b.collectBy))
}

// cutSources names the sources behind the steps that collect something, for the report's
// list of what the deadline cut off. The capture says itself how its window was cut short
// and the review collects nothing: neither is named.
var cutSources = map[string]string{
	"prereq-firewall": "NSX API (firewall config)",
	"prereq-syslog":   "NSX API (syslog config)",
	"prereq-route":    "Edge routes",
	"prereq-mtu":      "Edge pings",
	"step1-logs":      "logs (Edge tech support or show log, peer log)",
	"step2-interop":   "settings of both sites (NSX API, peer)",
	"step4-show":      "Edge show commands",
	"step5-peer":      "peer state",
	"step7-api":       "NSX API (ipsec statistics)",
}

// noteCut records the step's source when the run's deadline ended the step's context before
// the step returned (or as it did: the work inside may see the same deadline a moment first).
func (r *run) noteCut(ctx context.Context, s Step) {
	src, ok := cutSources[s.Name()]
	if !ok || !r.bounds.cut(ctx) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.cut, src) {
		r.cut = append(r.cut, src)
	}
}

// cutLine is the report's sentence about what the deadline cut ("" when nothing).
func (r *run) cutLine(cut []string) string {
	if len(cut) == 0 {
		return ""
	}
	return fmt.Sprintf("cut by the run's deadline (window %s + %s): %s", r.bounds.window, r.bounds.budget, strings.Join(cut, ", "))
}
