package edge

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// expectRule answers an intermediate prompt (host key question, password) during a command.
// A rule fires once; the same prompt again means the answer was refused.
type expectRule struct {
	name   string // for errors: "password"
	re     *regexp.Regexp
	answer string
	fired  bool
}

// pagerMark matches a pager waiting for a key at the end of the output so far
// (docs/nsx-formats.md §1.1: a less-like "byte NNNN" status; --More-- as other CLIs print).
// The mark must start its line, so output text that happens to contain "byte 12" does not page.
var pagerMark = regexp.MustCompile(`(?:^|\n)[ \t]*(?:byte \d+|--More--|<--- More --->|\(END\)|lines \d+-\d+(?:/\d+)?)[^\n]*$`)

// enableCommands are the command prefixes the Edge only accepts in enable mode.
// [INF] The sources show `debug packet ...` run at the ">" prompt on old builds; entering
// enable mode first is harmless and is what field procedures do, so debug and configuration
// commands always run in enable mode.
var enableCommands = []string{"debug ", "no debug ", "show configuration"}

func needsEnable(command string) bool {
	for _, p := range enableCommands {
		if strings.HasPrefix(command, p) {
			return true
		}
	}
	return false
}

// Run runs one command and returns its output without echo, prompt, pager marks or escapes.
// An Edge error reply ("% ...") is returned as an error wrapping ErrCommand, with the output.
// On the per-command timeout the command is interrupted (Ctrl-C) and a *TimeoutError returned;
// the session stays usable if the Edge comes back to its prompt, otherwise it is closed.
// Cancelling ctx closes the session.
func (s *Session) Run(ctx context.Context, command string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runLocked(ctx, command, nil)
}

func (s *Session) runLocked(ctx context.Context, command string, rules []*expectRule) (string, error) {
	if strings.ContainsAny(command, "\r\n\x03") {
		return "", fmt.Errorf("%s: command with control characters: %w", s.t.Name, ErrInvalidArgument)
	}
	if needsEnable(command) && !s.enabled {
		if err := s.enable(ctx); err != nil {
			return "", err
		}
	}
	out, err := s.exec(ctx, command, rules)
	if err != nil {
		return out, err
	}
	if e := EdgeError(out); e != "" {
		return out, fmt.Errorf("%s: %q: %s: %w", s.t.Name, command, e, ErrCommand)
	}
	return out, nil
}

// enable enters enable mode: "enable", then the password at "Password:".
func (s *Session) enable(ctx context.Context) error {
	pw := &expectRule{name: "enable password", re: regexp.MustCompile(`(?i)password: ?$`), answer: s.t.EnablePassword}
	out, err := s.exec(ctx, "enable", []*expectRule{pw})
	if err != nil {
		if errors.Is(err, ErrAuth) {
			return fmt.Errorf("%s: enable: %w (wrong enable password)", s.t.Name, ErrAuth)
		}
		return err
	}
	if !s.enabled {
		if e := EdgeError(out); e != "" {
			return fmt.Errorf("%s: enable: %s: %w", s.t.Name, e, ErrAuth)
		}
		return fmt.Errorf("%s: enable: still at the > prompt: %w", s.t.Name, ErrAuth)
	}
	return nil
}

// exec sends one command line and reads up to the next prompt.
func (s *Session) exec(ctx context.Context, command string, rules []*expectRule) (string, error) {
	select {
	case <-s.done:
		return "", fmt.Errorf("%s: %q: %w", s.t.Name, command, ErrClosed)
	default:
	}
	timeout := s.t.CommandTimeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = time.Until(d)
	}
	// Keep a fifth of the time (at most 1 s) to interrupt and find the prompt again, so the
	// whole call ends within the timeout.
	resync := min(timeout/5, time.Second)
	cctx, cancel := context.WithTimeout(ctx, timeout-resync)
	defer cancel()
	if _, err := s.stdin.Write([]byte(command + "\r")); err != nil {
		s.Close()
		return "", fmt.Errorf("%s: %q: send: %v: %w", s.t.Name, command, err, ErrClosed)
	}
	raw, err := s.readUntil(cctx, rules, command)
	switch {
	case err == nil:
		return cleanCommandOutput(raw, command), nil
	case errors.Is(err, ErrAuth):
		s.interrupt(ctx, resync+time.Second)
		return "", fmt.Errorf("%s: %q: %w", s.t.Name, command, err)
	case ctx.Err() != nil:
		s.Close()
		return "", fmt.Errorf("%s: %q: %w (%w)", s.t.Name, command, ErrClosed, ctx.Err())
	case cctx.Err() != nil:
		if !s.interrupt(ctx, resync) {
			s.Close()
		}
		return "", &TimeoutError{Edge: s.t.Name, Command: command, After: timeout.Round(time.Millisecond).String()}
	default:
		s.Close()
		return "", fmt.Errorf("%s: %q: %w", s.t.Name, command, err)
	}
}

// interrupt sends Ctrl-C and waits up to d for the prompt; false if it did not come.
func (s *Session) interrupt(ctx context.Context, d time.Duration) bool {
	if _, err := s.stdin.Write([]byte{0x03}); err != nil {
		return false
	}
	ictx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	_, err := s.readUntil(ictx, nil, "")
	return err == nil
}

// readUntil collects output until the prompt, paging and answering rules on the way.
func (s *Session) readUntil(ctx context.Context, rules []*expectRule, command string) (string, error) {
	var buf strings.Builder
	buf.Write(s.pending)
	s.pending = nil
	acted := 0 // buf length when we last answered something; a prompt must be newer
	for {
		text := buf.String()
		tail := screenTail(text[acted:])
		if prompt := s.matchPrompt(tail); prompt != "" {
			s.enabled = strings.HasSuffix(strings.TrimSpace(prompt), "#")
			cut := strings.LastIndex(text, strings.TrimRight(prompt, " "))
			return text[:cut], nil
		}
		if pagerMark.MatchString(tail) {
			key := " "
			if strings.Contains(tail, "(END)") {
				key = "q"
			}
			if _, err := s.stdin.Write([]byte(key)); err != nil {
				return text, ErrClosed
			}
			acted = buf.Len()
		}
		for _, r := range rules {
			if r.re.MatchString(tail) {
				if r.fired {
					return text, fmt.Errorf("asked for the %s again: %w", r.name, ErrAuth)
				}
				r.fired = true
				if _, err := s.stdin.Write([]byte(r.answer + "\r")); err != nil {
					return text, ErrClosed
				}
				acted = buf.Len()
			}
		}
		select {
		case chunk, ok := <-s.chunks:
			if !ok {
				return text, fmt.Errorf("the edge closed the connection: %w", ErrClosed)
			}
			buf.Write(chunk)
		case <-s.done:
			return text, ErrClosed
		case <-ctx.Done():
			return text, ctx.Err()
		}
	}
}

// matchPrompt returns the prompt at the end of tail, or "".
func (s *Session) matchPrompt(tail string) string {
	re := s.prompt
	if re == nil {
		re = genericPrompt
	}
	loc := re.FindStringIndex(tail)
	if loc == nil {
		return ""
	}
	return strings.TrimPrefix(tail[loc[0]:loc[1]], "\n")
}

// screenTail returns the last line or so of raw terminal output as it would appear on screen:
// escapes removed, a carriage return overwriting the line.
func screenTail(raw string) string {
	if len(raw) > 512 {
		raw = raw[len(raw)-512:]
	}
	t := overwriteCR(StripANSI(raw))
	if i := strings.LastIndexByte(strings.TrimRight(t, "\n"), '\n'); i >= 0 && !strings.HasSuffix(t, "\n") {
		return t[i:]
	}
	return t
}

// cleanCommandOutput drops the echoed command line and normalises the rest.
func cleanCommandOutput(raw, command string) string {
	out := cleanOutput(raw)
	if first, rest, ok := strings.Cut(out, "\n"); ok && command != "" && strings.HasSuffix(strings.TrimSpace(first), command) {
		out = rest
	} else if !ok && strings.HasSuffix(strings.TrimSpace(first), command) {
		out = ""
	}
	return strings.TrimLeft(out, "\n")
}
