package handlers

import (
	"sync"
	"time"
)

// replayWindow is how long a signed request stays valid: Slack's verifier accepts a
// timestamp up to 5 minutes either side of now, so a signature must be remembered for as
// long as it could pass again.
const replayWindow = 5*time.Minute + 5*time.Minute

// maxRemembered bounds the signatures remembered. At Slack's rates the window never holds
// that many; when it would, requests are refused rather than a signature forgotten early.
const maxRemembered = 100_000

// replayGuard remembers the signatures of the requests it accepted within the window, so a
// captured request sent again is refused instead of acted on twice.
type replayGuard struct {
	mu    sync.Mutex
	seen  map[string]time.Time // signature -> when it may be forgotten
	order []string             // signatures in the order accepted (and so of expiry)
	max   int
}

func newReplayGuard(max int) *replayGuard {
	return &replayGuard{seen: map[string]time.Time{}, max: max}
}

// replayVerdict is what the guard says of a request.
type replayVerdict int

const (
	replayFirst replayVerdict = iota // never seen: act on it
	replaySeen                       // seen within the window: refuse
	replayFull                       // too many remembered: refuse, nothing is forgotten early
)

// admit records sig at now and says whether it is new.
func (g *replayGuard) admit(sig string, now time.Time) replayVerdict {
	g.mu.Lock()
	defer g.mu.Unlock()
	for len(g.order) > 0 && !now.Before(g.seen[g.order[0]]) {
		delete(g.seen, g.order[0])
		g.order = g.order[1:]
	}
	if _, ok := g.seen[sig]; ok {
		return replaySeen
	}
	if len(g.order) >= g.max {
		return replayFull
	}
	g.seen[sig] = now.Add(replayWindow)
	g.order = append(g.order, sig)
	return replayFirst
}
