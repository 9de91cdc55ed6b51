// Package sshdial is the bot's one SSH client path, shared by the Edge CLI (diag/edge) and the
// strongSwan peer (diag/peer): the TCP connect and the SSH handshake bounded together, strict
// known_hosts checking, password, keyboard-interactive and key login, keepalive, and failures
// typed with the diag/fault vocabulary (auth, unreachable, timeout, host key).
package sshdial

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"ipsecbot/config"
	"ipsecbot/diag/fault"
)

// DefaultKeepalive is the interval of keepalive requests when a Target names none.
const DefaultKeepalive = 15 * time.Second

// Target says how to reach one SSH server.
type Target struct {
	Device                fault.Device // who the server is, named in every error
	Address               string       // host:port
	User                  string
	Password              string
	KeyFile               string        // a private key file (unencrypted), in addition to or instead of Password
	KnownHosts            string        // known_hosts file; required unless InsecureIgnoreHostKey
	InsecureIgnoreHostKey bool          // skip the host key check (logged as a warning on every connect)
	ConnectTimeout        time.Duration // TCP connect + handshake + setup; default config.DefaultSSHTimeout
	Keepalive             time.Duration // interval of keepalive requests; 0: DefaultKeepalive, <0: none
	// OnDead, when set, is called (in its own goroutine) once a keepalive goes unanswered; the
	// connection is closed by then.
	OnDead func(error)
	Logger *slog.Logger // default: slog.Default()
}

func (t *Target) defaults() {
	if t.ConnectTimeout <= 0 {
		t.ConnectTimeout = config.DefaultSSHTimeout
	}
	if t.Keepalive == 0 {
		t.Keepalive = DefaultKeepalive
	}
	if t.Logger == nil {
		t.Logger = slog.Default()
	}
	if t.Device.Name == "" {
		t.Device.Name = t.Address
	}
}

// ClientConfig returns the SSH client configuration Dial uses for t: password, keyboard-
// interactive and key login; known_hosts checking with *HostKeyError; host-key algorithms
// pinned to the keys on file.
func ClientConfig(t Target) (*ssh.ClientConfig, error) {
	t.defaults()
	hostKey, algos, err := hostKeyCheck(t, t.Logger)
	if err != nil {
		return nil, err
	}
	auth, err := authMethods(t)
	if err != nil {
		return nil, err
	}
	return &ssh.ClientConfig{User: t.User, Auth: auth, HostKeyCallback: hostKey, HostKeyAlgorithms: algos, Timeout: t.ConnectTimeout}, nil
}

func authMethods(t Target) ([]ssh.AuthMethod, error) {
	var auth []ssh.AuthMethod
	if t.KeyFile != "" {
		pem, err := os.ReadFile(t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s: key file: %w", t.Device.Name, err)
		}
		signer, err := ssh.ParsePrivateKey(pem)
		if err != nil {
			return nil, fmt.Errorf("%s: key file %s: %w", t.Device.Name, t.KeyFile, err)
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
		return nil, fmt.Errorf("%s: no password or key configured", t.Device.Name)
	}
	return auth, nil
}

// Client is an authenticated SSH connection with its keepalive.
type Client struct {
	*ssh.Client
	done chan struct{}
	once sync.Once
	err  error
	wg   sync.WaitGroup
}

// Dial connects to t.Address, checks the host key and logs in, all within t.ConnectTimeout;
// then setup (when not nil) runs on the new client under the same bound, with a context that
// ends with it (the Edge opens its CLI shell and reads its first prompt there). Cancelling ctx during the dial ends it. Failures are typed: errors.Is
// matches fault.ErrAuth, fault.ErrUnreachable, fault.ErrTimeout or fault.ErrHostKey (with a
// *HostKeyError), and every error names t.Device (fault.DeviceOf).
func Dial(ctx context.Context, t Target, setup func(context.Context, *ssh.Client) error) (*Client, error) {
	t.defaults()
	cfg, err := ClientConfig(t)
	if err != nil {
		return nil, fault.At(t.Device, err)
	}
	dctx, cancel := context.WithTimeout(ctx, t.ConnectTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", t.Address)
	if err != nil {
		return nil, t.connectError(ctx, dctx, err)
	}
	// ssh.NewClientConn has no context: bound the handshake and setup with a deadline, and
	// close the socket if ctx is cancelled meanwhile.
	deadline, _ := dctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(dctx, func() { conn.Close() })
	var client *ssh.Client
	c, chans, reqs, err := ssh.NewClientConn(conn, t.Address, cfg)
	if err == nil {
		client = ssh.NewClient(c, chans, reqs)
		if setup != nil {
			err = setup(dctx, client)
		}
	}
	if !stop() && err == nil {
		err = dctx.Err()
	}
	if err != nil {
		if client != nil {
			client.Close()
		}
		conn.Close()
		return nil, t.connectError(ctx, dctx, err)
	}
	_ = conn.SetDeadline(time.Time{})
	cl := &Client{Client: client, done: make(chan struct{})}
	if t.Keepalive > 0 {
		cl.wg.Go(func() { cl.keepalive(t) })
	}
	return cl, nil
}

// Close closes the connection and waits for the keepalive to end.
func (c *Client) Close() error {
	c.once.Do(func() {
		close(c.done)
		c.err = c.Client.Close()
		if errors.Is(c.err, net.ErrClosed) {
			c.err = nil
		}
	})
	c.wg.Wait()
	return c.err
}

func (c *Client) keepalive(t Target) {
	tick := time.NewTicker(t.Keepalive)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
			if _, _, err := c.SendRequest("keepalive@openssh.com", true, nil); err != nil {
				select {
				case <-c.done:
					return // closed meanwhile: not a dead peer
				default:
				}
				t.Logger.Warn("ssh keepalive failed; closing the connection", "role", t.Device.Role, "name", t.Device.Name, "err", err)
				c.Client.Close()
				if t.OnDead != nil {
					go t.OnDead(err)
				}
				return
			}
		}
	}
}

// AuthRefused reports whether err is an SSH client's login refusal. x/crypto/ssh gives it no
// type, only its text: this is the one place that reads it.
func AuthRefused(err error) bool {
	return err != nil && strings.Contains(err.Error(), "ssh: unable to authenticate")
}

// connectError names what failed while connecting: the host key, the login, the caller's
// cancel, time, or the network; each typed with its fault kind and located at t.Device.
func (t Target) connectError(ctx, dctx context.Context, err error) error {
	name := t.Device.Name
	switch {
	case errors.Is(err, fault.ErrHostKey):
		return fault.At(t.Device, fmt.Errorf("%s: %w", name, err))
	case AuthRefused(err):
		return &fault.Error{Kind: fault.ErrAuth, At: t.Device,
			What: fmt.Sprintf("user %q: %s (wrong password or key)", t.User, fault.ErrAuth)}
	case ctx.Err() != nil:
		return fault.At(t.Device, fmt.Errorf("%s: connect: %w", name, ctx.Err()))
	case fault.Timeout(err) || dctx.Err() != nil:
		return &fault.Error{Kind: fault.ErrTimeout, At: t.Device,
			What: fmt.Sprintf("connect %s: no SSH login within %s", t.Address, t.ConnectTimeout)}
	case fault.Unreachable(err):
		return &fault.Error{Kind: fault.ErrUnreachable, At: t.Device, What: "connect " + t.Address, Err: err}
	}
	return fault.At(t.Device, fmt.Errorf("%s: connect %s: %w", name, t.Address, err))
}
