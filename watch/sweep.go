package watch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"ipsecbot/diag/nsx"
)

// Source reads an edge's IPsec statistics: *nsx.Client.
type Source interface {
	IPsecStatistics(ctx context.Context, edgeID string) (*nsx.Statistics, []byte, error)
}

var _ Source = (*nsx.Client)(nil)

// Target is one edge to sweep.
type Target struct {
	Edge   string // the configuration's name
	EdgeID string // the NSX edge ID
	Source Source
}

// Sweep defaults.
const (
	DefaultConcurrency = 16
	DefaultTimeout     = 20 * time.Second
)

// SweepOptions bound a sweep.
type SweepOptions struct {
	Concurrency int           // edges read at once (default DefaultConcurrency)
	Timeout     time.Duration // per edge (default DefaultTimeout)
	Jitter      time.Duration // each edge waits a random part of this before its request
}

// EdgeResult is one edge's answer to a sweep: its statistics, or why there are none.
type EdgeResult struct {
	Edge  string
	Stats *nsx.Statistics
	Err   error
	Took  time.Duration
}

// errTimedOut is the reason of an edge that did not answer within the sweep's timeout.
var errTimedOut = errors.New("no answer within the sweep timeout")

// Sweep reads every target's statistics, at most Concurrency at once, and returns one result
// per target in target order. It never waits for an edge longer than its jitter plus Timeout,
// even if the source ignores its context: that edge's result is then a timeout.
func Sweep(ctx context.Context, targets []Target, o SweepOptions) []EdgeResult {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	out := make([]EdgeResult, len(targets))
	slots := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			out[i] = EdgeResult{Edge: t.Edge, Err: context.Cause(ctx)}
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			out[i] = sweepEdge(ctx, t, o)
		})
	}
	wg.Wait()
	return out
}

// sweepEdge reads one edge within the timeout; the read runs on its own goroutine so a source
// that ignores its context costs that goroutine, never the sweep.
func sweepEdge(ctx context.Context, t Target, o SweepOptions) EdgeResult {
	if o.Jitter > 0 {
		select {
		case <-time.After(rand.N(o.Jitter)):
		case <-ctx.Done():
			return EdgeResult{Edge: t.Edge, Err: context.Cause(ctx)}
		}
	}
	start := time.Now()
	ectx, cancel := context.WithTimeoutCause(ctx, o.Timeout, errTimedOut)
	defer cancel()
	type answer struct {
		st  *nsx.Statistics
		err error
	}
	done := make(chan answer, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- answer{err: fmt.Errorf("statistics read panicked: %v", r)}
			}
		}()
		st, _, err := t.Source.IPsecStatistics(ectx, t.EdgeID)
		done <- answer{st, err}
	}()
	select {
	case a := <-done:
		if a.err == nil && a.st == nil {
			a.err = errors.New("no statistics document")
		}
		if a.err != nil && ectx.Err() != nil {
			a.err = fmt.Errorf("%w: %v", context.Cause(ectx), a.err)
		}
		return EdgeResult{Edge: t.Edge, Stats: a.st, Err: a.err, Took: time.Since(start)}
	case <-ectx.Done():
		return EdgeResult{Edge: t.Edge, Err: context.Cause(ectx), Took: time.Since(start)}
	}
}
