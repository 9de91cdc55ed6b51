package edge

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// CentralCLI is the NSX Manager's central CLI call (diag/nsx's Client.CentralCLI:
// POST /api/1.0/nsx/cli?action=execute with Accept: text/plain). The edge is named inside the
// command text.
type CentralCLI interface {
	CentralCLI(ctx context.Context, command string) (string, error)
}

// CentralRunner runs show commands through the NSX Manager when SSH to the Edge is not allowed.
// Captures, file copies and ping need the SSH session and are not available this way.
type CentralRunner struct {
	Manager CentralCLI
	EdgeID  string // "edge-1"
}

var _ Runner = CentralRunner{}

var validEdgeID = regexp.MustCompile(`^edge-[0-9]+$`)

// CentralCommand turns an Edge command ("show service ipsec") into the central CLI's form.
// [UNVERIFIED] "show edge <edgeId> <rest>" (docs/nsx-formats.md §1.1: no public sample of the
// central CLI's edge IPsec commands); diag/nsx and lab/nsxsim use the same form.
func CentralCommand(edgeID, command string) (string, error) {
	rest, ok := strings.CutPrefix(command, "show ")
	if !ok || !validEdgeID.MatchString(edgeID) || strings.ContainsAny(command, "\r\n\x03") {
		return "", fmt.Errorf("central CLI: %q on %q: only show commands on an edge-N: %w", command, edgeID, ErrInvalidArgument)
	}
	return "show edge " + edgeID + " " + rest, nil
}

// Run runs one show command through the manager; an Edge error reply wraps ErrCommand.
func (c CentralRunner) Run(ctx context.Context, command string) (string, error) {
	central, err := CentralCommand(c.EdgeID, command)
	if err != nil {
		return "", err
	}
	out, err := c.Manager.CentralCLI(ctx, central)
	if err != nil {
		return "", fmt.Errorf("%s via central CLI: %q: %w", c.EdgeID, command, err)
	}
	out = cleanOutput(out)
	if e := EdgeError(out); e != "" {
		return out, fmt.Errorf("%s via central CLI: %q: %s: %w", c.EdgeID, command, e, ErrCommand)
	}
	return out, nil
}
