package peer

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"ipsecbot/config"
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
		return nil, fmt.Errorf("%s: %w", t.Name, err)
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

func clientConfig(t SSHTarget) (*ssh.ClientConfig, error) {
	cfg := &ssh.ClientConfig{User: t.User}
	if t.Password != "" {
		cfg.Auth = append(cfg.Auth, ssh.Password(t.Password))
	}
	if t.KeyFile != "" {
		pem, err := os.ReadFile(t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("read key: %w", err)
		}
		signer, err := ssh.ParsePrivateKey(pem)
		if err != nil {
			return nil, fmt.Errorf("parse key %s: %w", t.KeyFile, err)
		}
		cfg.Auth = append(cfg.Auth, ssh.PublicKeys(signer))
	}
	switch {
	case t.KnownHosts != "":
		cb, err := knownhosts.New(t.KnownHosts)
		if err != nil {
			return nil, fmt.Errorf("known_hosts: %w", err)
		}
		cfg.HostKeyCallback = cb
		cfg.HostKeyAlgorithms = knownAlgorithms(cb, t.Address)
	case t.InsecureIgnoreHostKey:
		cfg.HostKeyCallback = ssh.InsecureIgnoreHostKey() //nolint:gosec // explicit per-host opt-in in the config
	default:
		return nil, fmt.Errorf("no known_hosts file and insecure_ignore_host_key not set")
	}
	return cfg, nil
}

// knownAlgorithms lists the host key types known_hosts holds for addr, so the server is asked
// for one of those (otherwise x/crypto prefers ECDSA and reports a false mismatch).
func knownAlgorithms(cb ssh.HostKeyCallback, addr string) []string {
	probe, err := ssh.NewSignerFromKey(probeKey)
	if err != nil {
		return nil
	}
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil
	}
	ke, ok := errors.AsType[*knownhosts.KeyError](cb(addr, tcp, probe.PublicKey()))
	if !ok {
		return nil
	}
	var algos []string
	for _, k := range ke.Want {
		if k.Key.Type() == ssh.KeyAlgoRSA {
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		} else {
			algos = append(algos, k.Key.Type())
		}
	}
	return algos
}

// probeKey is a throwaway key no host has: asking known_hosts about it lists the keys on file.
var probeKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// limitedBuffer keeps the first 4 KiB of stderr for error messages.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
