package sshserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"

	"ipsecbot/diag/fault"
)

// Silent is a server that accepts TCP connections and never says a word: an sshd that hangs
// before its banner. Clients must give up on their own.
type Silent struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

// StartSilent listens on addr (port 0 for any) and holds every connection open, unanswered.
func StartSilent(addr string) (*Silent, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Silent{ln: ln}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
		}
	})
	return s, nil
}

// Addr is the host:port the server listens on.
func (s *Silent) Addr() string { return s.ln.Addr().String() }

// Close stops listening and drops the held connections.
func (s *Silent) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	return err
}

// ClosedAddr returns a loopback address where nothing listens (a port just released), for
// a gateway whose sshd is down.
func ClosedAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// LoginFaults is three ways an SSH login fails, on loopback, for testing a client's errors:
// Refusing is a real server that refuses every login, Closed has nothing listening, Silent
// accepts and never answers.
type LoginFaults struct {
	Refusing, Closed, Silent string

	srv    *Server
	silent *Silent
}

// StartLoginFaults starts the servers; Close stops them.
func StartLoginFaults(ctx context.Context) (*LoginFaults, error) {
	key, err := NewKey()
	if err != nil {
		return nil, err
	}
	pw, err := NewKey() // a password nobody can guess: the key's fingerprint
	if err != nil {
		return nil, err
	}
	srv := New(Config{User: "nobody", Password: ssh.FingerprintSHA256(pw.PublicKey()),
		HostKeys: func() []ssh.Signer { return []ssh.Signer{key} }}, func(s Session) { s.Channel.Close() })
	if err := srv.Start(ctx, "127.0.0.1:0"); err != nil {
		return nil, err
	}
	silent, err := StartSilent("127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, err
	}
	closed, err := ClosedAddr()
	if err != nil {
		srv.Close()
		silent.Close()
		return nil, err
	}
	return &LoginFaults{Refusing: srv.Addr(), Closed: closed, Silent: silent.Addr(), srv: srv, silent: silent}, nil
}

// Close stops the servers.
func (f *LoginFaults) Close() error {
	return errors.Join(f.srv.Close(), f.silent.Close())
}

// LoginFault is one of the ways, with the fault kind a client must report for it and words
// its operator sentence must hold.
type LoginFault struct {
	Name string
	Addr string
	Kind error
	Says string
}

// Cases lists the three faults.
func (f *LoginFaults) Cases() []LoginFault {
	return []LoginFault{
		{"wrong password", f.Refusing, fault.ErrAuth, "refused the SSH login"},
		{"closed port", f.Closed, fault.ErrUnreachable, "could not connect"},
		{"silent server", f.Silent, fault.ErrTimeout, "did not answer in time"},
	}
}

// Check says what is wrong with err as a client's report of the fault at device d, or nil.
func (c LoginFault) Check(err error, d fault.Device) error {
	if !errors.Is(err, c.Kind) {
		return fmt.Errorf("%s: got %v, want %v", c.Name, err, c.Kind)
	}
	if got, ok := fault.DeviceOf(err); !ok || got != d {
		return fmt.Errorf("%s: error located at %+v, want %+v", c.Name, got, d)
	}
	if s := fault.Sentence(err); !strings.Contains(s, c.Says) || !strings.Contains(s, d.Name) {
		return fmt.Errorf("%s: sentence %q lacks %q or %q", c.Name, s, c.Says, d.Name)
	}
	return nil
}
