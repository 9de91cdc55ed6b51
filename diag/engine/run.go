package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/diag/edge"
	"ipsecbot/diag/nsx"
	"ipsecbot/diag/peer"
	"ipsecbot/incident"
	"ipsecbot/store"
)

// run is one diagnosis in progress: its request, its clients and what it collected so far; its
// claim holds the listeners of its events. Steps read and add to it concurrently through its
// methods.
type run struct {
	e        *Engine
	claimed  *incident.Run
	reqCtx   context.Context // the starter's: its end interrupts the run
	ctx      context.Context // the run's: ends at collectBy, cancelled with the request
	cancel   context.CancelFunc
	bounds   runBounds // the overall deadline's parts (deadline.go)
	req      diag.Request
	edge     *config.Edge
	peerCfg  *config.Peer
	peerAddr netip.Addr
	dir      string
	window   time.Duration
	started  time.Time
	plan     []Step

	mu        sync.Mutex
	collected Collected
	results   []diag.StepResult
	artifacts []diag.Artifact
	edgeAddr  netip.Addr // the Edge's IKE endpoint (site localIp), once known
	siteID    string
	verdict   *diag.Verdict
	dataPath  *diag.DataPath // step 8's finding
	cut       []string       // sources the overall deadline cut off (deadline.go)

	siteOnce sync.Once
	site     *nsx.IPsecSite
	siteErr  error

	cliOnce  sync.Once
	cli      EdgeCLI
	cliErr   error
	mgr      Manager // nil: API off or not configured
	mgrErr   error
	peerOnce sync.Once
	peerDrv  peer.Driver
	peerErr  error

	// The capture window: opened when step 3 has started its capture (or failed to), closed
	// window seconds later; the capture is stopped after the end-of-window snapshots.
	windowOpen    chan struct{}
	openOnce      sync.Once
	windowEnd     chan struct{}
	snapshots     sync.WaitGroup
	snapshotsDone chan struct{}
	// The window's poll of the Edge's counters (windowpoll.go): it ends with the window, or
	// when the run closes its clients should the window's steps all have given up before.
	polls     sync.WaitGroup
	pollsCtx  context.Context
	stopPolls context.CancelFunc

	report *diag.Report
	err    error
}

func (e *Engine) newRun(ctx context.Context, claimed *incident.Run, edgeCfg *config.Edge, req diag.Request) (*run, error) {
	start := e.opts.Now()
	if req.CaptureSeconds <= 0 {
		req.CaptureSeconds = e.opts.DefaultCaptureSeconds
	}
	window := time.Duration(req.CaptureSeconds) * time.Second
	if limit := edgeCfg.Capture.TimeLimit(); window > limit {
		window = limit
	}
	peerCfg, err := pickPeer(edgeCfg, req.Peer)
	if err != nil {
		return nil, err
	}
	if e.incidents.Recording() && req.Incident == "" {
		// A terminal run gets an incident of its own, and its directory is named after it.
		origin := store.OriginManual
		if req.Automatic {
			origin = store.OriginAutomatic
		}
		inc, err := claimed.Open(incident.Opening{Origin: origin, Site: peerCfg.Name, Requester: req.Requester,
			CaptureSeconds: int(window / time.Second), Why: fmt.Sprintf("diagnosis of %s requested", req.Edge)})
		if err != nil {
			return nil, fmt.Errorf("record the incident: %w", err)
		}
		req.Incident = inc.ID
	}
	dir, err := e.runDir(req, start)
	if err != nil {
		return nil, err
	}
	bounds := newRunBounds(time.Now(), window, e.opts.RunBudget, req.Deadline) // the wall clock, whatever Now says
	rctx, cancel := bounds.context(ctx)
	r := &run{
		e: e, claimed: claimed, reqCtx: ctx, ctx: rctx, cancel: cancel, bounds: bounds, req: req, edge: edgeCfg, peerCfg: peerCfg, dir: dir,
		window: window, started: start, plan: procedure(req),
		windowOpen: make(chan struct{}), windowEnd: make(chan struct{}), snapshotsDone: make(chan struct{}),
	}
	if peerCfg != nil {
		r.peerAddr, _ = netip.ParseAddr(peerCfg.Address)
	}
	r.pollsCtx, r.stopPolls = context.WithCancel(rctx)
	r.collected.Dir = dir
	return r, nil
}

// pickPeer returns the named peer, or the edge's first when name is empty (choosePeer may
// then prefer one whose tunnel is down).
func pickPeer(e *config.Edge, name string) (*config.Peer, error) {
	if name != "" {
		p, ok := e.Peer(name)
		if !ok {
			return nil, fmt.Errorf("edge %s has no peer %q", e.Name, name)
		}
		return p, nil
	}
	if len(e.Peers) == 0 {
		return nil, fmt.Errorf("edge %s has no peers configured", e.Name)
	}
	return &e.Peers[0], nil
}

func (r *run) emit(ev diag.Event) {
	ev.Edge, ev.Incident, ev.Total = r.req.Edge, r.req.Incident, len(r.plan)
	if ev.Time.IsZero() {
		ev.Time = r.e.opts.Now()
	}
	r.claimed.Emit(ev)
}

// execute runs the plan phase by phase, then classifies and writes the report.
func (r *run) execute() {
	defer r.cancel()
	r.connect()
	r.choosePeer()
	r.openIncident()
	r.emit(diag.Event{Kind: diag.EventStarted, Summary: fmt.Sprintf("diagnosing %s (peer %s), capture window %s", r.req.Edge, r.peerName(), r.window)})
	r.results = make([]diag.StepResult, len(r.plan))
	for _, ph := range phases {
		r.runPhase(ph)
	}
	r.finish()
	r.closeClients()
}

// interrupted says when and why the run was cut short by its requester (a cancel, the bot
// stopping), nil when it was not. The run's own deadline is no interruption: its steps report it.
func (r *run) interrupted() *diag.Interruption {
	if r.reqCtx.Err() == nil {
		return nil
	}
	return &diag.Interruption{After: r.e.opts.Now().Sub(r.started), Reason: fmt.Sprint(context.Cause(r.reqCtx))}
}

func (r *run) peerName() string {
	if r.peerCfg == nil {
		return "-"
	}
	return r.peerCfg.Name
}

// runPhase runs every step of the phase at the same time and waits for all of them.
func (r *run) runPhase(ph phase) {
	var wg sync.WaitGroup
	if ph == phaseWindow {
		n := 0
		for _, s := range r.plan {
			if s.Phase() == phaseWindow && s.Snapshot() {
				n++
			}
		}
		r.snapshots.Add(n)
		go func() { r.snapshots.Wait(); close(r.snapshotsDone) }()
		go r.windowTimer()
	}
	for i, s := range r.plan {
		if s.Phase() != ph {
			continue
		}
		wg.Go(func() { r.results[i] = r.runStep(i, s) })
	}
	wg.Wait()
	if ph == phaseWindow {
		r.openWindow() // in case no step opened it
	}
}

// runStep runs one step under its timeout, with its events, and turns its outcome into a result.
func (r *run) runStep(i int, s Step) diag.StepResult {
	res := diag.StepResult{Name: s.Name(), Title: s.Title()}
	r.emit(diag.Event{Kind: diag.EventStepStarted, Step: res.Name, Title: res.Title, Index: i + 1})
	start := time.Now()
	ctx, cancel := r.bounds.stepContext(r.ctx, s.Phase(), s.Timeout(r))
	out := safeRun(ctx, r, s)
	r.noteCut(ctx, s)
	cancel()
	res.Duration = time.Since(start).Round(time.Millisecond)
	res.DurationS = res.Duration.Seconds()
	res.Summary, res.Evidence, res.Artifacts = out.Summary, out.Evidence, out.Artifacts
	kind := diag.EventStepFinished
	switch {
	case out.Skip != "":
		res.Status = diag.StepSkipped
		if res.Summary == "" {
			res.Summary = out.Skip
		}
		r.addMissing(fmt.Sprintf("%s: skipped: %s", res.Title, out.Skip))
	case out.Err != nil:
		res.Status, res.Error = diag.StepFailed, errText(out.Err)
		kind = diag.EventStepFailed
		r.addMissing(fmt.Sprintf("%s: %s", res.Title, res.Error))
	default:
		res.Status = diag.StepOK
	}
	r.timeline(store.EventStep, fmt.Sprintf("%s: %s %s", res.Title, res.Status, firstNonEmpty(res.Summary, res.Error)))
	r.emit(diag.Event{Kind: kind, Step: res.Name, Title: res.Title, Index: i + 1, Summary: res.Summary, Err: res.Error, Result: &res})
	return res
}

// safeRun turns a panicking step into a failed one: one bad step does not end the run.
func safeRun(ctx context.Context, r *run, s Step) (out Outcome) {
	defer func() {
		if p := recover(); p != nil {
			out = Outcome{Err: fmt.Errorf("internal error in step %s: %v", s.Name(), p)}
		}
	}()
	return s.Run(ctx, r)
}

func errText(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out: " + err.Error()
	}
	return err.Error()
}

// connect opens the clients that need no network yet (the Manager and the peer driver);
// the Edge's SSH session is dialled by the first step that needs it.
func (r *run) connect() {
	c := r.e.opts.Connect
	switch {
	case r.e.opts.DisableAPI:
		r.mgrErr = errAPIOff
	default:
		m, ok := r.e.cfg.Manager(r.edge.Manager)
		if !ok {
			r.mgrErr = fmt.Errorf("manager %q is not configured", r.edge.Manager)
			break
		}
		r.mgr, r.mgrErr = c.Manager(r.e.cfg, m)
	}
}

// peer returns the peer's driver, made on first use so that it knows the Edge's address
// (which picks the peer's connection to the Edge among several) once step 2 has read it.
func (r *run) peer() (peer.Driver, error) {
	r.peerOnce.Do(func() {
		if r.peerCfg == nil {
			r.peerErr = errors.New("no peer configured")
			return
		}
		addr, _ := r.edgeSite()
		r.peerDrv, r.peerErr = r.e.opts.Connect.Peer(r.e.cfg, r.peerCfg, addr)
	})
	return r.peerDrv, r.peerErr
}

var errAPIOff = errors.New("the NSX API is switched off")

// choosePeer: when the request names no peer and the edge has several, the first whose tunnel
// the API reports down is diagnosed (else the first). One site per run.
func (r *run) choosePeer() {
	if r.req.Peer != "" || len(r.edge.Peers) < 2 || r.mgr == nil {
		return
	}
	ctx, cancel := r.bounds.stepContext(r.ctx, phaseBefore, r.edge.SSH.CmdTimeout())
	defer cancel()
	tunnels, err := r.e.TunnelStatus(ctx, r.edge.Name)
	if err != nil {
		return
	}
	for i, p := range r.edge.Peers {
		for _, t := range tunnels {
			if t.PeerName == p.Name && !t.Up() {
				r.peerCfg = &r.edge.Peers[i]
				r.peerAddr, _ = netip.ParseAddr(p.Address)
				return
			}
		}
	}
}

// edgeCLI returns the Edge's CLI session, dialled once for the whole run. When SSH fails and
// the API is there, show commands go through the Manager's central CLI instead; captures and
// pings then fail with the SSH error.
func (r *run) edgeCLI() (EdgeCLI, error) {
	r.cliOnce.Do(func() {
		// The session lives until the run closes it, not until its context ends: after a
		// cancel the capture is still stopped and removed over it (a dial is bounded by the
		// connect timeout).
		r.cli, r.cliErr = r.e.opts.Connect.Edge(context.WithoutCancel(r.ctx), r.e.cfg, r.edge)
		if r.cliErr == nil {
			return
		}
		r.cliErr = fmt.Errorf("edge SSH: %w", r.cliErr)
		if r.mgr != nil {
			r.addMissing(r.cliErr.Error() + "; show commands went through the NSX Manager's central CLI")
			r.cli, r.cliErr = &centralCLI{run: edge.CentralRunner{Manager: r.mgr, EdgeID: r.edge.EdgeID}, sshErr: r.cliErr}, nil
		}
	})
	return r.cli, r.cliErr
}

// manager returns the API client or why there is none.
func (r *run) manager() (Manager, error) { return r.mgr, r.mgrErr }

func (r *run) closeClients() {
	r.stopPolls()
	r.polls.Wait()
	if r.cli != nil {
		r.cli.Close()
	}
	if c, ok := r.mgr.(interface{ Close() }); ok {
		c.Close()
	}
	if r.peerDrv != nil {
		r.peerDrv.Close()
	}
}

// Collected data, added by steps.

func (r *run) addMissing(s string) {
	r.mu.Lock()
	r.collected.Missing = append(r.collected.Missing, s)
	r.mu.Unlock()
}

func (r *run) collect(f func(c *Collected)) {
	r.mu.Lock()
	f(&r.collected)
	r.mu.Unlock()
}

func (r *run) setEdgeSite(addr netip.Addr, siteID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if addr.IsValid() && !r.edgeAddr.IsValid() {
		r.edgeAddr = addr
	}
	if siteID != "" && r.siteID == "" {
		r.siteID = siteID
	}
}

func (r *run) edgeSite() (netip.Addr, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.edgeAddr, r.siteID
}
