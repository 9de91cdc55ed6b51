// Package sshserver is the SSH server core the lab's simulated devices share (the Edge in
// lab/edgesim, the strongSwan peer in lab/peersim): listening, the bounded handshake, login
// of one user by password or public key, and tracking connections so that Close cuts them.
// Each accepted session channel is handed to the device, which owns what the session does.
package sshserver

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// handshakeTimeout bounds a connection's handshake and login, so a client that connects and
// says nothing cannot hold Close up.
const handshakeTimeout = 30 * time.Second

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
type Session struct {
	Channel  ssh.Channel
	Requests <-chan *ssh.Request
	// Conn is the connection's TCP socket, for faults that cut it.
	Conn net.Conn
	// ConnDone is closed when the SSH connection has ended.
	ConnDone <-chan struct{}
}

// Server is a running SSH server.
type Server struct {
	cfg    Config
	serve  func(Session)
	ln     net.Listener
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// New makes a server that, once started, runs serve in its own goroutine for every session
// channel a logged-in client opens; serve should return when the session's requests end or
// the server is done (Done).
func New(cfg Config, serve func(Session)) *Server {
	return &Server{cfg: cfg, serve: serve, conns: map[net.Conn]struct{}{}}
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
	s.ln = ln
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Go(s.accept)
	s.wg.Go(func() {
		<-s.ctx.Done()
		s.ln.Close()
		s.closeConns()
	})
	return nil
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Done is closed when the server is stopping; a stalled session should give up then.
func (s *Server) Done() <-chan struct{} { return s.ctx.Done() }

// Go runs f in a goroutine that Close waits for.
func (s *Server) Go(f func()) { s.wg.Go(f) }

// Close stops listening, cuts every connection and waits for the server's goroutines.
func (s *Server) Close() error {
	if s.cancel == nil {
		return nil // never started
	}
	s.cancel()
	s.wg.Wait()
	return nil
}

func (s *Server) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		if s.cfg.Refuse != nil && s.cfg.Refuse() {
			c.Close()
			continue
		}
		if !s.track(c) {
			c.Close() // Close raced with Accept
			continue
		}
		s.wg.Go(func() {
			defer s.untrack(c)
			defer c.Close()
			s.serveConn(c)
		})
	}
}

// track records a connection for closeConns; false when the server is already stopping.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

func (s *Server) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

func (s *Server) serveConn(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	sc, chans, reqs, err := ssh.NewServerConn(c, s.serverConfig())
	if err != nil {
		return
	}
	defer sc.Close()
	_ = c.SetDeadline(time.Time{})
	s.wg.Go(func() { ssh.DiscardRequests(reqs) })
	connDone := make(chan struct{})
	s.wg.Go(func() { _ = sc.Wait(); close(connDone) })
	for nch := range chans {
		if nch.ChannelType() != "session" {
			_ = nch.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		s.wg.Go(func() { s.serve(Session{Channel: ch, Requests: creqs, Conn: c, ConnDone: connDone}) })
	}
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
