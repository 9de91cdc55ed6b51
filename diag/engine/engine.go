// Package engine runs the documented procedure for an unstable IPsec tunnel on an NSX-v Edge
// (docs/procedure.md): the prerequisites, then steps 1 to 7, as a plan of small steps with
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
	"ipsecbot/incident"
	"ipsecbot/store"
)

// Defaults of a run.
const (
	// defaultRunBudget is the overall deadline of a run beyond its capture window: a quarter
	// for the prerequisites, half for reading and fetching after the window, a quarter for
	// removing the capture and writing the report (deadline.go).
	defaultRunBudget = 2 * time.Minute
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
	// Incidents records the runs' incidents and holds the one run per edge; share it with
	// everything else that writes the store (default: one of its own over the store).
	Incidents *incident.Lifecycle
	// CleanupRetry is the first wait before retrying a capture cleanup that failed (default
	// 30 s; doubled each attempt up to 10 min). The retries run in the background.
	CleanupRetry time.Duration
	// ReceivedLogs is the Edges' syslog the bot receives itself; step 1 prefers it to the
	// tech support bundle when it covers the run (nil: the bundle).
	ReceivedLogs ReceivedLogs
	// RunBudget is each run's overall deadline beyond its capture window (default 2 min);
	// Request.Deadline, when set, is the whole deadline instead.
	RunBudget time.Duration
	// Journal records captures when db is nil because another process holds the store; with a
	// db, the captures of dead processes found in it are taken over and cleaned up (at
	// CleanupCaptures and every JournalPoll, default 30 s).
	Journal     *store.CaptureJournal
	JournalPoll time.Duration
	// WindowTick is how often the capture window's countdown and the Edge's counters are told
	// (default 5 s): Slack's progress message is updated at most this often.
	WindowTick time.Duration
}

// Engine runs diagnoses. It is safe for concurrent use; one diagnosis per edge runs at a time
// (its incident lifecycle's runs).
type Engine struct {
	cfg       *config.Config
	db        *store.DB // nil: nothing is recorded
	incidents *incident.Lifecycle
	opts      Options
	log       *slog.Logger

	mu     sync.Mutex
	wg     sync.WaitGroup
	closed bool

	stop     chan struct{} // closed by Close: ends the cleanup retries
	retrying bool          // a cleanup retrier runs (under mu)
	capLocks sync.Map      // edge name -> *sync.Mutex: see lockCaptures
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
	if opts.CleanupRetry <= 0 {
		opts.CleanupRetry = defaultCleanupRetry
	}
	if opts.JournalPoll <= 0 {
		opts.JournalPoll = defaultJournalPoll
	}
	if opts.WindowTick <= 0 {
		opts.WindowTick = defaultWindowTick
	}
	if opts.DefaultCaptureSeconds <= 0 {
		opts.DefaultCaptureSeconds = config.DefaultCaptureWindowSeconds
	}
	if opts.Incidents == nil {
		opts.Incidents = incident.New(db, incident.Options{Now: opts.Now})
	}
	if opts.Incidents.Store() != db {
		return nil, errors.New("engine: the incident lifecycle writes another store than the engine's")
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
	e := &Engine{cfg: cfg, db: db, incidents: opts.Incidents, opts: opts, log: opts.Logger, stop: make(chan struct{})}
	e.watchJournal()
	return e, nil
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
	if _, ok := e.cfg.Edge(req.Edge); !ok {
		return nil, e.unknownEdge(req.Edge)
	}
	claimed, owner := e.incidents.Claim(req.Edge)
	if !owner {
		claimed.Listen(listeners...)
		return claimed.Wait(ctx)
	}
	rep, err := e.Execute(ctx, claimed, req, listeners...)
	claimed.Finish(rep, err)
	return rep, err
}

// Execute runs the diagnosis of claimed, the run of req.Edge the caller claimed from the
// engine's incident lifecycle and finishes itself, as Diagnose does for its own claims. When
// incidents are recorded and req names none, the run opens one.
func (e *Engine) Execute(ctx context.Context, claimed *incident.Run, req diag.Request, listeners ...diag.Listener) (*diag.Report, error) {
	edgeCfg, ok := e.cfg.Edge(req.Edge)
	if !ok {
		return nil, e.unknownEdge(req.Edge)
	}
	switch {
	case claimed.Edge != req.Edge:
		return nil, fmt.Errorf("diagnosis of %s under the run of %s", req.Edge, claimed.Edge)
	case !claimed.ClaimedFrom(e.incidents):
		return nil, fmt.Errorf("diagnosis of %s: its run was claimed from another incident lifecycle than the engine's", req.Edge)
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, errors.New("engine closed")
	}
	e.wg.Add(1)
	e.mu.Unlock()
	defer e.wg.Done()
	claimed.Listen(listeners...)
	r, err := e.newRun(ctx, claimed, edgeCfg, req)
	if err != nil {
		return nil, err
	}
	// The starter's ctx ends the run itself, so its report (and the capture's cleanup) follow
	// soon after a cancel: they are waited for rather than a capture left behind on return.
	r.executeContained()
	if r.report != nil && r.report.Interrupted != "" {
		return r.report, fmt.Errorf("diagnosis of %s interrupted: %w", req.Edge, context.Cause(ctx))
	}
	return r.report, r.err
}

func (e *Engine) unknownEdge(name string) error {
	return fmt.Errorf("%w %q (known: %s)", ErrUnknownEdge, name, strings.Join(e.cfg.EdgeNames(), ", "))
}

// Running reports whether a diagnosis of edge is in progress.
func (e *Engine) Running(edge string) bool { return e.incidents.Running(edge) }

// Close waits for running diagnoses to finish (cancel their contexts to hurry them).
func (e *Engine) Close() error {
	e.mu.Lock()
	if !e.closed {
		close(e.stop)
	}
	e.closed = true
	e.mu.Unlock()
	e.wg.Wait()
	if c, ok := e.opts.Connect.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// CleanupCaptures stops and removes the captures a dead process or a failed cleanup left
// running on Edges (the store records every capture until the Edge confirms it gone). It
// returns how many were cleaned up; a capture that could not be removed stays recorded, is
// reported in the error, and is retried in the background (see Options.CleanupRetry) so a
// start is never held up by an unreachable Edge.
func (e *Engine) CleanupCaptures(ctx context.Context) (int, error) {
	n, err := e.cleanupOnce(ctx)
	if err != nil {
		e.retryLeftoversLater()
	}
	return n, err
}

// cleanupOnce is one pass of CleanupCaptures. Each edge's records are read again under its
// capture lock, and an edge being diagnosed is left to its run.
func (e *Engine) cleanupOnce(ctx context.Context) (int, error) {
	if e.db == nil {
		return 0, nil
	}
	e.adoptJournal()
	caps, err := e.db.Captures()
	if err != nil {
		return 0, fmt.Errorf("list recorded captures: %w", err)
	}
	edges := map[string]bool{}
	for _, c := range caps {
		edges[c.Edge] = true
	}
	n := 0
	var errs []error
	for name := range edges {
		k, err := e.cleanupEdge(ctx, name)
		n += k
		if err != nil {
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// cleanupEdge finishes the edge's recorded captures over one session of its own.
func (e *Engine) cleanupEdge(ctx context.Context, name string) (int, error) {
	unlock := e.lockCaptures(name)
	defer unlock()
	if e.Running(name) {
		return 0, nil
	}
	caps, err := e.db.Captures()
	if err != nil {
		return 0, fmt.Errorf("list recorded captures: %w", err)
	}
	var list []store.Capture
	for _, c := range caps {
		if c.Edge == name {
			list = append(list, c)
		}
	}
	n, list, hostErr := e.cleanupHosts(ctx, name, list)
	if len(list) == 0 {
		return n, hostErr
	}
	edgeCfg, ok := e.cfg.Edge(name)
	if !ok {
		return n, errors.Join(hostErr, fmt.Errorf("%s: capture %s recorded for an edge no longer in the inventory", name, list[0].File))
	}
	cli, err := e.opts.Connect.Edge(ctx, e.cfg, edgeCfg)
	if err != nil {
		return n, errors.Join(hostErr, fmt.Errorf("%s: %w (its captures stay recorded)", name, err))
	}
	defer cli.Close()
	errs := []error{hostErr}
	for _, c := range list {
		// Only the interface's files that were not on the Edge before it started: the Edge
		// names files by every capture it ever took, so a name cannot be predicted.
		if err := cli.AbandonCapture(ctx, c.Interface, c.Before); err != nil {
			errs = append(errs, fmt.Errorf("%s: capture %s: %w (it stays recorded)", name, c.File, err))
			continue
		}
		if err := e.db.DeleteCapture(c.Edge, c.File); err != nil {
			errs = append(errs, err)
			continue
		}
		if c.Incident != "" && e.incidents.Recording() {
			// Its run died with the process that started it.
			_, err := e.incidents.EndDiagnosis(c.Incident, store.StatusInterrupted, incident.Bot, "", incident.Noting(store.EventCapture,
				fmt.Sprintf("capture %s on %s %s stopped and removed after a restart", c.File, name, c.Interface)))
			if err != nil {
				e.log.Warn("update incident", "incident", c.Incident, "err", err)
			}
		}
		e.log.Info("stale capture removed", "edge", name, "interface", c.Interface, "file", c.File)
		n++
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
	for i := range stats.Sites {
		s := &stats.Sites[i]
		base := TunnelState{Edge: edgeName, SiteID: s.SiteID, Failure: s.Failure(nil)}
		if s.IKEStatus != nil {
			base.Peer = s.IKEStatus.PeerIPAddress
			base.Channel = strings.ToLower(s.IKEStatus.ChannelStatus)
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
		for ti := range s.Tunnels {
			t := &s.Tunnels[ti]
			ts := base
			ts.LocalSubnet, ts.PeerSubnet = t.LocalSubnet, t.PeerSubnet
			ts.Tunnel = strings.ToLower(t.TunnelStatus)
			ts.Failure = s.Failure(t)
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
