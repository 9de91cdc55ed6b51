package engine

import (
	"context"
	"fmt"
	"time"
)

// problemWindow is how far back evidence counts.
const problemWindow = 24 * time.Hour

// reviewStep is procedure step 6: review everything collected and name the cause.
type reviewStep struct{}

func (reviewStep) Name() string                 { return "step6-review" }
func (reviewStep) Title() string                { return "Step 6: review logs and outputs, name the cause" }
func (reviewStep) Phase() phase                 { return phaseAfter }
func (reviewStep) Snapshot() bool               { return false }
func (reviewStep) Timeout(r *run) time.Duration { return 2 * shortTimeout(r) }

// classifyGrace bounds classifying after the run was cut short (its context is gone then).
const classifyGrace = 10 * time.Second

func (reviewStep) Run(ctx context.Context, r *run) Outcome {
	if r.ctx.Err() != nil {
		// Cancelled or out of time: classify what was collected, under a short context of
		// its own, rather than lose it.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), classifyGrace)
		defer cancel()
	}
	r.mu.Lock()
	c := r.collected
	// The problem window: the last day before the run, up to its end. A lab's logs are
	// recorded fixtures with their own dates, so the whole of them counts.
	if r.e.cfg.Lab == nil {
		c.Since = r.started.Add(-problemWindow)
	}
	r.mu.Unlock()
	v, err := r.e.opts.Classifier.Classify(ctx, &c)
	if err != nil && v == nil {
		return Outcome{Err: fmt.Errorf("classify: %w", err)}
	}
	r.mu.Lock()
	r.verdict = v
	r.mu.Unlock()
	out := Outcome{Summary: fmt.Sprintf("%s (confidence %.2f): %s", v.Cause, v.Confidence, v.Summary)}
	if err != nil {
		out.Err = err
	}
	return out
}
