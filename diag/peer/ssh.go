package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"ipsecbot/config"
	"ipsecbot/diag/edge"
)

// SSHTarget is how to reach a gateway over SSH.
type SSHTarget struct {
	Name                  string
	Address               string // host:port
	User                  string
	Password              string
	KeyFile               string
	KnownHosts            string
	InsecureIgnoreHostKey bool
	ConnectTimeout        time.Duration
	CommandTimeout        time.Duration
}

// SSHTargetFrom reads an ssh block of the configuration, secrets included.
func SSHTargetFrom(cfg *config.Config, name string, s *config.SSH) (SSHTarget, error) {
	t := SSHTarget{
		Name: name, Address: s.Address, User: s.User,
		KeyFile: cfg.Path(s.KeyFile), KnownHosts: cfg.Path(s.KnownHosts),
		InsecureIgnoreHostKey: s.InsecureIgnoreHostKey,
		ConnectTimeout:        s.DialTimeout(), CommandTimeout: s.CmdTimeout(),
	}
	pw, err := cfg.SSHPassword(s)
	switch {
	case err == nil:
		t.Password = pw
	case errors.Is(err, config.ErrNoSecret):
		if t.KeyFile == "" {
			return t, fmt.Errorf("ssh: neither a password nor a key_file is configured")
		}
	default:
		return t, err
	}
	return t, nil
}

// SSHExec runs commands as SSH exec requests over one connection, dialled on first use.
type SSHExec struct {
	target SSHTarget
	mu     sync.Mutex
	client *ssh.Client
}

// NewSSHExec returns an Execer for t; nothing is dialled yet.
func NewSSHExec(t SSHTarget) *SSHExec { return &SSHExec{target: t} }

// Exec runs command and streams its output to w. A non-zero exit status is an error that
// carries the command's stderr. Cancelling ctx closes the session.
func (x *SSHExec) Exec(ctx context.Context, command string, w io.Writer) error {
	if x.target.CommandTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, x.target.CommandTimeout)
		defer cancel()
	}
	client, err := x.dial(ctx)
	if err != nil {
		return err
	}
	sess, err := client.NewSession()
	if err != nil {
		x.reset(client)
		return fmt.Errorf("%s: new session: %w", x.target.Name, err)
	}
	defer sess.Close()
	var stderr limitedBuffer
	sess.Stdout, sess.Stderr = w, &stderr
	done := make(chan error, 1)
	go func() { done <- sess.Run(command) }()
	select {
	case err := <-done:
		if err != nil {
			if msg := stderr.String(); msg != "" {
				return fmt.Errorf("%s: %w: %s", x.target.Name, err, msg)
			}
			return fmt.Errorf("%s: %w", x.target.Name, err)
		}
		return nil
	case <-ctx.Done():
		sess.Close()
		<-done
		return fmt.Errorf("%s: %q: %w", x.target.Name, command, ctx.Err())
	}
}

// Close closes the connection.
func (x *SSHExec) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.client == nil {
		return nil
	}
	err := x.client.Close()
	x.client = nil
	return err
}

func (x *SSHExec) reset(c *ssh.Client) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.client == c {
		x.client.Close()
		x.client = nil
	}
}

// dial connects once; the handshake is bounded by the connect timeout and ctx
// (ssh.Dial's own timeout covers only the TCP connect).
func (x *SSHExec) dial(ctx context.Context) (*ssh.Client, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.client != nil {
		return x.client, nil
	}
	t := x.target
	cfg, err := clientConfig(t)
	if err != nil {
		return nil, err
	}
	timeout := t.ConnectTimeout
	if timeout <= 0 {
		timeout = config.DefaultSSHTimeout
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", t.Address)
	if err != nil {
		return nil, fmt.Errorf("%s: dial %s: %w", t.Name, t.Address, err)
	}
	deadline, _ := dctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(dctx, func() { conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, t.Address, cfg)
	stop()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: ssh %s: %w", t.Name, t.Address, err)
	}
	conn.SetDeadline(time.Time{})
	x.client = ssh.NewClient(c, chans, reqs)
	return x.client, nil
}

// clientConfig reuses the Edge client's SSH settings: the same auth and the same strict
// known_hosts check, with typed host-key errors (edge.HostKeyError).
func clientConfig(t SSHTarget) (*ssh.ClientConfig, error) {
	return edge.ClientConfig(edge.Target{
		Name: t.Name, Address: t.Address, User: t.User, Password: t.Password, KeyFile: t.KeyFile,
		KnownHosts: t.KnownHosts, InsecureIgnoreHostKey: t.InsecureIgnoreHostKey, ConnectTimeout: t.ConnectTimeout,
	})
}

// limitedBuffer keeps the first 4 KiB of stderr for error messages.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
