package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"ipsecbot/diag/edge"
	"ipsecbot/store"
)

// captureState is where one capture of a run is in its life on the Edge.
type captureState int

const (
	capIdle      captureState = iota // nothing recorded, nothing on the Edge
	capRecorded                      // recorded in the store; the Edge may be running it
	capStarted                       // the Edge runs it
	capWindow                        // the capture window is open
	capStopped                       // stopped: the Edge has named its file
	capFetched                       // copied into the run's directory
	capRemoved                       // the Edge confirms it gone (not running, no file of it left)
	capForgotten                     // the store's record deleted: the life is over
)

var captureStateNames = [...]string{"idle", "recorded", "started", "window", "stopped", "fetched", "removed", "forgotten"}

func (s captureState) String() string { return captureStateNames[s] }

// cleanupTimeout bounds driving a capture to removed after a cancel, error, timeout or panic.
const cleanupTimeout = 30 * time.Second

// captureLife is one capture of a run, from its store record to its record's deletion. Every
// transition is a method; end drives whatever state a cancel, an error, a timeout or a panic
// left it in to removed and forgotten, and forgets the record only once the Edge confirms
// the capture gone (else the record stays for CleanupCaptures or the next run to finish).
type captureLife struct {
	r     *run
	cli   EdgeCLI
	iface string
	expr  string // the capture's filter; "": IKE and ESP with the peer (step 3's)
	rec   store.Capture
	c     EdgeCapture // nil until started
	state captureState
}

func newCaptureLife(r *run, cli EdgeCLI, iface string) *captureLife {
	return newFilteredCaptureLife(r, cli, iface, "")
}

// newFilteredCaptureLife is a capture life whose capture keeps what expr (a tcpdump expression,
// spaces as "_") matches.
func newFilteredCaptureLife(r *run, cli EdgeCLI, iface, expr string) *captureLife {
	return &captureLife{r: r, cli: cli, iface: iface, expr: expr, rec: store.Capture{Edge: r.edge.Name, Interface: iface,
		File: "tcpdump_" + iface + ".*", Incident: r.req.Incident}}
}

// start takes the life from idle to started: the receive endpoint is bound, a leftover of
// ours on the interface is removed, the Edge's files are listed, the capture recorded, then
// started. Whatever fails before the record leaves nothing behind.
func (l *captureLife) start(ctx context.Context) error {
	if err := l.r.e.captureEndpoint(l.r.edge); err != nil {
		return fmt.Errorf("capture endpoint (before any capture started): %w", err)
	}
	unlock := l.r.e.lockCaptures(l.rec.Edge)
	defer unlock()
	if err := l.r.e.clearLeftovers(ctx, l.cli, l.rec.Edge, l.iface, l.r.timeline); err != nil {
		return err
	}
	// The Edge numbers capture files by every capture it ever took and names one only when it
	// stops: record the files there now, so a cleanup (even after a crash) removes only the
	// interface's files this capture created.
	before, err := l.cli.CaptureFiles(ctx)
	if err != nil {
		return fmt.Errorf("list the Edge's capture files: %w", err)
	}
	l.rec.Before, l.rec.Started = before, l.r.e.opts.Now()
	if err := l.r.e.recordCapture(l.rec); err != nil {
		// Without a record a crash would leave the capture unknown: do not start one.
		return fmt.Errorf("record the capture before starting it: %w", err)
	}
	l.state = capRecorded
	c, err := l.cli.StartCapture(ctx, l.iface, l.r.peerAddr, l.expr)
	if err != nil {
		if errors.Is(err, edge.ErrCommand) {
			// The Edge refused: nothing of ours runs (and a capture someone else runs on the
			// interface is not ours to stop).
			l.state = capRemoved
		}
		return fmt.Errorf("start capture on %s: %w", l.iface, err)
	}
	l.c, l.state = c, capStarted
	filter := fmt.Sprintf("host %s, IKE and ESP", l.r.peerAddr)
	if l.expr != "" {
		filter = strings.ReplaceAll(l.expr, "_", " ")
	}
	l.r.timeline(store.EventCapture, fmt.Sprintf("capture started on %s %s (filter: %s)", l.rec.Edge, l.iface, filter))
	return nil
}

// openWindow marks the capture window open.
func (l *captureLife) openWindow() {
	if l.state == capStarted {
		l.state = capWindow
	}
}

// stop stops the capture on the Edge (which names its file then).
func (l *captureLife) stop(ctx context.Context) error {
	if err := l.c.Stop(ctx); err != nil {
		return fmt.Errorf("stop capture: %w", err)
	}
	l.state = capStopped
	return nil
}

// fetch copies the stopped capture into the run's directory and returns its path.
func (l *captureLife) fetch(ctx context.Context) (string, error) {
	path, err := l.c.Fetch(ctx, l.r.dir)
	if err != nil {
		return "", err
	}
	l.state = capFetched
	return path, nil
}

// remove deletes the capture's file from the Edge and confirms it gone.
func (l *captureLife) remove(ctx context.Context) error {
	if err := l.c.Remove(ctx); err != nil {
		return fmt.Errorf("remove capture from the Edge: %w", err)
	}
	if err := l.confirmGone(ctx, l.cli); err != nil {
		return err
	}
	l.state = capRemoved
	return nil
}

// confirmGone lists the Edge's files: none of the interface's files this capture created
// may be left.
func (l *captureLife) confirmGone(ctx context.Context, cli EdgeCLI) error {
	files, err := cli.CaptureFiles(ctx)
	if err != nil {
		return fmt.Errorf("confirm the capture removed: %w", err)
	}
	if left := ownFiles(files, l.iface, l.rec.Before); len(left) > 0 {
		return fmt.Errorf("capture files still on the Edge after removal: %s", strings.Join(left, ", "))
	}
	return nil
}

// ownFiles returns the interface's capture files not in before: those a capture created.
func ownFiles(files []string, iface string, before []string) []string {
	var out []string
	for _, f := range files {
		if strings.HasPrefix(f, "tcpdump_"+iface+".") && !slices.Contains(before, f) {
			out = append(out, f)
		}
	}
	return out
}

// end drives the life to forgotten from whatever state it is in, on a context of its own
// (the run's may be the very thing that was cancelled). It returns what it could not do; the
// store's record then stays, so CleanupCaptures or the next run on the interface finishes.
func (l *captureLife) end(ctx context.Context) error {
	if l.state == capIdle || l.state == capForgotten {
		return nil
	}
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	var errs []string
	if l.state == capStarted || l.state == capWindow {
		if err := l.stop(ctx); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if l.state == capStopped || l.state == capFetched {
		if err := l.remove(ctx); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if l.state < capRemoved {
		// Not started as far as we know, or its handle failed: stop whatever runs on the
		// interface and remove the files it created, over a session of its own (the run's
		// may be broken).
		if err := l.r.e.abandon(ctx, l.r.edge.Name, l.iface, l.rec.Before); err != nil {
			errs = append(errs, "over a new session: "+err.Error())
		} else {
			l.state, errs = capRemoved, nil
		}
	}
	if l.state < capRemoved {
		msg := fmt.Sprintf("capture %s on %s could not be cleaned up: %s (recorded; removed at the next start)",
			l.rec.File, l.rec.Edge, strings.Join(errs, "; "))
		l.r.timeline(store.EventCapture, msg)
		l.r.e.retryLeftoversLater()
		return errors.New(msg)
	}
	if err := l.r.e.forgetCapture(l.rec.Edge, l.rec.File); err != nil {
		l.r.e.log.Warn("forget capture", "edge", l.rec.Edge, "file", l.rec.File, "err", err)
		return fmt.Errorf("capture removed from %s, and its record not deleted: %w", l.rec.Edge, err)
	}
	if l.c != nil {
		l.r.timeline(store.EventCapture, fmt.Sprintf("capture %s stopped and removed from %s", firstNonEmpty(l.c.File(), l.rec.File), l.rec.Edge))
	}
	l.state = capForgotten
	return nil
}
