package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/diag/datapath"
	"ipsecbot/diag/datapath/ladder"
	"ipsecbot/diag/edge"
	"ipsecbot/diag/hostcap"
	"ipsecbot/diag/peer"
	"ipsecbot/store"
)

// Step 8 follows a ping between a VM behind the Edge and a host behind the peer through four
// capture points: the VM's port on its ESXi host (pktcap-uw), the Edge's internal vNic and its
// uplink (debug packet capture, ICMP and ESP), the far side (tcpdump), and names the hop where
// it stopped. It runs on request (Request.DataPath), after steps 1-7, on the hosts the peer's
// datapath block names and no others.

// dataPathStep is procedure step 8.
type dataPathStep struct{}

// LadderFile is step 8's ladder diagram among a run's artifacts.
const LadderFile = "datapath-ladder.png"

func (dataPathStep) Name() string   { return "step8-datapath" }
func (dataPathStep) Title() string  { return "Step 8: a ping through four capture points" }
func (dataPathStep) Phase() phase   { return phaseDataPath }
func (dataPathStep) Snapshot() bool { return false }
func (dataPathStep) Timeout(r *run) time.Duration {
	echoes := 4
	if r.peerCfg != nil && r.peerCfg.DataPath != nil {
		echoes = r.peerCfg.DataPath.EchoCount()
	}
	return 8*shortTimeout(r) + time.Duration(echoes)*2*time.Second
}

func (dataPathStep) Run(ctx context.Context, r *run) Outcome {
	if r.peerCfg == nil || r.peerCfg.DataPath == nil {
		return Outcome{Skip: fmt.Sprintf("peer %s has no datapath block in the configuration (the VM, its ESXi host and the far side to use)", r.peerName())}
	}
	dp := r.peerCfg.DataPath
	if r.edge.Internal == "" {
		return Outcome{Err: fmt.Errorf("edge %s has no internal vNic in the configuration (internal), where point 2 is captured", r.edge.Name)}
	}
	vm1, err1 := netip.ParseAddr(dp.VM.Address)
	host2, err2 := netip.ParseAddr(dp.Remote.Address)
	if err := errors.Join(err1, err2); err != nil || !r.peerAddr.IsValid() {
		return Outcome{Err: fmt.Errorf("the datapath block's addresses: %v", err)}
	}
	cli, err := r.edgeCLI()
	if err != nil {
		return Outcome{Err: err}
	}
	out, err := cli.Run(ctx, edge.CmdServiceIPsecSA)
	if err != nil {
		return Outcome{Err: fmt.Errorf("the tunnel's SPIs: %w", err)}
	}
	sa, err := edge.ParseSA(out)
	if err != nil {
		return Outcome{Err: fmt.Errorf("the tunnel's SPIs: %w", err)}
	}
	spiOut, spiIn, err := hostcap.SPIs(sa, vm1, host2)
	if err != nil {
		return Outcome{Err: fmt.Errorf("the tunnel's SPIs: %w", err)}
	}
	esxi, err := r.dataPathHost(dp.VM.ESXi.Name, dp.VM.ESXi.SSH)
	if err != nil {
		return Outcome{Err: err}
	}
	defer esxi.X.(io.Closer).Close()
	farName, farSSH := r.peerCfg.Name, r.peerCfg.SSH
	if dp.Remote.Via == config.DataPathViaHost {
		farName, farSSH = dp.Remote.Host.Name, dp.Remote.Host.SSH
	}
	far, err := r.dataPathHost(farName, farSSH)
	if err != nil {
		return Outcome{Err: err}
	}
	defer far.X.(io.Closer).Close()
	if dp.Remote.Via == config.DataPathViaPeer {
		// The gateway pings from its inside address (remote.address), so the echoes are the
		// tunnel's traffic between the two hosts.
		far.Templates.Ping = "ping -c {count} -i 1 -I " + host2.String() + " {addr}"
	}

	points := &edgePoints{r: r, lives: []*captureLife{
		newFilteredCaptureLife(r, cli, r.edge.Internal, edge.ICMPExpr(vm1, host2)),
		newFilteredCaptureLife(r, cli, r.edge.Uplink, edge.ESPExpr(r.peerAddr)),
	}}
	defer points.Abort(ctx) // every way out, a panic included: nothing stays on the Edge
	plan := hostcap.Plan{ESXi: esxi, VM: dp.VM.Name, NIC: dp.VM.NIC, Edge: points, Far: far, PingFrom: far,
		Echoes: dp.EchoCount(), Dir: r.dir,
		Input: datapath.Input{VM1: vm1, Host2: host2, SPIOut: spiOut, SPIIn: spiIn}}
	got, err := plan.Run(ctx)
	if err != nil {
		return Outcome{Err: err}
	}
	return r.keepDataPath(got)
}

// keepDataPath records the captures, the ladder and the finding for the report.
func (r *run) keepDataPath(got *hostcap.Outcome) Outcome {
	res := got.Result
	var arts []diag.Artifact
	var errs []error
	for _, name := range got.Files {
		a, err := r.addFileArtifact(filepath.Join(r.dir, name), "pcap")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		arts = append(arts, a)
	}
	found := &diag.DataPath{Verdict: res.Verdict, Direction: string(res.Direction), Leg: string(res.Leg), Stop: res.Stop,
		Summary: res.Summary, Table: datapath.Table(res), Evidence: res.Evidence, Captures: got.Files}
	if found.Evidence == nil {
		found.Evidence = []diag.Evidence{}
	}
	if png, err := ladder.PNG(res); err != nil {
		errs = append(errs, fmt.Errorf("the ladder diagram: %w", err))
	} else if a, err := r.writeArtifact(LadderFile, "png", png); err != nil {
		errs = append(errs, err)
	} else {
		arts, found.Ladder = append(arts, a), a.Name
	}
	if js, err := json.Marshal(res); err == nil {
		found.Result = js
	}
	r.mu.Lock()
	r.dataPath = found
	r.mu.Unlock()
	sum := fmt.Sprintf("%s: %s", res.Verdict, res.Summary)
	return Outcome{Summary: sum, Evidence: res.Evidence, Artifacts: arts, Err: errors.Join(errs...)}
}

// dataPathHost is a host of the datapath block, over SSH, its captures on record in the store.
func (r *run) dataPathHost(name string, s *config.SSH) (*hostcap.Host, error) {
	t, err := peer.SSHTargetFrom(r.e.cfg, name, s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	h := &hostcap.Host{Name: name, X: peer.NewSSHExec(t)}
	if r.e.db != nil {
		h.Records = hostRecords{r: r}
	}
	return h, nil
}

// hostRecords keeps step 8's host captures in the store, beside the Edge's.
type hostRecords struct{ r *run }

func (h hostRecords) Record(host, file string, pid int) error {
	err := h.r.e.db.PutCapture(store.Capture{Edge: h.r.edge.Name, Host: host, File: file, PID: pid,
		Incident: h.r.req.Incident, Started: h.r.e.opts.Now()})
	if err == nil && pid > 0 {
		h.r.timeline(store.EventCapture, fmt.Sprintf("capture started on %s (%s, process %d)", host, file, pid))
	}
	return err
}

func (h hostRecords) Forget(host, file string) error {
	if err := h.r.e.db.DeleteCapture(h.r.edge.Name, file); err != nil {
		return err
	}
	h.r.timeline(store.EventCapture, fmt.Sprintf("capture %s stopped and removed from %s", file, host))
	return nil
}

// edgePoints is the Edge's part of step 8 (hostcap.EdgeCapture): a capture on the internal vNic
// and one on the uplink, each a captureLife (recorded before it starts, stopped and removed on
// every way out, cleaned up after a restart).
type edgePoints struct {
	r     *run
	lives []*captureLife // internal (point 2), uplink (point 3)
}

func (p *edgePoints) Start(ctx context.Context) error {
	for _, l := range p.lives {
		if err := l.start(ctx); err != nil {
			return err
		}
		l.openWindow()
	}
	return nil
}

// Finish stops, fetches and removes both captures and returns their content.
func (p *edgePoints) Finish(ctx context.Context) (internal, uplink []byte, err error) {
	var data [2][]byte
	var errs []error
	for i, l := range p.lives {
		data[i], err = p.finishOne(ctx, l)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return data[0], data[1], nil
}

func (p *edgePoints) finishOne(ctx context.Context, l *captureLife) (data []byte, err error) {
	defer func() { err = errors.Join(err, l.end(ctx)) }()
	if err := p.r.afterWindow(ctx, l.stop); err != nil {
		return nil, err
	}
	var path string
	if err := p.r.afterWindow(ctx, func(ctx context.Context) (err error) { path, err = l.fetch(ctx); return err }); err != nil {
		return nil, fmt.Errorf("fetch the capture on %s: %w", l.iface, err)
	}
	data, err = os.ReadFile(path)
	os.Remove(path) // hostcap.Plan writes it as point-N.pcap
	if err != nil {
		return nil, err
	}
	if err := p.r.afterWindow(ctx, l.remove); err != nil {
		return nil, err
	}
	return data, nil
}

// Abort drives both captures to removed and forgotten, whatever state they are in.
func (p *edgePoints) Abort(ctx context.Context) error {
	var errs []error
	for _, l := range p.lives {
		errs = append(errs, l.end(ctx))
	}
	return errors.Join(errs...)
}

// dataPathVerdict makes step 8's finding the report's cause when steps 1-7 found none (healthy
// or unknown) and step 8 saw where the ping stopped; otherwise it is an also-seen finding.
func dataPathVerdict(v *diag.Verdict, dp *diag.DataPath) {
	if dp == nil || dp.Verdict == diag.CauseHealthy || dp.Verdict == "" {
		return
	}
	if v.Cause != diag.CauseHealthy && v.Cause != diag.CauseUnknown {
		v.AlsoSeen = append(v.AlsoSeen, diag.Finding{Cause: dp.Verdict, Confidence: 0.9, Evidence: dp.Evidence})
		return
	}
	v.Cause, v.Confidence, v.Summary = dp.Verdict, 0.9, "Step 8: "+dp.Summary
	v.Evidence = dp.Evidence
	v.Remediation = datapath.Remediation(dp.Verdict)
}

// cleanupHosts stops and removes the step-8 host captures among an edge's records (what a run
// that died left on the ESXi host or the far side) and returns the Edge's own records. A host
// no longer in the edge's datapath inventory is not dialled: its record stays, with an error.
func (e *Engine) cleanupHosts(ctx context.Context, edgeName string, recs []store.Capture) (n int, rest []store.Capture, err error) {
	var errs []error
	for _, c := range recs {
		if c.Host == "" {
			rest = append(rest, c)
			continue
		}
		s, ok := dataPathHostSSH(e.cfg, edgeName, c.Host)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: capture %s recorded on host %s, which no datapath block names (it stays recorded)", edgeName, c.File, c.Host))
			continue
		}
		t, terr := peer.SSHTargetFrom(e.cfg, c.Host, s)
		if terr != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.Host, terr))
			continue
		}
		x := peer.NewSSHExec(t)
		h := &hostcap.Host{Name: c.Host, X: x}
		cerr := h.Cleanup(ctx, c.File, c.PID)
		x.Close()
		if cerr != nil {
			errs = append(errs, fmt.Errorf("%s (it stays recorded)", cerr))
			continue
		}
		if derr := e.db.DeleteCapture(c.Edge, c.File); derr != nil {
			errs = append(errs, derr)
			continue
		}
		e.log.Info("stale capture removed", "edge", edgeName, "host", c.Host, "file", c.File)
		n++
	}
	return n, rest, errors.Join(errs...)
}

// dataPathHostSSH finds a host of the edge's datapath blocks by name: a VM's ESXi host, a
// remote host, or a peer the far side is reached through.
func dataPathHostSSH(cfg *config.Config, edgeName, host string) (*config.SSH, bool) {
	ec, ok := cfg.Edge(edgeName)
	if !ok {
		return nil, false
	}
	for _, p := range ec.Peers {
		dp := p.DataPath
		switch {
		case dp == nil:
		case dp.VM.ESXi != nil && dp.VM.ESXi.Name == host:
			return dp.VM.ESXi.SSH, true
		case dp.Remote.Via == config.DataPathViaHost && dp.Remote.Host != nil && dp.Remote.Host.Name == host:
			return dp.Remote.Host.SSH, true
		case dp.Remote.Via == config.DataPathViaPeer && p.Name == host && p.SSH != nil:
			return p.SSH, true
		}
	}
	return nil, false
}
