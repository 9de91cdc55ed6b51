package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"ipsecbot/config"
	"ipsecbot/diag/fault"
	"ipsecbot/diag/sshdial"
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
	client *sshdial.Client
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
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &fault.Error{Kind: fault.ErrTimeout, At: x.device(),
				What: fmt.Sprintf("%q: no answer in time", command), Err: ctx.Err()}
		}
		return fault.At(x.device(), fmt.Errorf("%s: %q: %w", x.target.Name, command, ctx.Err()))
	}
}

func (x *SSHExec) device() fault.Device {
	return fault.Device{Role: fault.RolePeer, Name: x.target.Name}
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

func (x *SSHExec) reset(c *sshdial.Client) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.client == c {
		x.client.Close()
		x.client = nil
	}
}

// dial connects once, through the bot's one SSH client path (typed auth, unreachable, timeout
// and host-key errors naming the peer).
func (x *SSHExec) dial(ctx context.Context) (*sshdial.Client, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.client != nil {
		return x.client, nil
	}
	t := x.target
	c, err := sshdial.Dial(ctx, sshdial.Target{
		Device: x.device(), Address: t.Address, User: t.User,
		Password: t.Password, KeyFile: t.KeyFile, KnownHosts: t.KnownHosts,
		InsecureIgnoreHostKey: t.InsecureIgnoreHostKey, ConnectTimeout: t.ConnectTimeout,
	}, nil)
	if err != nil {
		return nil, err
	}
	x.client = c
	return c, nil
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
