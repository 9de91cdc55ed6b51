package fault

import (
	"context"
	"errors"
	"strings"
	"syscall"
)

// Sentence says in one sentence, for an operator, what went wrong and what to check: "The Edge
// refused the SSH login (check the user and password for edge-01)." The error's full text is
// for the log and the report, never for this sentence: it may hold internal detail.
func Sentence(err error) string {
	if err == nil {
		return ""
	}
	d, _ := DeviceOf(err)
	who := describe(d)
	name := d.Name
	if name == "" {
		name = "it"
	}
	var s string
	switch {
	case errors.Is(err, context.Canceled):
		s = "The work was cancelled before it finished."
	case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EFBIG) || errors.Is(err, syscall.EDQUOT):
		s = "The bot's disk is full (or a file size limit was reached), so what it had to save could not be written."
	case errors.Is(err, ErrHostKey):
		s = capital(who) + " presented an SSH host key that is not the one in known_hosts, so the bot did not log in (check the known_hosts entry for " + name + ")."
	case errors.Is(err, ErrAuth):
		switch d.Role {
		case RoleManager:
			s = capital(who) + " refused the bot's login or request (check the user, password and NSX role configured for " + name + ")."
		case "":
			s = "A device refused the bot's login (check the configured user and password)."
		default:
			s = "The " + d.Role + " refused the SSH login (check the user and password for " + name + ")."
		}
	case errors.Is(err, ErrUnreachable):
		s = "The bot could not connect to " + who + " (check its address in the configuration and that it is up)."
	case Timeout(err) || errors.Is(err, context.DeadlineExceeded):
		s = capital(who) + " did not answer in time (it may be overloaded, or the network to it slow)."
	case errors.Is(err, ErrMalformed):
		s = capital(who) + " answered in a form the bot cannot read."
	case errors.Is(err, ErrNotFound):
		s = capital(who) + " does not have what was asked for (check the names and IDs in the configuration)."
	case d != Device{}:
		s = "Something failed while working with " + who + "."
	default:
		s = "An internal error stopped the work."
	}
	return s + " The details are in the bot's log."
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
