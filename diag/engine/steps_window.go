package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/edge"
	"ipsecbot/diag/peer"
	"ipsecbot/store"
)

// The capture window: step 3 captures IKE and ESP between the Edge and the peer while steps
// 4, 5 and 7 read the Edge, the peer and the API at the window's start and end, and step 1
// collects both sites' logs once the window has passed (so they cover it).

// captureStep is procedure step 3.
type captureStep struct{}

func (captureStep) Name() string                 { return "step3-capture" }
func (captureStep) Title() string                { return "Step 3: IKE/ESP capture on the Edge" }
func (captureStep) Phase() phase                 { return phaseWindow }
func (captureStep) Snapshot() bool               { return false }
func (captureStep) Timeout(r *run) time.Duration { return windowTimeout(r) + shortTimeout(r) }

// cleanupTimeout bounds stopping and removing a capture after cancel, error or timeout.
const cleanupTimeout = 30 * time.Second

func (captureStep) Run(ctx context.Context, r *run) (out Outcome) {
	defer r.openWindow() // the window runs for the API readings even without a capture
	if !r.peerAddr.IsValid() {
		return Outcome{Err: fmt.Errorf("the peer's address %q is not an IP", r.peerCfg.Address)}
	}
	cli, err := r.edgeCLI()
	if err != nil {
		return Outcome{Err: err}
	}
	iface := r.edge.Uplink
	// The Edge numbers capture files by every capture it ever took and names one only when it
	// stops: record the files there now, so a cleanup (even after a crash) removes only the
	// interface's files this capture created.
	before, err := cli.CaptureFiles(ctx)
	if err != nil {
		return Outcome{Err: fmt.Errorf("list the Edge's capture files: %w", err)}
	}
	rec := store.Capture{Edge: r.edge.Name, Interface: iface, File: "tcpdump_" + iface + ".*", Before: before,
		Incident: r.req.Incident, Started: r.e.opts.Now()}
	if db := r.e.db; db != nil {
		if err := db.PutCapture(rec); err != nil {
			r.e.log.Warn("record capture", "edge", rec.Edge, "interface", iface, "err", err)
		}
	}
	c, err := cli.StartCapture(ctx, iface, r.peerAddr)
	if err != nil {
		err = fmt.Errorf("start capture on %s: %w", iface, err)
		if errors.Is(err, edge.ErrCommand) {
			// The Edge refused: nothing of ours runs (and a capture someone else runs on the
			// interface is not ours to stop).
			r.forgetCapture(rec)
			return Outcome{Err: err}
		}
		// Cut short (a cancel closes the session): it may run with nobody to stop it.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if aerr := r.abandonCapture(cctx, iface, before); aerr != nil {
			r.timeline("capture", fmt.Sprintf("a capture on %s %s may be left running: %v (recorded; removed at the next start)", rec.Edge, iface, aerr))
			return Outcome{Err: fmt.Errorf("%w; cleaning up after it: %v", err, aerr)}
		}
		r.forgetCapture(rec)
		return Outcome{Err: err}
	}
	r.timeline("capture", fmt.Sprintf("capture started on %s %s (filter: host %s, IKE and ESP)", rec.Edge, c.Interface(), r.peerAddr))
	stopped, removed := false, false
	defer func() {
		// Whatever happened, the Edge's capture is stopped and its file removed, with a
		// context of its own: the run's may be the very thing that was cancelled.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		var errs []string
		if !stopped {
			if err := c.Stop(cctx); err != nil {
				errs = append(errs, "stop: "+err.Error())
			}
		}
		if !removed {
			if err := c.Remove(cctx); err != nil {
				errs = append(errs, "remove: "+err.Error())
			} else {
				removed = true
			}
		}
		if !removed {
			// A cancelled command closes the Edge session: clean up over a fresh one.
			if err := r.abandonCapture(cctx, c.Interface(), before); err != nil {
				errs = append(errs, "over a new session: "+err.Error())
			} else {
				removed, errs = true, nil
			}
		}
		if removed {
			r.forgetCapture(rec)
			r.timeline("capture", fmt.Sprintf("capture %s stopped and removed from %s", firstNonEmpty(c.File(), rec.File), rec.Edge))
		}
		if len(errs) > 0 {
			msg := fmt.Sprintf("capture %s on %s could not be cleaned up: %s (recorded; removed at the next start)", rec.File, rec.Edge, strings.Join(errs, "; "))
			r.timeline("capture", msg)
			if out.Err == nil {
				out.Err = fmt.Errorf("%s", msg)
			}
		}
	}()
	r.openWindow()
	opened := time.Now()
	// The window ends on time, or early when the run is cut short: then the capture is still
	// stopped, fetched and removed, each on a short context of its own (late), so the report
	// keeps the packets the window had.
	_ = waitFor(ctx, r.windowEnd)
	over, cut := r.window.String(), ""
	// Cut short means the window closed before its time; the step's own context may learn of
	// the cancel a moment after the window does.
	if elapsed := time.Since(opened); elapsed < r.window {
		over = fmt.Sprintf("%s of the %s window", elapsed.Round(100*time.Millisecond), r.window)
		reason := context.Cause(ctx)
		if reason == nil {
			reason = errors.New("the run was interrupted")
		}
		cut = fmt.Sprintf(" (cut short: %v)", reason)
	}
	var waitErr error
	if err := waitLate(ctx, r.snapshotsDone); err != nil {
		// A reading that hangs does not keep the capture running: stop and fetch it anyway.
		waitErr = fmt.Errorf("waiting for the end-of-window readings: %w", err)
	}
	if err := lateDo(ctx, c.Stop); err != nil {
		return Outcome{Err: fmt.Errorf("stop capture: %w", err)}
	}
	stopped = true
	if c.File() != "" && c.File() != rec.File { // the Edge has named it: record the name
		r.forgetCapture(rec)
		rec.File = c.File()
		if db := r.e.db; db != nil {
			_ = db.PutCapture(rec)
		}
	}
	var path string
	if err := lateDo(ctx, func(ctx context.Context) (err error) { path, err = c.Fetch(ctx, r.dir); return err }); err != nil {
		return Outcome{Err: fmt.Errorf("fetch capture%s: %w", cut, err)}
	}
	final := filepath.Join(r.dir, "capture.pcap")
	if path != final {
		if err := renameFile(path, final); err != nil {
			return Outcome{Err: err}
		}
	}
	art, err := r.addFileArtifact(final, "pcap")
	if err != nil {
		return Outcome{Err: err}
	}
	if err := lateDo(ctx, c.Remove); err != nil {
		return Outcome{Err: fmt.Errorf("remove capture from the Edge: %w", err), Artifacts: []diag.Artifact{art}}
	}
	removed = true
	r.collect(func(col *Collected) { col.Captures = append(col.Captures, art.Name) })
	return Outcome{Summary: fmt.Sprintf("%s: %d bytes over %s on %s%s; removed from the Edge", art.Name, art.Size, over, c.Interface(), cut),
		Artifacts: []diag.Artifact{art}, Err: waitErr}
}

// abandonCapture stops the capture on iface and removes the files it created (those not in
// before) over a session of its own.
func (r *run) abandonCapture(ctx context.Context, iface string, before []string) error {
	cli, err := r.e.opts.Connect.Edge(ctx, r.e.cfg, r.edge)
	if err != nil {
		return err
	}
	defer cli.Close()
	return cli.AbandonCapture(ctx, iface, before)
}

func (r *run) forgetCapture(c store.Capture) {
	if db := r.e.db; db != nil {
		if err := db.DeleteCapture(c.Edge, c.File); err != nil {
			r.e.log.Warn("forget capture", "edge", c.Edge, "file", c.File, "err", err)
		}
	}
}

func waitFor(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// atStartAndEnd calls read at the capture window's start and at its end; a snapshot step
// always signals its end reading, even when it fails, so the capture can be stopped.
func (r *run) atStartAndEnd(ctx context.Context, read func(ctx context.Context, when string) error) error {
	defer r.snapshots.Done()
	if err := waitFor(ctx, r.windowOpen); err != nil {
		return err
	}
	errStart := read(ctx, "start")
	// The window ends on time or early, when the run is cut short: the end reading is taken
	// either way (then on a short context of its own) so the report shows the state then.
	_ = waitFor(ctx, r.windowEnd)
	lctx, cancel := late(ctx)
	defer cancel()
	errEnd := read(lctx, "end")
	switch {
	case errStart != nil && errEnd != nil:
		return fmt.Errorf("at start: %v; at end: %w", errStart, errEnd)
	case errEnd != nil:
		return fmt.Errorf("at end: %w", errEnd)
	case errStart != nil:
		return fmt.Errorf("at start: %w", errStart)
	}
	return nil
}

// showStep is procedure step 4: show service ipsec, sp and sa at the window's start and end.
type showStep struct{}

func (showStep) Name() string                 { return "step4-show" }
func (showStep) Title() string                { return "Step 4: show service ipsec, sp, sa" }
func (showStep) Phase() phase                 { return phaseWindow }
func (showStep) Snapshot() bool               { return true }
func (showStep) Timeout(r *run) time.Duration { return windowTimeout(r) }

var showCommands = []string{edge.CmdServiceIPsec, edge.CmdServiceIPsecSP, edge.CmdServiceIPsecSA}

func (showStep) Run(ctx context.Context, r *run) Outcome {
	var arts []diag.Artifact
	states := map[string]string{}
	err := r.atStartAndEnd(ctx, func(ctx context.Context, when string) error {
		cli, err := r.edgeCLI()
		if err != nil {
			return err
		}
		var errs []string
		for _, cmd := range showCommands {
			out, err := cli.Run(ctx, cmd)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			name := "show/" + strings.ReplaceAll(cmd, " ", "-") + "-" + when + ".txt"
			a, werr := r.writeArtifact(name, "show", []byte(out))
			if werr != nil {
				errs = append(errs, werr.Error())
				continue
			}
			arts = append(arts, a)
			r.collect(func(c *Collected) { c.Shows = append(c.Shows, ShowFile{Path: a.Name, Command: cmd}) })
			if cmd == edge.CmdServiceIPsec {
				states[when] = r.channelState(out)
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("%s", strings.Join(errs, "; "))
		}
		return nil
	})
	sum := fmt.Sprintf("tunnel at start: %s; at end: %s", orDash(states["start"]), orDash(states["end"]))
	if note := r.applianceNote(); note != "" {
		sum = note + "; " + sum
	}
	var ev []diag.Evidence
	if s, e := states["start"], states["end"]; s != "" && e != "" && s != e {
		ev = append(ev, diag.Evidence{Source: diag.SourceShow, Ref: diag.FileRef("show/show-service-ipsec-end.txt").String(), Site: "edge",
			Text: fmt.Sprintf("the tunnel changed state during the capture: %s -> %s", s, e)})
	}
	return Outcome{Summary: sum, Evidence: ev, Artifacts: arts, Err: err}
}

// channelState reads the site's channel and tunnel state from `show service ipsec`.
func (r *run) channelState(out string) string {
	st, err := edge.ParseServiceIPsec(out)
	if err != nil {
		return ""
	}
	site := st.SiteForPeer(r.peerAddr)
	if site == nil {
		return "no site for " + r.peerAddr.String()
	}
	r.setEdgeSite(site.Channel.LocalIP, "")
	up := 0
	for _, t := range site.Tunnels {
		if t.Up() {
			up++
		}
	}
	s := fmt.Sprintf("channel %s, %d/%d tunnels up", site.Channel.Status, up, len(site.Tunnels))
	if site.Channel.Reason != "" {
		s += " (" + site.Channel.Reason + ")"
	}
	return s
}

// peerStateStep is procedure step 5: the third-party gateway's SA state during the problem.
type peerStateStep struct{}

func (peerStateStep) Name() string                 { return "step5-peer" }
func (peerStateStep) Title() string                { return "Step 5: the peer's IPsec state during the problem" }
func (peerStateStep) Phase() phase                 { return phaseWindow }
func (peerStateStep) Snapshot() bool               { return true }
func (peerStateStep) Timeout(r *run) time.Duration { return windowTimeout(r) }

func (peerStateStep) Run(ctx context.Context, r *run) Outcome {
	var arts []diag.Artifact
	states := map[string]string{}
	unsupported := false
	err := r.atStartAndEnd(ctx, func(ctx context.Context, when string) error {
		drv, err := r.peer()
		if err != nil {
			return err
		}
		text, err := drv.SAs(ctx)
		if errors.Is(err, peer.ErrNotSupported) {
			unsupported = true
			return nil
		}
		if err != nil {
			return err
		}
		a, err := r.writeArtifact("peer/swanctl-list-sas-"+when+".txt", "show", []byte(text))
		if err != nil {
			return err
		}
		arts = append(arts, a)
		if sas, err := peer.ParseListSAs(text); err == nil {
			states[when] = peer.Summary(sas)
		}
		return nil
	})
	if unsupported && err == nil {
		return Outcome{Skip: "this kind of peer (" + r.peerCfg.Kind + ") gives no SA state"}
	}
	return Outcome{Summary: fmt.Sprintf("at start: %s; at end: %s", orDash(states["start"]), orDash(states["end"])), Artifacts: arts, Err: err}
}
