// Package engine runs the documented procedure for an unstable IPsec tunnel on an NSX-v Edge
// (PROCEDURE.md): the prerequisites, then steps 1 to 7, as a plan of small steps with
// per-step timeouts and an overall deadline, both sites collected at the same time, progress
// events to any number of listeners, artifacts written to the incident's directory and
// recorded in the store, and one verdict with its evidence at the end.
//
// It lives outside package diag because it imports diag/classify, diag/edge and friends, which
// import diag for the domain types.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/store"
)

// Defaults of a run.
const (
	// extraDeadline is the overall deadline beyond the capture window.
	extraDeadline = 5 * time.Minute
)

// ErrUnknownEdge is returned when the requested edge is not in the inventory.
var ErrUnknownEdge = errors.New("unknown edge")

// Options tune an Engine. Zero values are the production defaults.
type Options struct {
	Logger *slog.Logger
	// ArtifactsDir is where runs without Request.OutDir write (one directory per run).
	// Default: the config's store.artifacts, else "artifacts" beside the store.
	ArtifactsDir string
	Now          func() time.Time
	// DisableAPI switches the NSX Manager off: every step that needs it is skipped and the
	// verdict comes from the Edge's CLI, its logs, the capture and the peer alone.
	DisableAPI bool
	// Connect opens the Edge, Manager and peer clients (default: the real ones).
	Connect Connector
	// Classifier names the cause (default: diag/classify).
	Classifier Classifier
	// DefaultCaptureSeconds is the capture window when the request names none (default
	// config.DefaultCaptureWindowSeconds).
	DefaultCaptureSeconds int
	// ReceivedLogs is the Edges' syslog the bot receives itself; step 1 prefers it to the
	// tech support bundle when it covers the run (nil: the bundle).
	ReceivedLogs ReceivedLogs
}

// Engine runs diagnoses. It is safe for concurrent use; one diagnosis per edge runs at a time.
type Engine struct {
	cfg  *config.Config
	db   *store.DB // nil: nothing is recorded
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	running map[string]*run // by edge name
	wg      sync.WaitGroup
	closed  bool
}

// New returns an engine for the inventory in cfg. db may be nil (nothing is recorded then,
// and captures left by a crash cannot be cleaned up).
func New(cfg *config.Config, db *store.DB, opts Options) (*Engine, error) {
	if cfg == nil {
		return nil, errors.New("engine: no configuration")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Connect == nil {
		opts.Connect = &defaultConnector{log: opts.Logger, noAPI: opts.DisableAPI}
	}
	if opts.Classifier == nil {
		opts.Classifier = defaultClassifier{}
	}
	if opts.DefaultCaptureSeconds <= 0 {
		opts.DefaultCaptureSeconds = config.DefaultCaptureWindowSeconds
	}
	if opts.ArtifactsDir == "" {
		switch {
		case cfg.Store.Artifacts != "":
			opts.ArtifactsDir = cfg.Path(cfg.Store.Artifacts)
		case cfg.Store.Path != "":
			opts.ArtifactsDir = filepath.Join(filepath.Dir(cfg.Path(cfg.Store.Path)), "artifacts")
		default:
			opts.ArtifactsDir = "artifacts"
		}
	}
	return &Engine{cfg: cfg, db: db, opts: opts, log: opts.Logger, running: map[string]*run{}}, nil
}

// Diagnose runs the procedure against req.Edge and returns the report. A second request for
// an edge whose diagnosis is running joins it: its listeners get the run's later events and it
// gets the same report. The error is non-nil when the run itself could not happen (an unknown
// edge, no directory to write to, the report not written) or was interrupted; a failed step is
// in the report. Cancelling the ctx of the request that started the run interrupts the run:
// its capture is stopped and removed, what was collected is classified, and Diagnose returns
// that report (Interrupted set) with an error wrapping the cancel, once all that is done. A
// joiner's ctx only stops its waiting.
func (e *Engine) Diagnose(ctx context.Context, req diag.Request, listeners ...diag.Listener) (*diag.Report, error) {
	edgeCfg, ok := e.cfg.Edge(req.Edge)
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownEdge, req.Edge, strings.Join(e.cfg.EdgeNames(), ", "))
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, errors.New("engine closed")
	}
	if r, ok := e.running[req.Edge]; ok {
		r.addListeners(listeners)
		e.mu.Unlock()
		return r.wait(ctx)
	}
	r, err := e.newRun(ctx, edgeCfg, req, listeners)
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	e.running[req.Edge] = r
	e.wg.Add(1)
	e.mu.Unlock()

	go func() {
		defer e.wg.Done()
		r.execute()
		e.mu.Lock()
		delete(e.running, req.Edge)
		e.mu.Unlock()
		close(r.done)
	}()
	// The starter's ctx ends the run itself, so its report (and the capture's cleanup) follow
	// soon after a cancel: wait for them rather than leave a capture behind on return.
	<-r.done
	if r.report != nil && r.report.Interrupted != "" {
		return r.report, fmt.Errorf("diagnosis of %s interrupted: %w", req.Edge, context.Cause(ctx))
	}
	return r.report, r.err
}

// Running reports whether a diagnosis of edge is in progress.
func (e *Engine) Running(edge string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.running[edge]
	return ok
}

// Close waits for running diagnoses to finish (cancel their contexts to hurry them).
func (e *Engine) Close() error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.wg.Wait()
	if c, ok := e.opts.Connect.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// CleanupCaptures stops and removes the captures a dead process left running on Edges (the
// store records every capture until it is removed). It returns how many were cleaned up; a
// capture that could not be removed stays recorded and is reported in the error.
func (e *Engine) CleanupCaptures(ctx context.Context) (int, error) {
	if e.db == nil {
		return 0, nil
	}
	caps, err := e.db.Captures()
	if err != nil {
		return 0, fmt.Errorf("list recorded captures: %w", err)
	}
	byEdge := map[string][]store.Capture{}
	for _, c := range caps {
		e.mu.Lock()
		_, busy := e.running[c.Edge]
		e.mu.Unlock()
		if !busy {
			byEdge[c.Edge] = append(byEdge[c.Edge], c)
		}
	}
	n := 0
	var errs []error
	for name, list := range byEdge {
		edgeCfg, ok := e.cfg.Edge(name)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: capture %s recorded for an edge no longer in the inventory", name, list[0].File))
			continue
		}
		cli, err := e.opts.Connect.Edge(ctx, e.cfg, edgeCfg)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		for _, c := range list {
			// Only the interface's files that were not on the Edge before it started: the Edge
			// names files by every capture it ever took, so a name cannot be predicted.
			if err := cli.AbandonCapture(ctx, c.Interface, c.Before); err != nil {
				errs = append(errs, fmt.Errorf("%s: capture %s: %w", name, c.File, err))
				continue
			}
			if err := e.db.DeleteCapture(c.Edge, c.File); err != nil {
				errs = append(errs, err)
				continue
			}
			if c.Incident != "" {
				_ = e.db.AppendEvent(c.Incident, store.Event{Kind: "capture", Actor: "bot",
					Text: fmt.Sprintf("capture %s on %s %s stopped and removed after a restart", c.File, name, c.Interface)})
				// Its run died with the process that started it.
				_, _ = e.db.UpdateIncident(c.Incident, func(inc *store.Incident) error {
					if inc.Status == store.StatusDiagnosing {
						inc.Status = store.StatusInterrupted
					}
					return nil
				})
			}
			e.log.Info("stale capture removed", "edge", name, "interface", c.Interface, "file", c.File)
			n++
		}
		cli.Close()
	}
	return n, errors.Join(errs...)
}

// TunnelState is one tunnel of an edge as the NSX API reports it.
type TunnelState struct {
	Edge        string `json:"edge"`
	SiteID      string `json:"site_id"`
	Peer        string `json:"peer"` // the peer's IP address
	PeerName    string `json:"peer_name,omitempty"`
	Channel     string `json:"channel"` // the IKE SA: up or down
	LocalSubnet string `json:"local_subnet,omitempty"`
	PeerSubnet  string `json:"peer_subnet,omitempty"`
	Tunnel      string `json:"tunnel"` // up or down (the channel's state when the site has no tunnel)
	Failure     string `json:"failure,omitempty"`
}

// Up reports whether the tunnel is up.
func (t TunnelState) Up() bool { return strings.EqualFold(t.Tunnel, "up") }

// TunnelStatus reads the edge's tunnels from the NSX API statistics (for `/ipsec status` and
// the health sweeps).
func (e *Engine) TunnelStatus(ctx context.Context, edgeName string) ([]TunnelState, error) {
	edgeCfg, ok := e.cfg.Edge(edgeName)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownEdge, edgeName)
	}
	if e.opts.DisableAPI {
		return nil, errors.New("the NSX API is switched off")
	}
	mgrCfg, ok := e.cfg.Manager(edgeCfg.Manager)
	if !ok {
		return nil, fmt.Errorf("%s: manager %q is not configured", edgeName, edgeCfg.Manager)
	}
	mgr, err := e.opts.Connect.Manager(e.cfg, mgrCfg)
	if err != nil {
		return nil, err
	}
	stats, _, err := mgr.IPsecStatistics(ctx, edgeCfg.EdgeID)
	if err != nil {
		return nil, fmt.Errorf("%s: ipsec statistics: %w", edgeName, err)
	}
	var out []TunnelState
	for _, s := range stats.Sites {
		base := TunnelState{Edge: edgeName, SiteID: s.SiteID, Failure: firstNonEmpty(s.FailureMessage)}
		if s.IKEStatus != nil {
			base.Peer = s.IKEStatus.PeerIPAddress
			base.Channel = strings.ToLower(s.IKEStatus.ChannelStatus)
			base.Failure = firstNonEmpty(base.Failure, s.IKEStatus.FailureMessage)
		}
		if a, err := netip.ParseAddr(base.Peer); err == nil {
			for _, p := range edgeCfg.Peers {
				if pa, err := netip.ParseAddr(p.Address); err == nil && pa == a {
					base.PeerName = p.Name
				}
			}
		}
		if len(s.Tunnels) == 0 {
			base.Tunnel = base.Channel
			out = append(out, base)
			continue
		}
		for _, t := range s.Tunnels {
			ts := base
			ts.LocalSubnet, ts.PeerSubnet = t.LocalSubnet, t.PeerSubnet
			ts.Tunnel = strings.ToLower(t.TunnelStatus)
			ts.Failure = firstNonEmpty(t.FailureMessage, base.Failure)
			out = append(out, ts)
		}
	}
	return out, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// runDir returns (and creates) the directory a run writes to.
func (e *Engine) runDir(req diag.Request, start time.Time) (string, error) {
	dir := req.OutDir
	if dir == "" {
		name := req.Incident
		if name == "" {
			name = req.Edge + "-" + start.UTC().Format("20060102T150405Z")
		}
		dir = filepath.Join(e.opts.ArtifactsDir, name)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("artifacts directory: %w", err)
	}
	return dir, nil
}
