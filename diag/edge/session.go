package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
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
	Keepalive             time.Duration // interval of keepalive requests; default 15s, <0 disables
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
		t.ConnectTimeout = 10 * time.Second
	}
	if t.CommandTimeout <= 0 {
		t.CommandTimeout = 30 * time.Second
	}
	if t.Keepalive == 0 {
		t.Keepalive = 15 * time.Second
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
	client *ssh.Client
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
// for the first prompt. Cancelling ctx later closes the session.
func Dial(ctx context.Context, t Target) (*Session, error) {
	t.defaults()
	if err := ValidateTemplates(t.Templates); err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	cfg, err := ClientConfig(t)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, t.ConnectTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", t.Address)
	if err != nil {
		return nil, t.connectError(ctx, dctx, err)
	}
	// ssh.NewClientConn has no context: bound the handshake with a deadline, and close the
	// socket if ctx is cancelled meanwhile.
	deadline, _ := dctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(dctx, func() { conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, t.Address, cfg)
	if !stop() || err != nil {
		conn.Close()
		if err == nil {
			err = dctx.Err()
		}
		return nil, t.connectError(ctx, dctx, err)
	}
	client := ssh.NewClient(c, chans, reqs)
	s := &Session{t: t, client: client, chunks: make(chan []byte, 64), done: make(chan struct{})}
	if err := s.openShell(); err != nil {
		client.Close()
		return nil, fmt.Errorf("%s: open CLI shell: %w", t.Name, err)
	}
	// Clear the handshake deadline only now: the shell is open.
	_ = conn.SetDeadline(time.Time{})
	banner, err := s.readUntil(dctx, nil, "")
	if err != nil {
		s.Close()
		if ctx.Err() == nil && dctx.Err() != nil {
			return nil, &TimeoutError{Edge: t.Name, After: t.ConnectTimeout.String()}
		}
		return nil, fmt.Errorf("%s: waiting for the first prompt: %w", t.Name, err)
	}
	if m := genericPrompt.FindStringSubmatch(lastLine(banner)); m != nil {
		s.setPrompt(m[1], m[2] == "#")
	}
	s.ctxMu.Lock()
	s.stopCtx = context.AfterFunc(ctx, func() { s.Close() })
	s.ctxMu.Unlock()
	if t.Keepalive > 0 {
		s.wg.Go(s.keepalive)
	}
	return s, nil
}

func authMethods(t Target) ([]ssh.AuthMethod, error) {
	var auth []ssh.AuthMethod
	if t.KeyFile != "" {
		pem, err := os.ReadFile(t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s: key file: %w", t.Name, err)
		}
		signer, err := ssh.ParsePrivateKey(pem)
		if err != nil {
			return nil, fmt.Errorf("%s: key file %s: %w", t.Name, t.KeyFile, err)
		}
		auth = append(auth, ssh.PublicKeys(signer))
	}
	if t.Password != "" {
		pw := t.Password
		auth = append(auth, ssh.Password(pw),
			ssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
				ans := make([]string, len(qs))
				for i := range qs {
					ans[i] = pw
				}
				return ans, nil
			}))
	}
	if len(auth) == 0 {
		return nil, fmt.Errorf("%s: no password or key configured", t.Name)
	}
	return auth, nil
}

// connectError names what failed while connecting: time, host key, credentials or the network.
func (t Target) connectError(ctx, dctx context.Context, err error) error {
	if hk, ok := errors.AsType[*HostKeyError](err); ok {
		return fmt.Errorf("%s: %w", t.Name, hk)
	}
	if strings.Contains(err.Error(), "unable to authenticate") {
		return fmt.Errorf("%s: user %q: %w (wrong password or key)", t.Name, t.User, ErrAuth)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: connect: %w", t.Name, ctx.Err())
	}
	if ne, ok := errors.AsType[net.Error](err); (ok && ne.Timeout()) || dctx.Err() != nil {
		return &TimeoutError{Edge: t.Name, After: t.ConnectTimeout.String()}
	}
	return fmt.Errorf("%s: connect %s: %w", t.Name, t.Address, err)
}

func (s *Session) openShell() error {
	sess, err := s.client.NewSession()
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

func (s *Session) keepalive() {
	tick := time.NewTicker(s.t.Keepalive)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-tick.C:
			if _, _, err := s.client.SendRequest("keepalive@openssh.com", true, nil); err != nil {
				s.t.Logger.Warn("edge keepalive failed; closing the session", "edge", s.t.Name, "err", err)
				go s.Close()
				return
			}
		}
	}
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
		s.closeErr = s.client.Close()
		if errors.Is(s.closeErr, net.ErrClosed) {
			s.closeErr = nil
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
