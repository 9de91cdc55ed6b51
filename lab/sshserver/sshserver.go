// Package sshserver is the SSH server the lab's simulated devices share (the Edge in
// lab/edgesim, the strongSwan peer in lab/peersim): the bot's server loop (diag/sshserve)
// with login of one user by password or public key. Each accepted session channel is handed
// to the device, which owns what the session does.
package sshserver

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"net"

	"golang.org/x/crypto/ssh"

	"ipsecbot/diag/sshserve"
)

// Config is who may log in and what the server presents.
type Config struct {
	User           string
	Password       string // empty: password login refused
	AuthorizedKeys []ssh.PublicKey
	// HostKeys lists the host keys offered to a new connection. It is asked once per
	// connection, so a fault switch can change the keys between connections.
	HostKeys func() []ssh.Signer
	// Refuse, when set, is asked for each new connection; true closes it before the
	// handshake (a fault: a gateway that drops SSH).
	Refuse func() bool
}

// Session is one accepted session channel.
type Session = sshserve.Session

// Server is a running SSH server.
type Server struct {
	cfg   Config
	serve func(Session)
	srv   *sshserve.Server
}

// New makes a server that, once started, runs serve in its own goroutine for every session
// channel a logged-in client opens; serve should return when the session's requests end or
// the server is done (Done).
func New(cfg Config, serve func(Session)) *Server {
	return &Server{cfg: cfg, serve: serve}
}

// Start listens on addr (host:port, port 0 for any) and serves until ctx is done or Close.
func (s *Server) Start(ctx context.Context, addr string) error {
	if s.cfg.User == "" {
		return errors.New("no user")
	}
	if s.cfg.HostKeys == nil {
		return errors.New("no host keys")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.srv = sshserve.Serve(ctx, ln, sshserve.Config{ServerConfig: s.serverConfig, Refuse: s.cfg.Refuse}, s.serve)
	return nil
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.srv.Addr() }

// Done is closed when the server is stopping; a stalled session should give up then.
func (s *Server) Done() <-chan struct{} { return s.srv.Done() }

// Go runs f in a goroutine that Close waits for.
func (s *Server) Go(f func()) { s.srv.Go(f) }

// Close stops listening, cuts every connection and waits for the server's goroutines.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil // never started
	}
	return s.srv.Close()
}

func (s *Server) serverConfig() *ssh.ServerConfig {
	sc := &ssh.ServerConfig{
		PasswordCallback:  s.checkPassword,
		PublicKeyCallback: s.checkKey,
	}
	for _, k := range s.cfg.HostKeys() {
		sc.AddHostKey(k)
	}
	return sc
}

func (s *Server) checkPassword(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
	if s.cfg.Password != "" && c.User() == s.cfg.User &&
		subtle.ConstantTimeCompare(pw, []byte(s.cfg.Password)) == 1 {
		return nil, nil
	}
	return nil, errors.New("permission denied")
}

func (s *Server) checkKey(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	if c.User() == s.cfg.User {
		for _, k := range s.cfg.AuthorizedKeys {
			if subtle.ConstantTimeCompare(k.Marshal(), key.Marshal()) == 1 {
				return nil, nil
			}
		}
	}
	return nil, errors.New("permission denied")
}

// SendExitStatus tells the client how the session's command or shell ended.
func SendExitStatus(ch ssh.Channel, status uint32) {
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
}

// NewKey makes a fresh ed25519 key, for host keys and login keys.
func NewKey() (ssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return ssh.NewSignerFromKey(priv)
}
