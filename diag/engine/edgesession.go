package engine

import (
	"context"
	"fmt"
	"net/netip"

	"ipsecbot/config"
	"ipsecbot/diag/edge"
)

// edgeSession adapts *edge.Session to EdgeCLI.
type edgeSession struct {
	s         *edge.Session
	edge      *config.Edge
	conn      *defaultConnector
	cfg       *config.Config
	appliance string // edgeTarget.which: the HA appliance dialled, and why
}

// pingCount is how many echo requests each MTU ping sends.
const pingCount = 3

// held keeps a cancel of the run from reaching a command in flight: diag/edge closes the
// session when a command's context ends, and this run still needs the session afterwards to
// stop, fetch and remove its capture. Each command stays bounded by its own timeout, and by
// ctx's deadline (the run's overall one among them): a hanging Edge costs the run no more.
func held(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(context.WithoutCancel(ctx), dl)
	}
	return context.WithoutCancel(ctx), func() {}
}

func (e *edgeSession) Run(ctx context.Context, cmd string) (string, error) {
	ctx, cancel := held(ctx)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s: not sent: %w", cmd, err) // a command started out of time would close the session
	}
	return e.s.Run(ctx, cmd)
}

func (e *edgeSession) Ping(ctx context.Context, dst netip.Addr, size int, df bool) (PingResult, error) {
	ctx, cancel := held(ctx)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return PingResult{}, fmt.Errorf("ping %s: not sent: %w", dst, err)
	}
	sent, recv, err := e.s.Ping(ctx, dst, size, pingCount, df)
	out := fmt.Sprintf("ping %s size %d count %d df=%v: %d sent, %d received", dst, size, pingCount, df, sent, recv)
	return PingResult{Sent: sent, Received: recv, Output: out}, err
}

func (e *edgeSession) CaptureFiles(ctx context.Context) ([]string, error) {
	ctx, cancel := held(ctx)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list capture files: not sent: %w", err)
	}
	files, err := e.s.Files(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, f.Name)
	}
	return names, nil
}

// StartCapture starts the capture. The Edge names its file only when it stops, so nothing
// is predicted here: the caller has recorded the files from before (CaptureFiles).
func (e *edgeSession) StartCapture(ctx context.Context, iface string, p netip.Addr, expr string) (EdgeCapture, error) {
	ctx, cancel := held(ctx)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start capture: not sent: %w", err)
	}
	c, err := e.s.StartCapture(ctx, edge.CaptureSpec{Interface: iface, Peer: p, Expr: expr,
		MaxBytes: e.edge.Capture.ByteLimit(), MaxDuration: e.edge.Capture.TimeLimit()})
	if err != nil {
		return nil, err
	}
	return &edgeCapture{c: c, e: e}, nil
}

// AbandonCapture stops and removes what a capture whose handle was lost left on iface.
func (e *edgeSession) AbandonCapture(ctx context.Context, iface string, before []string) error {
	return e.s.AbandonCapture(ctx, iface, before)
}

func (e *edgeSession) Close() error { return e.s.Close() }

type edgeCapture struct {
	c *edge.Capture
	e *edgeSession
}

// File is the capture's file on the Edge once stopped ("" before): read under the capture's
// lock, since its time-cap timer may be stopping it.
func (c *edgeCapture) File() string                   { return c.c.CurrentFile() }
func (c *edgeCapture) Interface() string              { return c.c.Interface }
func (c *edgeCapture) Stop(ctx context.Context) error { return c.c.Stop(ctx) }
func (c *edgeCapture) Remove(ctx context.Context) error {
	return c.c.Remove(ctx)
}

func (c *edgeCapture) Fetch(ctx context.Context, dir string) (string, error) {
	recv, err := c.e.conn.receiver(c.e.cfg, c.e.edge.Capture.SCPListen)
	if err != nil {
		return "", err
	}
	return c.c.Fetch(ctx, recv, dir)
}
