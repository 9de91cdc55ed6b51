package engine

import (
	"context"
	"time"
)

// windowTimer closes windowEnd window after the window opened, or as soon as the run is cut
// short (cancelled or out of time): the end-of-window readings, the capture's fetch and the
// logs then go ahead on short contexts of their own (see late) with what the window had.
func (r *run) windowTimer() {
	defer close(r.windowEnd)
	select {
	case <-r.windowOpen:
	case <-r.ctx.Done():
		return
	}
	t := time.NewTimer(r.window)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.ctx.Done():
	}
}

// lateTimeout bounds each piece of work done after the run was cut short: one end-of-window
// reading, stopping the capture, fetching it, removing it, collecting the logs.
const lateTimeout = 10 * time.Second

// late returns ctx while it lasts; once it has ended (the run cancelled or out of time), a
// fresh context of lateTimeout with ctx's values, so that what the window collected is still
// read, fetched and cleaned up, each piece bounded on its own. A further cancel does not
// reach it: the capture's removal in particular is never abandoned.
func late(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), lateTimeout)
}

// lateDo runs do under ctx, or under a short context of its own once ctx has ended (late).
func lateDo(ctx context.Context, do func(ctx context.Context) error) error {
	ctx, cancel := late(ctx)
	defer cancel()
	return do(ctx)
}

// waitLate waits for ch under ctx, or for at most a little over lateTimeout once ctx has
// ended: long enough for late readings bounded by lateTimeout to finish.
func waitLate(ctx context.Context, ch <-chan struct{}) error {
	if ctx.Err() == nil {
		if err := waitFor(ctx, ch); err == nil {
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lateTimeout+time.Second)
	defer cancel()
	return waitFor(ctx, ch)
}

func (r *run) openWindow() { r.openOnce.Do(func() { close(r.windowOpen) }) }
