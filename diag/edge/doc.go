// Package edge talks to an NSX-v Edge Services Gateway's CLI: a prompt-driven SSH session
// on a PTY (Session), typed parsers for the show commands the procedure records, packet
// capture control whose files come back through the bot's own receive-only SCP endpoint
// (SCPReceiver), and an adapter for the NSX Manager's central CLI when SSH is not allowed.
//
// Parsers and the engine depend only on Runner, so they do not care which path ran a command.
// Commands sent to the Edge are built from fixed templates and validated tokens only.
package edge

import "context"

// Runner runs one Edge CLI command and returns its output with prompts, echo, pager marks
// and ANSI escapes removed. *Session (SSH) and CentralRunner (NSX Manager central CLI)
// satisfy it.
type Runner interface {
	Run(ctx context.Context, command string) (string, error)
}
