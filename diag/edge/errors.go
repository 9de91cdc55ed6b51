package edge

import (
	"errors"
	"fmt"
)

// Errors a caller may want to tell apart. Each is wrapped with the edge and command it concerns.
var (
	// ErrAuth: the Edge refused the user, password or key (or the enable password).
	ErrAuth = errors.New("authentication refused")
	// ErrHostKeyUnknown: the Edge's host key is not in known_hosts (HostKeyError wraps it).
	ErrHostKeyUnknown = errors.New("host key unknown")
	// ErrHostKeyChanged: the Edge's host key differs from the one in known_hosts (HostKeyError wraps it).
	ErrHostKeyChanged = errors.New("host key changed")
	// ErrCommand: the Edge answered a command with its error text (unknown command, bad argument).
	ErrCommand = errors.New("edge refused the command")
	// ErrFormat: a show command's output did not have the expected shape.
	ErrFormat = errors.New("unexpected output")
	// ErrClosed: the session was closed, by Close, a cancelled context or the Edge.
	ErrClosed = errors.New("session closed")
	// ErrInvalidArgument: a capture parameter failed validation (never sent to the Edge).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrDiskFull: the Edge has less free space than a capture may need.
	ErrDiskFull = errors.New("not enough free disk on the edge")
)

// HostKeyError says which host presented which key, and whether known_hosts had another one.
type HostKeyError struct {
	Host        string // as dialled, host:port
	Fingerprint string // SHA256 fingerprint of the key the host presented
	Changed     bool   // known_hosts has a different key for the host (possible MITM)
}

func (e *HostKeyError) Error() string {
	if e.Changed {
		return fmt.Sprintf("host key for %s changed: presented %s, which is not the key in known_hosts (refused)", e.Host, e.Fingerprint)
	}
	return fmt.Sprintf("host key for %s is unknown: presented %s, not in known_hosts (refused)", e.Host, e.Fingerprint)
}

// Unwrap lets errors.Is match ErrHostKeyUnknown or ErrHostKeyChanged.
func (e *HostKeyError) Unwrap() error {
	if e.Changed {
		return ErrHostKeyChanged
	}
	return ErrHostKeyUnknown
}

// TimeoutError says that a command (or the connection, when Command is empty) did not finish in time.
type TimeoutError struct {
	Edge    string
	Command string
	After   string // the timeout, as a duration string
}

func (e *TimeoutError) Error() string {
	if e.Command == "" {
		return fmt.Sprintf("%s: connect timed out after %s", e.Edge, e.After)
	}
	return fmt.Sprintf("%s: %q timed out after %s", e.Edge, e.Command, e.After)
}

// Timeout reports true, as net.Error does.
func (e *TimeoutError) Timeout() bool { return true }

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
