// Package fault is the failure vocabulary the bot's device clients share (the Edge CLI, the
// NSX Manager API, the peer gateway): a few kinds callers test with errors.Is, the device an
// error concerns, and one sentence for an operator (Sentence).
package fault

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

// The kinds of failure. Each package's errors match one of them with errors.Is.
var (
	// ErrAuth: the device refused the user, password or key (or the role lacks the right).
	ErrAuth = errors.New("authentication refused")
	// ErrUnreachable: no connection could be made (refused, no route, unknown host, dropped).
	ErrUnreachable = errors.New("unreachable")
	// ErrTimeout: the device did not answer in time.
	ErrTimeout = errors.New("timed out")
	// ErrMalformed: the device answered, in a form the bot cannot read.
	ErrMalformed = errors.New("unexpected format")
	// ErrNotFound: the device does not have what was asked for.
	ErrNotFound = errors.New("not found")
	// ErrHostKey: the device's SSH host key is not the one on file (unknown or changed).
	ErrHostKey = errors.New("host key not trusted")
)

// Roles of the devices the bot talks to, as an operator names them.
const (
	RoleEdge    = "Edge"
	RoleManager = "NSX Manager"
	RolePeer    = "peer gateway"
)

// Device is who an error concerns: a role and the inventory name.
type Device struct {
	Role string
	Name string
}

// Located is an error that knows its device.
type Located interface {
	error
	Device() Device
}

// Error is a failure of one kind at one device.
type Error struct {
	Kind error  // one of the Err* kinds above
	At   Device // the device
	What string // what failed, in words ("login as \"admin\" refused (wrong password or key)")
	Err  error  // the cause, or nil
}

func (e *Error) Error() string {
	s := e.What
	if e.At.Name != "" {
		s = e.At.Name + ": " + s
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is matches the error's kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

func (e *Error) Unwrap() error { return e.Err }

// Device is the device the error concerns.
func (e *Error) Device() Device { return e.At }

// At marks err as concerning d, leaving its text and its kinds as they are.
func At(d Device, err error) error {
	if err == nil {
		return nil
	}
	return &located{d: d, err: err}
}

type located struct {
	d   Device
	err error
}

func (l *located) Error() string  { return l.err.Error() }
func (l *located) Unwrap() error  { return l.err }
func (l *located) Device() Device { return l.d }

// Unreachable reports whether err is a failure to connect at all: refused, reset or dropped
// before any answer, no route, or a name that does not resolve. Timeouts are not included.
func Unreachable(err error) bool {
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return false
	}
	if _, ok := errors.AsType[*net.DNSError](err); ok {
		return true
	}
	if op, ok := errors.AsType[*net.OpError](err); ok && op.Op == "dial" {
		return true
	}
	for _, e := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EHOSTUNREACH, syscall.ENETUNREACH, io.EOF, io.ErrUnexpectedEOF} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Timeout reports whether err is a timeout: ErrTimeout, or a network timeout.
func Timeout(err error) bool {
	if errors.Is(err, ErrTimeout) {
		return true
	}
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}

// DeviceOf returns the device err concerns, and false when it names none.
func DeviceOf(err error) (Device, bool) {
	if l, ok := errors.AsType[Located](err); ok {
		return l.Device(), true
	}
	return Device{}, false
}

// describe names a device for a sentence: "the Edge edge-01", "the NSX Manager nsx-a".
func describe(d Device) string {
	switch {
	case d.Role != "" && d.Name != "":
		return fmt.Sprintf("the %s %s", d.Role, d.Name)
	case d.Role != "":
		return "the " + d.Role
	case d.Name != "":
		return d.Name
	}
	return "a device"
}
