// Package sshserve is the bot's one SSH server loop: accepting connections, a bounded handshake
// and login, session channels handed to the caller, and Close cutting every connection and
// waiting for the server's goroutines. The capture endpoint (diag/edge's SCP receiver) and the
// lab's simulated devices (lab/sshserver) are built on it.
package sshserve

import (
	"context"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// DefaultHandshakeTimeout bounds a connection's handshake and login when Config names no
// bound, so a client that connects and says nothing cannot hold Close up.
const DefaultHandshakeTimeout = 30 * time.Second

// Config is how the server treats each connection.
type Config struct {
	// ServerConfig is asked once per connection: host keys and login callbacks may differ
	// between connections (a fault switch, one-time credentials).
	ServerConfig func() *ssh.ServerConfig
	// HandshakeTimeout bounds the handshake and login (default DefaultHandshakeTimeout).
	HandshakeTimeout time.Duration
	// ConnTimeout, when set and positive, bounds a whole connection from its accept; otherwise
	// a logged-in connection lives until it ends or the server closes.
	ConnTimeout func() time.Duration
	// Refuse, when set, is asked for each new connection; true closes it before the handshake.
	Refuse func() bool
	// Ended, when set, is called once a logged-in connection has ended (its sessions may
	// still be returning).
	Ended func(*ssh.ServerConn)
}

// Session is one accepted session channel of a logged-in connection.
type Session struct {
	Channel  ssh.Channel
	Requests <-chan *ssh.Request
	// Conn is the connection's TCP socket, for faults that cut it.
	Conn net.Conn
	// SSH is the connection's login (User, Permissions); closing it ends the connection.
	SSH *ssh.ServerConn
	// ConnDone is closed when the SSH connection has ended.
	ConnDone <-chan struct{}
}

// Server serves one listener.
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

// Serve accepts connections on ln until ctx is done or Close, and runs serve in its own
// goroutine for every session channel a logged-in client opens; serve should return when the
// session's requests end or the server is done (Done). Other channel types are refused.
func Serve(ctx context.Context, ln net.Listener, cfg Config, serve func(Session)) *Server {
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	s := &Server{cfg: cfg, serve: serve, ln: ln, conns: map[net.Conn]struct{}{}}
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Go(s.accept)
	s.wg.Go(func() {
		<-s.ctx.Done()
		s.ln.Close()
		s.closeConns()
	})
	return s
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Done is closed when the server is stopping; a stalled session should give up then.
func (s *Server) Done() <-chan struct{} { return s.ctx.Done() }

// Go runs f in a goroutine that Close waits for.
func (s *Server) Go(f func()) { s.wg.Go(f) }

// Close stops listening, cuts every connection and waits for the server's goroutines.
func (s *Server) Close() error {
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
	var whole time.Duration
	if s.cfg.ConnTimeout != nil {
		whole = s.cfg.ConnTimeout()
	}
	start := time.Now()
	_ = c.SetDeadline(start.Add(s.cfg.HandshakeTimeout))
	sc, chans, reqs, err := ssh.NewServerConn(c, s.cfg.ServerConfig())
	if err != nil {
		return
	}
	defer sc.Close()
	if whole > 0 {
		_ = c.SetDeadline(start.Add(whole))
	} else {
		_ = c.SetDeadline(time.Time{})
	}
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
		s.wg.Go(func() { s.serve(Session{Channel: ch, Requests: creqs, Conn: c, SSH: sc, ConnDone: connDone}) })
	}
	if s.cfg.Ended != nil {
		s.cfg.Ended(sc)
	}
}
