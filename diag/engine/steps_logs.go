package engine

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/edge"
)

// logsStep is procedure step 1: support logs from both sites, collected at the same time once
// the capture window has passed. The Edge's come from the API's tech support bundle, else from
// `show log`; the peer's from its driver.
type logsStep struct{}

func (logsStep) Name() string                 { return "step1-logs" }
func (logsStep) Title() string                { return "Step 1: support logs from both sites" }
func (logsStep) Phase() phase                 { return phaseWindow }
func (logsStep) Snapshot() bool               { return false }
func (logsStep) Timeout(r *run) time.Duration { return windowTimeout(r) + shortTimeout(r) }

// maxLogBytes caps one downloaded log or bundle.
const maxLogBytes = 256 << 20

func (logsStep) Run(ctx context.Context, r *run) Outcome {
	// The window ends on time or early, when the run is cut short: the logs are collected
	// either way, on a context of their own (a bundle download gets two pieces' time).
	_ = waitFor(ctx, r.windowEnd)
	ctx, cancel := afterWindowContext(ctx, 2*r.afterWindowTimeout())
	defer cancel()
	var edgeRes, peerRes string
	var edgeArt, peerArt *diag.Artifact
	var edgeErr, peerErr error
	var wg sync.WaitGroup
	wg.Go(func() { edgeArt, edgeRes, edgeErr = r.edgeLogs(ctx) })
	wg.Go(func() { peerArt, peerRes, peerErr = r.peerLogs(ctx) })
	wg.Wait()
	var arts []diag.Artifact
	for _, a := range []*diag.Artifact{edgeArt, peerArt} {
		if a != nil {
			arts = append(arts, *a)
		}
	}
	sum := fmt.Sprintf("edge: %s; peer: %s", resOrErr(edgeRes, edgeErr), resOrErr(peerRes, peerErr))
	out := Outcome{Summary: sum, Artifacts: arts}
	if edgeErr != nil && (peerErr != nil || peerArt == nil) {
		out.Err = fmt.Errorf("no logs: edge: %v; peer: %v", edgeErr, peerErr)
	}
	return out
}

func resOrErr(res string, err error) string {
	if err != nil {
		return "failed (" + err.Error() + ")"
	}
	return res
}

func (r *run) edgeLogs(ctx context.Context) (*diag.Artifact, string, error) {
	if a, res, ok := r.receivedLogs(); ok {
		return a, res, nil
	}
	var apiErr error
	if mgr, err := r.manager(); err == nil {
		a, err := r.techSupport(ctx, mgr)
		if err == nil {
			return &a, fmt.Sprintf("tech support bundle %s (%d bytes)", a.Name, a.Size), nil
		}
		apiErr = err
		r.addMissing("Edge tech support logs: " + err.Error())
	}
	cli, err := r.edgeCLI()
	if err != nil {
		if apiErr != nil {
			return nil, "", fmt.Errorf("tech support: %v; %w", apiErr, err)
		}
		return nil, "", err
	}
	out, err := cli.Run(ctx, edge.CmdLog)
	if err != nil {
		return nil, "", err
	}
	a, err := r.writeArtifact("logs/edge.log", "log", []byte(out))
	if err != nil {
		return nil, "", err
	}
	r.collect(func(c *Collected) {
		c.Logs = append(c.Logs, LogFile{Path: a.Name, Site: "edge", Timezone: r.edge.LogTimezone})
	})
	return &a, fmt.Sprintf("%s from `show log` (%d bytes)", a.Name, a.Size), nil
}

func (r *run) techSupport(ctx context.Context, mgr Manager) (diag.Artifact, error) {
	const tmp = "logs/edge-techsupport.gz"
	a, kept, err := r.streamFile(tmp, "log", func(w io.Writer) error {
		_, err := mgr.TechSupportLogs(ctx, r.edge.EdgeID, w, maxLogBytes)
		return err
	})
	if err != nil {
		if kept {
			r.recordArtifact(a) // partial, under the name it was written to
		}
		return a, err
	}
	// Name the bundle after what it holds, so the log reader and people know it; it is recorded
	// (in the report and the store) only under its final name.
	if name := bundleName(filepath.Join(r.dir, tmp)); name != tmp {
		if err := renameFile(filepath.Join(r.dir, tmp), filepath.Join(r.dir, name)); err == nil {
			a.Name = name
		}
	}
	r.recordArtifact(a)
	r.collect(func(c *Collected) {
		c.Logs = append(c.Logs, LogFile{Path: a.Name, Site: "edge", Timezone: r.edge.LogTimezone})
	})
	return a, nil
}

func (r *run) peerLogs(ctx context.Context) (*diag.Artifact, string, error) {
	drv, err := r.peer()
	if err != nil {
		return nil, "", err
	}
	a, err := r.streamArtifact("logs/peer.log", "log", func(w io.Writer) error { return drv.Logs(ctx, w) })
	if err != nil {
		if a.Size > 0 {
			r.addMissing("the peer's log is partial: " + err.Error())
		} else {
			return nil, "", err
		}
	}
	r.collect(func(c *Collected) {
		c.Logs = append(c.Logs, LogFile{Path: a.Name, Site: "peer", Timezone: r.peerCfg.LogTimezone})
	})
	return &a, fmt.Sprintf("%s (%d bytes)", a.Name, a.Size), nil
}
