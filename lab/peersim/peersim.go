// Package peersim is the lab's third-party gateway: an SSH server that answers the commands a
// strongSwan gateway's operator runs (swanctl --list-sas, swanctl --list-conns, and reading the
// charon log) with a scenario's content, so the peer driver is tested over real SSH.
//
// Only exec requests are served, as `ssh peer 'swanctl --list-sas'` sends them; an unknown
// command gets a shell's "command not found" on stderr and exit status 127.
package peersim

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
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
	cfg    Config
	ln     net.Listener
	sshCfg *ssh.ServerConfig
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	faults   Faults
	commands []string
	conns    map[net.Conn]struct{}
}

// Start listens on addr (host:port, port 0 for any) and serves until ctx is done or Close.
func Start(ctx context.Context, addr string, cfg Config) (*Peer, error) {
	if cfg.HostKey == nil {
		return nil, errors.New("peersim: no host key")
	}
	if cfg.User == "" {
		return nil, errors.New("peersim: no user")
	}
	p := &Peer{cfg: cfg, faults: cfg.Faults, conns: map[net.Conn]struct{}{}}
	p.sshCfg = &ssh.ServerConfig{
		PasswordCallback:  p.checkPassword,
		PublicKeyCallback: p.checkKey,
	}
	p.sshCfg.AddHostKey(cfg.HostKey)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("peersim: %w", err)
	}
	p.ln = ln
	p.ctx, p.cancel = context.WithCancel(ctx)
	p.wg.Go(p.accept)
	p.wg.Go(func() {
		<-p.ctx.Done()
		p.ln.Close()
		p.closeConns()
	})
	return p, nil
}

// Addr is the host:port the peer listens on.
func (p *Peer) Addr() string { return p.ln.Addr().String() }

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
func (p *Peer) Close() error {
	p.cancel()
	p.wg.Wait()
	return nil
}

func (p *Peer) checkPassword(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
	if p.cfg.Password != "" && c.User() == p.cfg.User &&
		subtle.ConstantTimeCompare(pw, []byte(p.cfg.Password)) == 1 {
		return nil, nil
	}
	return nil, errors.New("permission denied")
}

func (p *Peer) checkKey(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	if c.User() == p.cfg.User {
		for _, k := range p.cfg.Keys {
			if subtle.ConstantTimeCompare(k.Marshal(), key.Marshal()) == 1 {
				return nil, nil
			}
		}
	}
	return nil, errors.New("permission denied")
}

func (p *Peer) currentFaults() Faults {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults
}

func (p *Peer) track(c net.Conn, add bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *Peer) closeConns() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

func (p *Peer) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.currentFaults().DropConnections {
			c.Close()
			continue
		}
		p.track(c, true)
		if p.ctx.Err() != nil { // Close raced with Accept
			c.Close()
		}
		p.wg.Go(func() {
			defer p.track(c, false)
			defer c.Close()
			p.serveConn(c)
		})
	}
}

func (p *Peer) serveConn(c net.Conn) {
	c.SetDeadline(time.Now().Add(30 * time.Second)) // bound the handshake
	sc, chans, reqs, err := ssh.NewServerConn(c, p.sshCfg)
	if err != nil {
		return
	}
	defer sc.Close()
	c.SetDeadline(time.Time{})
	p.wg.Go(func() { ssh.DiscardRequests(reqs) })
	connDone := make(chan struct{})
	p.wg.Go(func() { sc.Wait(); close(connDone) })
	var chWG sync.WaitGroup
	defer chWG.Wait()
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		chWG.Go(func() { p.serveSession(ch, creqs, connDone) })
	}
}

// serveSession answers one session: env and pty requests are accepted and ignored, the
// first exec runs, everything else is refused.
func (p *Peer) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request, connDone <-chan struct{}) {
	defer ch.Close()
	done := false
	for req := range reqs {
		switch {
		case req.Type == "exec" && !done:
			cmd, ok := parseString(req.Payload)
			if !ok {
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			done = true
			status := p.run(ch, cmd, connDone)
			sendExitStatus(ch, status)
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
		case <-p.ctx.Done():
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
		case <-p.ctx.Done():
		}
		return 1
	}
	ch.Write([]byte(out))
	return 0
}

// parseString reads an SSH wire string (uint32 length + bytes), the payload of an exec request.
func parseString(b []byte) (string, bool) {
	if len(b) < 4 {
		return "", false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return "", false
	}
	return string(b[4 : 4+n]), true
}

func sendExitStatus(ch ssh.Channel, status uint32) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], status)
	ch.SendRequest("exit-status", false, b[:])
}
