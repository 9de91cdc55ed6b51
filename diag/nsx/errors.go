package nsx

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"ipsecbot/diag/fault"
)

// Error kinds callers test with errors.Is. Beside these, the Manager's errors match the
// diag/fault kinds every device shares: fault.ErrAuth (401, 403), fault.ErrTimeout,
// fault.ErrNotFound (404), fault.ErrUnreachable, fault.ErrMalformed (= ErrMalformed).
var (
	// ErrUnauthorized: the Manager answered 401 (wrong user or password).
	ErrUnauthorized = errors.New("401 unauthorized")
	// ErrForbidden: the Manager answered 403 (the user's role does not allow the call).
	ErrForbidden = errors.New("403 forbidden")
	// ErrMalformed: a document could not be decoded.
	ErrMalformed = fault.ErrMalformed
	// ErrTooLarge: a body or download exceeded its size cap.
	ErrTooLarge = errors.New("exceeds the size cap")
)

// AuthError is a 401 or 403 answer, named plainly with the manager and the user.
// errors.Is(err, ErrUnauthorized) / errors.Is(err, ErrForbidden) match it.
type AuthError struct {
	Manager string
	User    string
	Op      string // "GET /api/4.0/edges"
	Status  int    // 401 or 403
}

func (e *AuthError) Error() string {
	if e.Status == http.StatusForbidden {
		return fmt.Sprintf("%s: 403 Forbidden for user %s on %s: the user's NSX role does not allow it", e.Manager, e.User, e.Op)
	}
	return fmt.Sprintf("%s: 401 Unauthorized for user %s: check the password", e.Manager, e.User)
}

// Is matches ErrUnauthorized or ErrForbidden by status, and fault.ErrAuth for both.
func (e *AuthError) Is(target error) bool {
	return target == fault.ErrAuth ||
		(target == ErrUnauthorized && e.Status == http.StatusUnauthorized) ||
		(target == ErrForbidden && e.Status == http.StatusForbidden)
}

// Device is the Manager that refused.
func (e *AuthError) Device() fault.Device { return managerDevice(e.Manager) }

// APIError is any other error status, with the Manager's <error> document decoded when it sent one.
type APIError struct {
	Manager string
	Op      string
	Status  int
	Code    int    // <errorCode>; 0 when the body had none
	Details string // <details>
	Module  string // <moduleName>
}

func (e *APIError) Error() string {
	var b strings.Builder
	if e.Manager != "" {
		b.WriteString(e.Manager + ": ")
	}
	if e.Op != "" {
		b.WriteString(e.Op + ": ")
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
	} else {
		b.WriteString("error document")
	}
	if e.Details != "" {
		b.WriteString(": " + e.Details)
	}
	if e.Code != 0 || e.Module != "" {
		b.WriteString(" (")
		if e.Module != "" {
			b.WriteString(e.Module + " ")
		}
		fmt.Fprintf(&b, "error %d)", e.Code)
	}
	return b.String()
}

// Is matches fault.ErrNotFound for a 404.
func (e *APIError) Is(target error) bool {
	return target == fault.ErrNotFound && e.Status == http.StatusNotFound
}

// Device is the Manager that answered.
func (e *APIError) Device() fault.Device { return managerDevice(e.Manager) }

// Temporary reports whether the status is a server-side one worth retrying (5xx).
func (e *APIError) Temporary() bool { return e.Status >= 500 }

// TimeoutError is a call that got no (complete) answer in time, after all its attempts.
type TimeoutError struct {
	Manager  string
	Op       string
	After    time.Duration // the per-request timeout
	Attempts int
	Err      error
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s: %s: no answer within %s (%d attempt%s)", e.Manager, e.Op, e.After, e.Attempts, plural(e.Attempts))
}

// Timeout reports true, as net.Error does.
func (e *TimeoutError) Timeout() bool { return true }

func (e *TimeoutError) Unwrap() error { return e.Err }

// Is matches fault.ErrTimeout.
func (e *TimeoutError) Is(target error) bool { return target == fault.ErrTimeout }

// Device is the Manager that did not answer.
func (e *TimeoutError) Device() fault.Device { return managerDevice(e.Manager) }

// DecodeError is a document that is not the XML it should be.
type DecodeError struct {
	Doc string // the expected root element
	Err error
}

func (e *DecodeError) Error() string { return fmt.Sprintf("decode <%s>: %v", e.Doc, e.Err) }

// Is matches ErrMalformed.
func (e *DecodeError) Is(target error) bool { return target == ErrMalformed }

func (e *DecodeError) Unwrap() error { return e.Err }

func managerDevice(name string) fault.Device {
	return fault.Device{Role: fault.RoleManager, Name: name}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
