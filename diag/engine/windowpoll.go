package engine

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"ipsecbot/diag/edge"
)

// windowPoll reads, while the capture window is open, what the Edge itself counts of the
// tunnel's traffic: the ESP packets its child SAs with the peer carried since the window opened
// (`show service ipsec sa`, docs/nsx-formats.md §1.3). The capture reports nothing live
// (tcpdump writes a file the Edge names only when it stops, §1.7), so this is the figure the
// countdown shows.
//
// The window's countdown is its only clock: each tick asks for a reading (ask) and tells the
// last one (latest), so a poll never delays a tick. Readings go over an SSH session of the
// poll's own, never the run's: a poll that hangs cannot hold the session the capture is
// stopped, fetched and removed over, and the poll's session is closed the moment the window
// ends. A poll that fails or hangs past its bound tells nothing new; the next tick asks again
// (on a new session if the old one broke).
type windowPoll struct {
	r       *run
	kick    chan struct{}
	timeout time.Duration

	mu   sync.Mutex
	base *edge.SAStatus // the first reading of the window
	seen string         // what the last reading showed
}

// minPollTimeout is the least a reading may take before it counts as failed: a tick, but
// not less than this, so a slow link is not a failure when the ticks are short.
const minPollTimeout = 2 * time.Second

// pollWindow starts the poll for a window that just opened; it reads once at once (the
// baseline) and stops when ctx ends. The run waits for it before closing its clients.
func (r *run) pollWindow(ctx context.Context) *windowPoll {
	p := &windowPoll{r: r, kick: make(chan struct{}, 1), timeout: max(r.e.opts.WindowTick, minPollTimeout)}
	if !r.peerAddr.IsValid() {
		return p // nothing to count traffic with: ask goes nowhere
	}
	p.ask()
	r.polls.Go(func() { p.loop(ctx) })
	return p
}

// ask asks for a reading; one already asked for or under way answers it.
func (p *windowPoll) ask() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// latest is what the last reading showed ("" before one answered).
func (p *windowPoll) latest() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen
}

func (p *windowPoll) loop(ctx context.Context) {
	var cli EdgeCLI
	defer func() {
		if cli != nil {
			cli.Close()
		}
	}()
	for failed := 0; failed < maxPollFailures; {
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
		}
		if cli == nil {
			c, err := p.session(ctx)
			if err != nil {
				failed++
				p.r.e.log.Debug("capture window: no session to poll the Edge's counters", "edge", p.r.edge.Name, "err", err)
				continue
			}
			cli = c
		}
		if err := p.read(ctx, cli); err != nil {
			failed++
			p.r.e.log.Debug("capture window: polling the Edge's counters failed", "edge", p.r.edge.Name, "err", err)
			cli.Close() // it may be stuck in the command: a new one next time
			cli = nil
			continue
		}
		failed = 0
	}
	p.r.e.log.Debug("capture window: the Edge's counters are not polled any more in this window", "edge", p.r.edge.Name)
}

// maxPollFailures is how many readings in a row may fail before the poll gives up for the
// window: an Edge that will not answer is not asked for a new session every tick.
const maxPollFailures = 3

// session opens the poll's own Edge session, when the run reaches the Edge over SSH (not
// through the Manager's central CLI, which has no session to spare). Cancelling ctx closes it.
func (p *windowPoll) session(ctx context.Context) (EdgeCLI, error) {
	run, err := p.r.edgeCLI()
	if err != nil {
		return nil, err
	}
	if _, ok := run.(*edgeSession); !ok {
		return nil, fmt.Errorf("the run does not reach the Edge over SSH")
	}
	return p.r.e.opts.Connect.Edge(ctx, p.r.e.cfg, p.r.edge)
}

// read takes one reading, bounded by the poll's timeout, and records what it shows.
func (p *windowPoll) read(ctx context.Context, cli EdgeCLI) error {
	rctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	out, err := cli.Run(rctx, edge.CmdServiceIPsecSA)
	if err != nil {
		return err
	}
	st, err := edge.ParseSA(out)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	first := p.base == nil
	if first {
		p.base = st
	}
	seen, ok := espSeen(p.base, st, p.r.peerAddr)
	if first && ok {
		return nil // the baseline: a count needs a later reading
	}
	p.seen = seen
	return nil
}

// espSeen is the window's figure: the ESP packets the Edge's SAs with peer carried between
// the window's first reading and cur, labelled as the Edge's own counters.
// ok is false when the Edge has no SA with peer (the figure then says so).
func espSeen(base, cur *edge.SAStatus, peer netip.Addr) (string, bool) {
	c, ok := edge.ESPSince(base, cur, peer)
	if !ok {
		return "ESP packets: no SA with " + peer.String() + " on the Edge", false
	}
	return "ESP packets so far: " + c.String() + " (Edge SA counters)", true
}
