package engine

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Ensure the overall deadline is the window plus the budget (the engine's, the default, or
// what a request's whole deadline leaves), split a quarter, a half and a quarter; and that a
// context the bounds end says it was the run's deadline.
func TestRunBounds(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name                  string
		window, budget, whole time.Duration
		wantBudget            time.Duration
	}{
		{"default", 30 * time.Second, 0, 0, defaultRunBudget},
		{"engine's", 3 * time.Second, 12 * time.Second, 0, 12 * time.Second},
		{"request's", 2 * time.Second, 12 * time.Second, 10 * time.Second, 8 * time.Second},
		{"request's below the window", 20 * time.Second, 0, 10 * time.Second, 10 * time.Second},
	} {
		b := newRunBounds(start, c.window, c.budget, c.whole)
		if b.budget != c.wantBudget || !b.deadline.Equal(start.Add(c.window+c.wantBudget)) ||
			!b.beforeBy.Equal(start.Add(c.wantBudget/4)) || !b.collectBy.Equal(start.Add(c.window+c.wantBudget*3/4)) {
			t.Errorf("%s: %+v", c.name, b)
		}
	}

	b := newRunBounds(time.Now().Add(-time.Hour), time.Second, 4*time.Second, 0) // long past
	ctx, cancel := b.context(context.Background())
	defer cancel()
	<-ctx.Done()
	if !errors.Is(context.Cause(ctx), errRunDeadline) || !b.cut(ctx) {
		t.Errorf("cause %v, cut %v", context.Cause(ctx), b.cut(ctx))
	}
	after, cancel2 := afterWindowContext(ctx, time.Minute) // detached from the cancel, not from the deadline
	defer cancel2()
	if dl, _ := after.Deadline(); !dl.Equal(b.collectBy) {
		t.Errorf("work after the window ends %v, want the collection deadline %v", dl, b.collectBy)
	}
	clean, cancel3 := cleanupContext(ctx) // the capture's removal gets its minimum even past the deadline
	defer cancel3()
	if dl, _ := clean.Deadline(); time.Until(dl) < minCleanup-time.Second {
		t.Errorf("cleanup ends in %v, want about %v", time.Until(dl), minCleanup)
	}
	own, cancel4 := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel4()
	<-own.Done()
	if b.cut(own) {
		t.Error("a context that ran out of its own time counted as cut by the run's deadline")
	}
}
