package handlers

import (
	"context"
	"fmt"
	"ipsecbot/diag/fault"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// supervisor owns every goroutine started after an acknowledgement, so shutdown can wait for
// them and nothing outlives the server. A panic in one of them ends that one alone.
type supervisor struct {
	// ctx is the work's context: cancelled (cause errShuttingDown) once the grace is over.
	ctx    context.Context
	cancel context.CancelCauseFunc
	// hard ends when Shutdown gives up waiting: it bounds the wrap-up work does after ctx ends.
	hard     context.Context
	stopHard context.CancelFunc
	log      *slog.Logger

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func newSupervisor(lg *slog.Logger) *supervisor {
	ctx, cancel := context.WithCancelCause(context.Background())
	hard, stopHard := context.WithCancel(context.Background())
	return &supervisor{ctx: ctx, cancel: cancel, hard: hard, stopHard: stopHard, log: lg}
}

// Go runs fn with the supervisor's context; false if the supervisor is shutting down. A
// panic in fn is logged with its stack and handed, as an error, to each onPanic (which
// records the failure of that unit of work and tells its requester); the process goes on.
func (s *supervisor) Go(fn func(ctx context.Context), onPanic ...func(ctx context.Context, err error)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	// Not wg.Go: it re-panics a panic of fn, which ends the process.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := contain(s.log, func() { fn(s.ctx) }); err != nil {
			for _, f := range onPanic {
				if err := contain(s.log, func() { f(s.ctx, err) }); err != nil {
					s.log.Error("reporting a failure panicked too", "err", err)
				}
			}
		}
	}()
	return true
}

// contain runs fn and returns its panic as an error (nil when it returned), after logging it
// with the stack.
func contain(lg *slog.Logger, fn func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error: %v", p)
			lg.Error("recovered from a panic", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	fn()
	return nil
}

// wrapUp returns a context for work that must still happen after ctx (the work's context) was
// cancelled, such as telling Slack what a cut-short run found: it keeps ctx's values, lasts at
// most budget, and ends early if Shutdown stops waiting.
func (s *supervisor) wrapUp(ctx context.Context, budget time.Duration) (context.Context, context.CancelFunc) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	stop := context.AfterFunc(s.hard, cancel)
	return wctx, func() { stop(); cancel() }
}

// Shutdown refuses new work, waits up to grace for running work, then cancels it and waits
// until it has returned (its wrap-up included) or ctx ends; then any wrap-up still going is
// cancelled too, so Shutdown never outlasts ctx by more than a moment.
func (s *supervisor) Shutdown(ctx context.Context, grace time.Duration) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	defer s.stopHard()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		s.cancel(errShuttingDown)
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	s.cancel(errShuttingDown)
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// unitFailed is the onPanic of a command's or button's background work: the failure is
// audited and the requester told through the response_url.
func (s *Server) unitFailed(user, channel, command, args, responseURL string) func(ctx context.Context, err error) {
	return func(ctx context.Context, err error) {
		s.record(user, channel, command, args, outcomeError, err.Error())
		msg := &slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral,
			Text: fmt.Sprintf(":x: `%s` failed. %s", escape(command), escape(fault.Sentence(err)))}
		if err := s.api.respond(ctx, responseURL, msg); err != nil {
			s.log.Error("failure not posted", "command", command, "err", err)
		}
	}
}

// accept starts a command's background work and audits the command as accepted (with
// detail) before the work can begin, so the audit log never shows a command's failure ahead
// of its acceptance. It audits busy and returns false when the bot is shutting down.
func (s *Server) accept(inv Invocation, command, detail string, fn func(ctx context.Context)) bool {
	gate := make(chan struct{})
	started := s.work.Go(func(ctx context.Context) {
		select {
		case <-gate:
			fn(ctx)
		case <-ctx.Done():
		}
	}, s.unitFailed(inv.User, inv.Channel, command, inv.Text, inv.ResponseURL))
	if !started {
		s.record(inv.User, inv.Channel, command, inv.Text, outcomeBusy, "")
		return false
	}
	s.record(inv.User, inv.Channel, command, inv.Text, outcomeOK, detail)
	close(gate)
	return true
}
