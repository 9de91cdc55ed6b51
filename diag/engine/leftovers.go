package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"ipsecbot/config"
	"ipsecbot/store"
)

// Captures left on an Edge: by a process that died during a capture, or by a cleanup that
// failed (the Edge unreachable, its host key changed). The store records every capture until
// the Edge confirms it gone; these are the ways such a record is finished.

// Retrying a cleanup that failed: the first wait is Options.CleanupRetry, doubled each time up
// to cleanupMaxWait, cleanupAttempts times at most (then the next run or start tries again).
const (
	defaultCleanupRetry = 30 * time.Second
	cleanupMaxWait      = 10 * time.Minute
	cleanupAttempts     = 8
)

// CaptureEndpoint is a Connector that can bind the capture's receive endpoint ahead of a
// capture, so a port in use fails the step before the Edge runs anything.
type CaptureEndpoint interface {
	BindCaptureEndpoint(cfg *config.Config, e *config.Edge) error
}

func (e *Engine) captureEndpoint(edgeCfg *config.Edge) error {
	if b, ok := e.opts.Connect.(CaptureEndpoint); ok {
		return b.BindCaptureEndpoint(e.cfg, edgeCfg)
	}
	return nil
}

// lockCaptures serialises the capture records of one edge: a run recording its capture and
// a cleanup finishing a leftover never act on the same record at once.
func (e *Engine) lockCaptures(edgeName string) (unlock func()) {
	v, _ := e.capLocks.LoadOrStore(edgeName, &sync.Mutex{})
	mu := v.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// clearLeftovers stops and removes, over the run's session, every capture of ours the store
// records on the edge's interface (only the files each record says it created), and forgets
// each one the Edge confirms gone. One that cannot be removed stays recorded and fails the
// new capture: the Edge would refuse a second capture on the interface anyway.
func (e *Engine) clearLeftovers(ctx context.Context, cli EdgeCLI, edgeName, iface string, timeline func(kind store.EventKind, text string)) error {
	if e.db == nil {
		return nil
	}
	recs, err := e.db.Captures()
	if err != nil {
		return fmt.Errorf("list recorded captures: %w", err)
	}
	for _, c := range recs {
		if c.Edge != edgeName || c.Interface != iface {
			continue
		}
		if err := cli.AbandonCapture(ctx, iface, c.Before); err != nil {
			return fmt.Errorf("a capture of ours left on %s %s (started %s) could not be removed first: %w (it stays recorded)",
				edgeName, iface, c.Started.UTC().Format(time.RFC3339), err)
		}
		if err := e.db.DeleteCapture(c.Edge, c.File); err != nil {
			return fmt.Errorf("forget the capture left on %s %s: %w", edgeName, iface, err)
		}
		timeline(store.EventCapture, fmt.Sprintf("a capture of ours left on %s %s (started %s) was stopped and its files removed before this one",
			edgeName, iface, c.Started.UTC().Format(time.RFC3339)))
	}
	return nil
}

// abandon stops the capture on the edge's iface and removes the files it created (those not
// in before) over a session of its own.
func (e *Engine) abandon(ctx context.Context, edgeName, iface string, before []string) error {
	edgeCfg, ok := e.cfg.Edge(edgeName)
	if !ok {
		return fmt.Errorf("edge %s is no longer in the inventory", edgeName)
	}
	cli, err := e.opts.Connect.Edge(ctx, e.cfg, edgeCfg)
	if err != nil {
		return err
	}
	defer cli.Close()
	return cli.AbandonCapture(ctx, iface, before)
}

// retryLeftoversLater retries CleanupCaptures in the background with a growing wait, until
// nothing recorded is left or the attempts run out; Close ends it. One retrier at a time.
func (e *Engine) retryLeftoversLater() {
	if e.db == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || e.retrying {
		return
	}
	e.retrying = true
	e.wg.Go(func() {
		defer func() {
			e.mu.Lock()
			e.retrying = false
			e.mu.Unlock()
		}()
		wait := e.opts.CleanupRetry
		for range cleanupAttempts {
			t := time.NewTimer(wait)
			select {
			case <-e.stop:
				t.Stop()
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
			n, err := e.cleanupOnce(ctx)
			cancel()
			if err == nil {
				if n > 0 {
					e.log.Info("captures left on the edges removed on a retry", "count", n)
				}
				return
			}
			e.log.Warn("captures left on the edges could not all be removed; retrying", "cleaned", n, "err", err, "in", 2*wait)
			wait = min(2*wait, cleanupMaxWait)
		}
		e.log.Warn("gave up retrying the cleanup of captures left on the edges: the next start or diagnosis of the edge retries")
	})
}
