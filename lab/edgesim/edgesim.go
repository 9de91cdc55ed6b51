// Package edgesim is the lab's NSX Edge: an SSH server whose PTY shell behaves like the ESG
// CLI (prompt, enable, a pager that pages by the PTY's rows, the show commands, packet capture,
// `debug copy scp` as a real SCP client, ping, show log, the CLI's error text), serving the
// content a scenario gives it. It knows nothing of scenarios itself: the lab orchestrator fills
// Config, using the Render* helpers so the formats live in one place with diag/edge's parsers.
package edgesim

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"ipsecbot/diag/edge"
	"ipsecbot/lab/sshserver"
)

// Config is one Edge's identity, content and faults.
type Config struct {
	Hostname string // the prompt is Hostname+"-0>" (or "-0#" in enable mode), 0 the HA index
	// HAIndex is the appliance's HA index (0 or 1): the prompt of appliance 1 is Hostname+"-1>".
	HAIndex  int
	User     string
	Password string // login; enable asks "Password:" and takes the same one
	// AuthorizedKeys may log in as User with public-key authentication.
	AuthorizedKeys []ssh.PublicKey
	HostKey        ssh.Signer
	// ExtraHostKeys are offered too (e.g. ECDSA beside ed25519, as real sshds do).
	ExtraHostKeys []ssh.Signer

	// Outputs maps an exact command ("show service ipsec") to its output text.
	Outputs map[string]string
	// SA, when set, is `show service ipsec sa`'s state, printed afresh at each asking (over
	// Outputs): its counters move while a capture runs (ESPPerSecond).
	SA *edge.SAStatus
	// ESPPerSecond is the traffic a capture watches: while one runs, each installed child SA
	// counts this many more packets a second in each direction it carries traffic in (where
	// SA's counters are above zero; a one-way tunnel stays one-way), at its packets' average
	// size. 0: the counters stay as SA has them.
	ESPPerSecond int
	// Log is what `show log` prints.
	Log string
	// CaptureFile returns the pcap a capture holds when it is stopped; nil: an empty pcap.
	CaptureFile func() []byte
	// CaptureFor, when set, returns the pcap a capture on iface with expr holds when stopped
	// (nil: CaptureFile's), so captures on different interfaces or filters differ.
	CaptureFor func(iface, expr string) []byte
	// Ping answers `ping`: how many of the echo requests got a reply.
	Ping func(dst string, size int, df bool) (sent, received int)
	// FreeDiskBytes is what `show system storage` reports as available (default 400 MiB).
	FreeDiskBytes int64
	// SCPDialOverride stands in for the DNAT in front of the bot: `debug copy scp
	// user@HOST:path` connects here (host:port) instead of HOST:22.
	SCPDialOverride string
	Faults          Faults
}

// Faults are switches tests turn on to see the client cope.
type Faults struct {
	// HangAfterBytes, when > 0, writes that many bytes of a command's output and then stalls,
	// ignoring input (Ctrl-C included), until the connection is closed.
	HangAfterBytes int
	// HangCommand limits HangAfterBytes to one command (empty: every command with output).
	HangCommand string
	// DropAfterCommands, when > 0, cuts the TCP connection when a session's next command
	// arrives after that many were answered.
	DropAfterCommands int
	// Latency delays every command's output.
	Latency time.Duration
	// OneByteWrites sends the terminal's output one byte per SSH packet, to shake out prompt
	// and pager matching that assumes whole lines arrive together.
	OneByteWrites bool
	// ChangedHostKey makes the Edge present a different host key than Config.HostKey.
	ChangedHostKey bool
	// HangSessionsAfter, when > 0, stalls every CLI shell after the first that many (in the
	// order they opened) on its first command with output, as HangAfterBytes does: an Edge
	// that serves the sessions it has and starves a new one.
	HangSessionsAfter int
}

// Edge is a running simulated Edge.
type Edge struct {
	cfg    Config
	altKey ssh.Signer // presented instead of cfg.HostKey under Faults.ChangedHostKey
	srv    *sshserver.Server
	ctx    context.Context // done when the Edge stops; ends what sessions wait on
	stop   context.CancelFunc

	// mu guards the fields below. It is held only to read or change them (state.go), never
	// across a write to a session or anything else that can block.
	mu         sync.Mutex
	faults     Faults
	commands   []string
	captures   []*Capture
	files      map[string][]byte        // the capture files on the Edge's disk
	knownHosts map[string]ssh.PublicKey // hosts `debug copy scp` has accepted
	sessions   int                      // CLI shells opened so far
}

// Capture is what the Edge knows of one packet capture.
type Capture struct {
	Interface string
	Expr      string
	File      string
	Running   bool // started and not stopped
	Stopped   bool
	Removed   bool // its file was deleted with `debug remove`
	Copied    int  // how many times `debug copy` sent it

	started, ended time.Time // when it ran (ended zero while it runs)
}

// Start listens on addr (host:port, port 0 for any) and serves until ctx is done or Close.
func Start(ctx context.Context, addr string, cfg Config) (*Edge, error) {
	if cfg.HostKey == nil {
		return nil, errors.New("edgesim: no host key")
	}
	if cfg.User == "" || cfg.Hostname == "" {
		return nil, errors.New("edgesim: no user or hostname")
	}
	if cfg.FreeDiskBytes == 0 {
		cfg.FreeDiskBytes = 400 << 20
	}
	alt, err := sshserver.NewKey()
	if err != nil {
		return nil, err
	}
	e := &Edge{cfg: cfg, altKey: alt, faults: cfg.Faults, files: map[string][]byte{}, knownHosts: map[string]ssh.PublicKey{}}
	e.ctx, e.stop = context.WithCancel(ctx)
	e.srv = sshserver.New(sshserver.Config{
		User:           cfg.User,
		Password:       cfg.Password,
		AuthorizedKeys: cfg.AuthorizedKeys,
		HostKeys:       e.hostKeys,
	}, e.serveSession)
	if err := e.srv.Start(e.ctx, addr); err != nil {
		e.stop()
		return nil, fmt.Errorf("edgesim: %w", err)
	}
	return e, nil
}

// Addr is the host:port the Edge listens on.
func (e *Edge) Addr() string { return e.srv.Addr() }

// HostKey is the public half of the Edge's configured host key (for known_hosts).
func (e *Edge) HostKey() ssh.PublicKey { return e.cfg.HostKey.PublicKey() }

// Close stops the Edge and waits for its goroutines. It cuts every connection first, so a
// session blocked writing to a client that reads nothing ends too.
func (e *Edge) Close() error {
	e.stop()
	return e.srv.Close()
}

// sleep waits d, or less if the Edge stops first (then false).
func (e *Edge) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-e.ctx.Done():
		return false
	}
}

// SetFaults changes the fault switches for what follows.
func (e *Edge) SetFaults(f Faults) {
	e.mu.Lock()
	e.faults = f
	e.mu.Unlock()
}

// Commands lists the command lines entered so far, in order (the enable password is not one).
func (e *Edge) Commands() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.commands...)
}

// Captures lists every capture started on the Edge, copies of their current state.
func (e *Edge) Captures() []Capture {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Capture, len(e.captures))
	for i, c := range e.captures {
		out[i] = *c
	}
	return out
}

// Files lists the files `debug show files` would show.
func (e *Edge) Files() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for name := range e.files {
		out = append(out, name)
	}
	return out
}

func (e *Edge) currentFaults() Faults {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.faults
}

// hostKeys are the keys a new connection is offered: the configured ones, or a different
// key while Faults.ChangedHostKey is on.
func (e *Edge) hostKeys() []ssh.Signer {
	if e.currentFaults().ChangedHostKey {
		return []ssh.Signer{e.altKey}
	}
	return append([]ssh.Signer{e.cfg.HostKey}, e.cfg.ExtraHostKeys...)
}
