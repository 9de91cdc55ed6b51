package engine

import (
	"context"
	"fmt"
	"time"

	"ipsecbot/store"
)

// defaultJournalPoll is how often an engine that holds the store looks for captures a dead
// process left in the capture journal.
const defaultJournalPoll = 30 * time.Second

// recordCapture records a capture before it starts: in the store, or, when another process
// holds the store, in the capture journal beside it (so the holder cleans it up if this
// process dies). With neither, nothing is recorded.
func (e *Engine) recordCapture(c store.Capture) error {
	switch {
	case e.db != nil:
		return e.db.PutCapture(c)
	case e.opts.Journal != nil:
		return e.opts.Journal.Put(c)
	}
	return nil
}

// forgetCapture deletes the record once the Edge confirms the capture gone.
func (e *Engine) forgetCapture(edge, file string) error {
	switch {
	case e.db != nil:
		return e.db.DeleteCapture(edge, file)
	case e.opts.Journal != nil:
		return e.opts.Journal.Delete(edge, file)
	}
	return nil
}

// adoptJournal moves the captures of dead processes from the journal into the store, where
// the cleanup finds them.
func (e *Engine) adoptJournal() {
	if e.db == nil || e.opts.Journal == nil {
		return
	}
	n, err := e.opts.Journal.Adopt(e.db)
	if err != nil {
		e.log.Warn("capture journal", "dir", e.opts.Journal.Dir(), "err", err)
	}
	if n > 0 {
		e.log.Info("captures of a process that died taken over from the capture journal", "count", n)
	}
}

// watchJournal runs while the engine is open and holds the store: a capture a dead process
// left in the journal is taken over and cleaned up within a poll.
func (e *Engine) watchJournal() {
	if e.db == nil || e.opts.Journal == nil {
		return
	}
	e.wg.Go(func() {
		t := time.NewTicker(e.opts.JournalPoll)
		defer t.Stop()
		for {
			select {
			case <-e.stop:
				return
			case <-t.C:
			}
			n, err := e.opts.Journal.Adopt(e.db)
			if err != nil {
				e.log.Warn("capture journal", "dir", e.opts.Journal.Dir(), "err", err)
			}
			if n == 0 {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
			k, err := e.CleanupCaptures(ctx)
			cancel()
			e.log.Info("captures of a process that died cleaned up", "adopted", n, "removed", k, "err", fmt.Sprint(err))
		}
	})
}
