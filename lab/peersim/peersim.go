// Package peersim is the lab's third-party gateway: an SSH server that answers the commands a
// strongSwan gateway's operator runs (swanctl --list-sas, swanctl --list-conns, and reading the
// charon log) with a scenario's content, so the peer driver is tested over real SSH.
//
// Only exec requests are served, as `ssh peer 'swanctl --list-sas'` sends them; an unknown
// command gets a shell's "command not found" on stderr and exit status 127.
package peersim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"ipsecbot/lab/sshserver"
)

// The commands the peer answers. The peer driver (diag/peer) runs exactly these.
const (
	ListSAsCommand   = "swanctl --list-sas"
	ListConnsCommand = "swanctl --list-conns"
	// LogCommand prints charon's log file (strongSwan's filelog, as configured on the lab's gateways).
	LogCommand = "cat /var/log/charon.log"
)

// aliases maps swanctl's short options to the long commands.
var aliases = map[string]string{
	"swanctl -l": ListSAsCommand,
	"swanctl -L": ListConnsCommand,
}

// Config is what the peer serves and whom it lets in.
type Config struct {
	User     string
	Password string          // password login; empty: password login refused
	Keys     []ssh.PublicKey // public keys allowed to log in as User
	HostKey  ssh.Signer

	ListSAs   string // output of `swanctl --list-sas`
	ListConns string // output of `swanctl --list-conns`
	Log       string // the charon log
	Faults    Faults
}

// Faults are switches tests turn on to see the client cope.
type Faults struct {
	// Latency delays every command's output.
	Latency time.Duration
	// HangAfterBytes, when > 0, writes that many bytes of a command's output and then stalls
	// until the connection is closed.
	HangAfterBytes int
	// DropConnections closes every new connection right after accepting it.
	DropConnections bool
}

// Peer is a running simulated gateway.
type Peer struct {
	cfg Config
	srv *sshserver.Server

	mu       sync.Mutex
	faults   Faults
	commands []string
}

// Start listens on addr (host:port, port 0 for any) and serves until ctx is done or Close.
func Start(ctx context.Context, addr string, cfg Config) (*Peer, error) {
	if cfg.HostKey == nil {
		return nil, errors.New("peersim: no host key")
	}
	if cfg.User == "" {
		return nil, errors.New("peersim: no user")
	}
	p := &Peer{cfg: cfg, faults: cfg.Faults}
	p.srv = sshserver.New(sshserver.Config{
		User:           cfg.User,
		Password:       cfg.Password,
		AuthorizedKeys: cfg.Keys,
		HostKeys:       func() []ssh.Signer { return []ssh.Signer{cfg.HostKey} },
		Refuse:         func() bool { return p.currentFaults().DropConnections },
	}, p.serveSession)
	if err := p.srv.Start(ctx, addr); err != nil {
		return nil, fmt.Errorf("peersim: %w", err)
	}
	return p, nil
}

// Addr is the host:port the peer listens on.
func (p *Peer) Addr() string { return p.srv.Addr() }

// HostKey is the public half of the peer's host key (for known_hosts).
func (p *Peer) HostKey() ssh.PublicKey { return p.cfg.HostKey.PublicKey() }

// SetFaults changes the fault switches for the connections and commands that follow.
func (p *Peer) SetFaults(f Faults) {
	p.mu.Lock()
	p.faults = f
	p.mu.Unlock()
}

// Commands lists the commands run so far, in order.
func (p *Peer) Commands() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.commands...)
}

// Close stops the listener, drops every connection and waits for the goroutines.
func (p *Peer) Close() error { return p.srv.Close() }

func (p *Peer) currentFaults() Faults {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults
}

// serveSession answers one session: env and pty requests are accepted and ignored, the
// first exec runs, everything else is refused.
func (p *Peer) serveSession(s sshserver.Session) {
	ch := s.Channel
	defer ch.Close()
	for req := range s.Requests {
		switch {
		case req.Type == "exec":
			var exec struct{ Command string }
			if ssh.Unmarshal(req.Payload, &exec) != nil {
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			status := p.run(ch, exec.Command, s.ConnDone)
			sshserver.SendExitStatus(ch, status)
			ch.CloseWrite()
			return
		case req.Type == "env" || req.Type == "pty-req" || req.Type == "window-change":
			if req.WantReply {
				req.Reply(true, nil)
			}
		default:
			if req.WantReply {
				req.Reply(false, nil)
			}
		}
	}
}

// run writes a command's output to ch and returns its exit status.
func (p *Peer) run(ch ssh.Channel, cmd string, connDone <-chan struct{}) uint32 {
	cmd = strings.Join(strings.Fields(cmd), " ")
	if a, ok := aliases[cmd]; ok {
		cmd = a
	}
	p.mu.Lock()
	p.commands = append(p.commands, cmd)
	p.mu.Unlock()

	f := p.currentFaults()
	if f.Latency > 0 {
		select {
		case <-time.After(f.Latency):
		case <-p.srv.Done():
			return 1
		}
	}
	var out string
	switch cmd {
	case ListSAsCommand:
		out = p.cfg.ListSAs
	case ListConnsCommand:
		out = p.cfg.ListConns
	case LogCommand:
		out = p.cfg.Log
	default:
		name, _, _ := strings.Cut(cmd, " ")
		fmt.Fprintf(ch.Stderr(), "bash: %s: command not found\n", name)
		return 127
	}
	if f.HangAfterBytes > 0 && f.HangAfterBytes < len(out) {
		ch.Write([]byte(out[:f.HangAfterBytes]))
		// Stall until the client gives up on the connection or the lab closes.
		select {
		case <-connDone:
		case <-p.srv.Done():
		}
		return 1
	}
	ch.Write([]byte(out))
	return 0
}
