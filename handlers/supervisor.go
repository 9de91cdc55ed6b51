package handlers

import (
	"context"
	"sync"
	"time"
)

// supervisor owns every goroutine started after an acknowledgement, so shutdown can wait for
// them and nothing outlives the server.
type supervisor struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func newSupervisor() *supervisor {
	ctx, cancel := context.WithCancel(context.Background())
	return &supervisor{ctx: ctx, cancel: cancel}
}

// Go runs fn with the supervisor's context; false if the supervisor is shutting down.
func (s *supervisor) Go(fn func(ctx context.Context)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Go(func() { fn(s.ctx) })
	return true
}

// Shutdown refuses new work, waits up to grace for running work, then cancels it and waits
// until it has returned or ctx ends.
func (s *supervisor) Shutdown(ctx context.Context, grace time.Duration) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	s.cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
