package edge

import (
	"errors"
	"fmt"

	"ipsecbot/diag/fault"
	"ipsecbot/diag/sshdial"
)

// Errors a caller may want to tell apart. Each is wrapped with the edge and command it
// concerns. The failures every device shares are diag/fault's kinds under edge names.
var (
	// ErrAuth: the Edge refused the user, password or key (or the enable password).
	ErrAuth = fault.ErrAuth
	// ErrHostKeyUnknown: the Edge's host key is not in known_hosts (HostKeyError wraps it).
	ErrHostKeyUnknown = sshdial.ErrHostKeyUnknown
	// ErrHostKeyChanged: the Edge's host key differs from the one in known_hosts (HostKeyError wraps it).
	ErrHostKeyChanged = sshdial.ErrHostKeyChanged
	// ErrCommand: the Edge answered a command with its error text (unknown command, bad argument).
	ErrCommand = errors.New("edge refused the command")
	// ErrFormat: a show command's output did not have the expected shape.
	ErrFormat = fault.ErrMalformed
	// ErrClosed: the session was closed, by Close, a cancelled context or the Edge.
	ErrClosed = errors.New("session closed")
	// ErrInvalidArgument: a capture parameter failed validation (never sent to the Edge).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrDiskFull: the Edge has less free space than a capture may need.
	ErrDiskFull = errors.New("not enough free disk on the edge")
)

// HostKeyError says which host presented which key, and whether known_hosts had another one.
type HostKeyError = sshdial.HostKeyError

// TimeoutError says that a command did not finish in time.
type TimeoutError struct {
	Edge    string
	Command string
	After   string // the timeout, as a duration string
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s: %q timed out after %s", e.Edge, e.Command, e.After)
}

// Timeout reports true, as net.Error does.
func (e *TimeoutError) Timeout() bool { return true }

// Is matches fault.ErrTimeout.
func (e *TimeoutError) Is(target error) bool { return target == fault.ErrTimeout }

// Device is the Edge the command ran on.
func (e *TimeoutError) Device() fault.Device { return fault.Device{Role: fault.RoleEdge, Name: e.Edge} }

// formatError builds an ErrFormat error for a parser: which command, which line, what was wrong.
func formatError(command string, line int, format string, args ...any) error {
	if line > 0 {
		return fmt.Errorf("%s: line %d: %s: %w", command, line, fmt.Sprintf(format, args...), ErrFormat)
	}
	return fmt.Errorf("%s: %s: %w", command, fmt.Sprintf(format, args...), ErrFormat)
}

// unreadable is the error of output a parser found nothing in: the Edge's own error text when
// it answered with one (an unknown command, a missing argument), else what the parser missed.
func unreadable(command, out string, line int, format string, args ...any) error {
	if e := EdgeError(out); e != "" {
		return formatError(command, line, "edge answered %q", e)
	}
	return formatError(command, line, format, args...)
}
