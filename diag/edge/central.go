package edge

import (
	"context"
	"fmt"
)

// CentralCLI is the NSX Manager's central CLI call (diag/nsx's Client.CentralCLI:
// POST /api/1.0/nsx/cli?action=execute with Accept: text/plain).
type CentralCLI interface {
	CentralCLI(ctx context.Context, edgeID, command string) (string, error)
}

// CentralRunner runs show commands through the NSX Manager when SSH to the Edge is not allowed.
// It passes the Edge's own command and the edge ID; the manager client builds the central-CLI
// request. Captures and file copies need the SSH session and are not available this way.
type CentralRunner struct {
	Manager CentralCLI
	EdgeID  string // "edge-1"
}

var _ Runner = CentralRunner{}

// Run runs one command through the manager; an Edge error reply wraps ErrCommand.
func (c CentralRunner) Run(ctx context.Context, command string) (string, error) {
	out, err := c.Manager.CentralCLI(ctx, c.EdgeID, command)
	if err != nil {
		return "", fmt.Errorf("%s via central CLI: %q: %w", c.EdgeID, command, err)
	}
	out = cleanOutput(out)
	if e := EdgeError(out); e != "" {
		return out, fmt.Errorf("%s via central CLI: %q: %s: %w", c.EdgeID, command, e, ErrCommand)
	}
	return out, nil
}
