package edge

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"ipsecbot/config"
	"ipsecbot/diag/fault"
	"ipsecbot/diag/sshdial"
)

// Target says how to reach one Edge's CLI. With HA, Address is the active appliance's, as the
// NSX API reports it; the caller picks it.
type Target struct {
	Name                  string // the inventory name, used in every error
	Address               string // host:port
	User                  string
	Password              string
	KeyFile               string        // a private key file (unencrypted), in addition to or instead of Password
	KnownHosts            string        // known_hosts file; required unless InsecureIgnoreHostKey
	InsecureIgnoreHostKey bool          // skip the host key check (logged as a warning on every connect)
	EnablePassword        string        // default: Password
	ConnectTimeout        time.Duration // TCP + SSH handshake + first prompt; default 10s
	CommandTimeout        time.Duration // per command; default 30s
	Keepalive             time.Duration // interval of keepalive requests; default sshdial.DefaultKeepalive, <0 disables
	TermRows              int           // PTY rows; the Edge's pager pages by them; default 1000
	Logger                *slog.Logger  // default: slog.Default()
	// Templates override DefaultTemplates for Edge builds whose CLI differs (config capture.templates).
	Templates map[string]string
	// SCPHost is the address the Edge is told to `debug copy scp` captures to (config
	// capture.scp_address). The Edge connects to port 22 there.
	SCPHost string
}

func (t *Target) defaults() {
	if t.ConnectTimeout <= 0 {
		t.ConnectTimeout = config.DefaultSSHTimeout
	}
	if t.CommandTimeout <= 0 {
		t.CommandTimeout = config.DefaultCommandTimeout
	}
	if t.TermRows <= 0 {
		t.TermRows = 1000
	}
	if t.EnablePassword == "" {
		t.EnablePassword = t.Password
	}
	if t.Logger == nil {
		t.Logger = slog.Default()
	}
	if t.Name == "" {
		t.Name = t.Address
	}
}

// Session is one SSH connection with one interactive CLI shell on a PTY. Commands are run one
// at a time; a Session is safe for use by several goroutines.
type Session struct {
	t      Target
	client *sshdial.Client
	sess   *ssh.Session
	stdin  interface{ Write([]byte) (int, error) }
	chunks chan []byte

	mu      sync.Mutex // serialises commands
	pending []byte     // bytes read past the last prompt
	prompt  *regexp.Regexp
	enabled bool

	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
	ctxMu     sync.Mutex // guards stopCtx, set while the context callback may already run
	stopCtx   func() bool
	wg        sync.WaitGroup
}

var _ Runner = (*Session)(nil)

// genericPrompt matches an Edge prompt before the hostname is known: "vShield-edge-3-0>",
// "edge-01-0#", "nsx-l2t-edge>".
var genericPrompt = regexp.MustCompile(`(?:^|\n)([A-Za-z0-9._()-]+)([>#]) ?$`)

// Dial connects to the Edge, authenticates, checks its host key, opens the CLI shell and waits
// for the first prompt, all within t.ConnectTimeout. Cancelling ctx later closes the session.
// Failures match the diag/fault kinds (errors.Is(err, ErrAuth), fault.ErrUnreachable,
// fault.ErrTimeout, ErrHostKeyUnknown/Changed with a *HostKeyError).
func Dial(ctx context.Context, t Target) (*Session, error) {
	t.defaults()
	if err := ValidateTemplates(t.Templates); err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	s := &Session{t: t, chunks: make(chan []byte, 64), done: make(chan struct{})}
	var banner string
	client, err := sshdial.Dial(ctx, t.dialTarget(s), func(dctx context.Context, c *ssh.Client) error {
		if err := s.openShell(c); err != nil {
			return fmt.Errorf("open CLI shell: %w", err)
		}
		var err error
		banner, err = s.readUntil(dctx, nil, "")
		return err
	})
	if err != nil {
		close(s.done) // the pump, if it started, must not wait for a reader
		s.wg.Wait()
		return nil, err
	}
	s.client = client
	if m := genericPrompt.FindStringSubmatch(lastLine(banner)); m != nil {
		s.setPrompt(m[1], m[2] == "#")
	}
	s.ctxMu.Lock()
	s.stopCtx = context.AfterFunc(ctx, func() { s.Close() })
	s.ctxMu.Unlock()
	return s, nil
}

// dialTarget is t in diag/sshdial's terms; a connection whose keepalive goes unanswered
// closes s.
func (t Target) dialTarget(s *Session) sshdial.Target {
	return sshdial.Target{
		Device: fault.Device{Role: fault.RoleEdge, Name: t.Name}, Address: t.Address, User: t.User,
		Password: t.Password, KeyFile: t.KeyFile, KnownHosts: t.KnownHosts,
		InsecureIgnoreHostKey: t.InsecureIgnoreHostKey, ConnectTimeout: t.ConnectTimeout,
		Keepalive: t.Keepalive, Logger: t.Logger, OnDead: func(error) { s.Close() },
	}
}

func (s *Session) openShell(c *ssh.Client) error {
	sess, err := c.NewSession()
	if err != nil {
		return err
	}
	modes := ssh.TerminalModes{ssh.ECHO: 0, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
	if err := sess.RequestPty("vt100", s.t.TermRows, 200, modes); err != nil {
		sess.Close()
		return err
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		sess.Close()
		return err
	}
	if err := sess.Shell(); err != nil {
		sess.Close()
		return err
	}
	s.sess, s.stdin = sess, stdin
	// The pump copies the shell's output into chunks until the channel closes; it never blocks
	// on a reader that has gone (done).
	s.wg.Go(func() {
		defer close(s.chunks)
		for {
			buf := make([]byte, 4096)
			n, err := stdout.Read(buf)
			if n > 0 {
				select {
				case s.chunks <- buf[:n]:
				case <-s.done:
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	return nil
}

// Close ends the shell and the connection and waits for the session's goroutines.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.ctxMu.Lock()
		if s.stopCtx != nil {
			s.stopCtx()
		}
		s.ctxMu.Unlock()
		if s.sess != nil {
			_, _ = s.stdin.Write([]byte("exit\r"))
			s.sess.Close()
		}
		if s.client != nil {
			s.closeErr = s.client.Close()
		}
	})
	s.wg.Wait()
	return s.closeErr
}

// Name is the edge's inventory name.
func (s *Session) Name() string { return s.t.Name }

func (s *Session) setPrompt(base string, enabled bool) {
	base = strings.TrimRight(base, ">#")
	s.prompt = regexp.MustCompile(`(?:^|\n)` + regexp.QuoteMeta(base) + `([>#]) ?$`)
	s.enabled = enabled
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\r\n")
	if i := strings.LastIndexAny(s, "\r\n"); i >= 0 {
		return s[i+1:]
	}
	return s
}
