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

func (captureStep) Run(ctx context.Context, r *run) (out Outcome) {
	defer r.openWindow() // the window runs for the API readings even without a capture
	if !r.peerAddr.IsValid() {
		return Outcome{Err: fmt.Errorf("the peer's address %q is not an IP", r.peerCfg.Address)}
	}
	cli, err := r.edgeCLI()
	if err != nil {
		return Outcome{Err: err}
	}
	life := newCaptureLife(r, cli, r.edge.Uplink)
	defer func() { // runs on every way out, a panic included
		if err := life.end(ctx); err != nil && out.Err == nil {
			out.Err = err
		}
	}()
	if err := life.start(ctx); err != nil {
		return Outcome{Err: err}
	}
	r.openWindow()
	life.openWindow()
	over, cut := r.windowPassed(ctx)
	// Everything after the window runs on contexts of its own: a cancel that ended the window
	// must not also cut the stop, the fetch or the removal short.
	var waitErr error
	if err := r.waitAfterWindow(ctx, r.snapshotsDone); err != nil {
		// A reading that hangs does not keep the capture running: stop and fetch it anyway.
		waitErr = fmt.Errorf("waiting for the end-of-window readings: %w", err)
	}
	if err := r.captureWork(ctx, life.stop); err != nil {
		return Outcome{Err: err}
	}
	var path string
	if err := r.captureWork(ctx, func(ctx context.Context) (err error) { path, err = life.fetch(ctx); return err }); err != nil {
		return Outcome{Err: fmt.Errorf("fetch capture%s: %w", cut, err)}
	}
	art, err := r.keepCapture(path)
	if err != nil {
		return Outcome{Err: err}
	}
	if err := r.captureWork(ctx, life.remove); err != nil {
		return Outcome{Err: err, Artifacts: []diag.Artifact{art}}
	}
	return Outcome{Summary: fmt.Sprintf("%s: %d bytes over %s on %s%s; removed from the Edge", art.Name, art.Size, over, life.iface, cut),
		Artifacts: []diag.Artifact{art}, Err: waitErr}
}

// windowPassed waits for the window's end and says how long it ran and, when it closed
// before its time (the run cancelled or out of time), why.
func (r *run) windowPassed(ctx context.Context) (over, cut string) {
	opened := time.Now()
	_ = waitFor(ctx, r.windowEnd) // closed on time, or as soon as the run's context ends
	if elapsed := time.Since(opened); elapsed < r.window {
		reason := context.Cause(ctx)
		if reason == nil {
			reason = context.Cause(r.ctx)
		}
		if reason == nil {
			reason = errors.New("the run was interrupted")
		}
		return fmt.Sprintf("%s of the %s window", elapsed.Round(100*time.Millisecond), r.window), fmt.Sprintf(" (cut short: %v)", reason)
	}
	return r.window.String(), ""
}

// keepCapture moves the fetched capture to capture.pcap and records it as an artifact.
func (r *run) keepCapture(path string) (diag.Artifact, error) {
	final := filepath.Join(r.dir, "capture.pcap")
	if path != final {
		if err := renameFile(path, final); err != nil {
			return diag.Artifact{}, err
		}
	}
	art, err := r.addFileArtifact(final, "pcap")
	if err != nil {
		return diag.Artifact{}, err
	}
	r.collect(func(col *Collected) { col.Captures = append(col.Captures, art.Name) })
	return art, nil
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
	// either way, on a context of its own, so the report shows the state then.
	_ = waitFor(ctx, r.windowEnd)
	errEnd := r.afterWindow(ctx, func(ctx context.Context) error { return read(ctx, "end") })
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
