package engine

import (
	"context"
	"fmt"
	"ipsecbot/diag"
	"time"
)

// windowTimer closes windowEnd window after the window opened, or as soon as the run is cut
// short (cancelled or out of time): the end-of-window readings, the capture's fetch and the
// logs then go ahead on contexts of their own (afterWindow) with what the window had.
func (r *run) windowTimer() {
	defer close(r.windowEnd)
	select {
	case <-r.windowOpen:
	case <-r.ctx.Done():
		return
	}
	t := time.NewTimer(r.window)
	defer t.Stop()
	// The poll lives as long as the window: cancelled (its session closed) the moment the
	// window ends, before windowEnd is closed, so nothing after the window waits on it.
	pctx, stopPoll := context.WithCancel(r.pollsCtx)
	defer stopPoll()
	poll := r.pollWindow(pctx)
	done := make(chan struct{})
	defer close(done)
	go countdown(done, time.Now().Add(r.window), r.e.opts.WindowTick, func(left int) {
		poll.ask() // read for the next tick; this one tells what the last poll read
		r.emit(windowEvent(left, poll.latest()))
	})
	select {
	case <-t.C:
	case <-r.ctx.Done():
	}
}

// windowEvent is one tick of the window's countdown with what the Edge counted so far.
func windowEvent(left int, seen string) diag.Event {
	sum := fmt.Sprintf("capture window: %ds left", left)
	if seen != "" {
		sum += " · " + seen
	}
	return diag.Event{Kind: diag.EventWindow, WindowLeftS: left, WindowSeen: seen, Summary: sum}
}

// defaultWindowTick is how often the window's countdown is told by default: Slack's progress
// message is updated at most this often.
const defaultWindowTick = 5 * time.Second

// countdown calls tell with the whole seconds left until end, every tick, until done is
// closed or the end is less than a tick away.
func countdown(done <-chan struct{}, end time.Time, tick time.Duration, tell func(left int)) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			left := end.Sub(now)
			if left < tick {
				return
			}
			tell(int(left.Round(time.Second) / time.Second))
		}
	}
}

// afterWindowTimeout bounds each piece of work done once the window has passed: one
// end-of-window reading, stopping the capture, fetching it, removing it.
func (r *run) afterWindowTimeout() time.Duration { return shortTimeout(r) }

// afterWindowContext returns a context for work after the window: ctx's values, none of its
// cancel, a bound of its own and the run's collection deadline. It is used whether or not the
// run was cut short, so a cancel that reaches the window before the step's context cannot cut
// that work off midway: what the window collected is still read, fetched and cleaned up.
func afterWindowContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	var by time.Time
	if b := boundsOf(ctx); b != nil {
		by = b.collectBy
	}
	return detached(ctx, d, by)
}

// captureWork runs stopping, fetching or removing the capture after the window: like
// afterWindow, within the run's last part of its deadline rather than its collection part.
func (r *run) captureWork(ctx context.Context, do func(ctx context.Context) error) error {
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	wctx, wcancel := context.WithTimeout(cctx, r.afterWindowTimeout())
	defer wcancel()
	return do(wctx)
}

// afterWindow runs one piece of the work after the window on a context of its own.
func (r *run) afterWindow(ctx context.Context, do func(ctx context.Context) error) error {
	ctx, cancel := afterWindowContext(ctx, r.afterWindowTimeout())
	defer cancel()
	return do(ctx)
}

// waitAfterWindow waits for ch a little longer than one piece of work after the window may
// take: long enough for the end-of-window readings to finish.
func (r *run) waitAfterWindow(ctx context.Context, ch <-chan struct{}) error {
	ctx, cancel := afterWindowContext(ctx, r.afterWindowTimeout()+time.Second)
	defer cancel()
	return waitFor(ctx, ch)
}

func (r *run) openWindow() { r.openOnce.Do(func() { close(r.windowOpen) }) }
