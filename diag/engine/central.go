package engine

import (
	"context"
	"net/netip"

	"ipsecbot/diag/edge"
)

// centralCLI is the Edge's CLI through the NSX Manager: show commands only.
type centralCLI struct {
	run    edge.CentralRunner
	sshErr error
}

func (c *centralCLI) Run(ctx context.Context, cmd string) (string, error) { return c.run.Run(ctx, cmd) }
func (c *centralCLI) Ping(context.Context, netip.Addr, int, bool) (PingResult, error) {
	return PingResult{}, c.sshErr
}
func (c *centralCLI) StartCapture(context.Context, string, netip.Addr, string) (EdgeCapture, error) {
	return nil, c.sshErr
}
func (c *centralCLI) CaptureFiles(context.Context) ([]string, error) { return nil, c.sshErr }
func (c *centralCLI) AbandonCapture(context.Context, string, []string) error {
	return c.sshErr
}
func (c *centralCLI) Close() error { return nil }
