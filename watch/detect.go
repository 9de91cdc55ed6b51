package watch

import (
	"fmt"
	"strings"
	"time"

	"ipsecbot/store"
)

// DefaultSALifetime is NSX's IPsec SA lifetime (phase 2, 3600 s): an SA replaced near it was
// rekeyed, when the document has no IKE counters to say so.
const DefaultSALifetime = time.Hour

// nearLifetime is the share of the lifetime after which a new SA counts as a rekey.
const nearLifetime = 0.9

// Change between two readings of one tunnel.
type Change struct {
	Kind   string // store.WatchDrop, store.WatchRekey, store.WatchChanged, or "" for none
	Reason string
}

// Compare says what happened to a tunnel between the previous reading (at prevAt) and the
// current one (at now). A re-establishment (new SPIs, a newer establishedDate or counters going
// backwards, i.e. a new SA) counts as a drop even when both readings are up, unless a rekey
// explains it: the edge's IKE rekey counters moved, or, without counters, the old SA had
// reached its lifetime. A rekey is never a drop.
func Compare(prev *store.WatchSample, prevAt time.Time, cur *store.WatchSample, now time.Time, lifetime time.Duration) Change {
	return compare(prev, cur, now, lifetime, nil)
}

// rekeyBudget is how many new SAs an edge's rekey counters explain in one sweep. The counters
// are the edge's, not a tunnel's: when fewer rekeys were counted than tunnels got new SAs, the
// rest were re-established. The sweep hands the budget to the tunnels whose previous SA was
// oldest first (rekeys come at the end of an SA's life), so a tunnel re-established while
// another rekeyed is still a drop.
type rekeyBudget struct{ n uint64 }

// edgeBudget is the rekeys counted on an edge since the previous sweep: the document's rekey
// counters less the highest any tunnel of the edge read last time (counters that went back,
// after a daemon restart, explain nothing).
func edgeBudget(prev []*store.WatchSample, cur uint64) *rekeyBudget {
	var last uint64
	for _, p := range prev {
		if p != nil && p.HasIKE {
			last = max(last, p.Rekeys)
		}
	}
	if cur <= last {
		return &rekeyBudget{}
	}
	return &rekeyBudget{n: cur - last}
}

func compare(prev, cur *store.WatchSample, now time.Time, lifetime time.Duration, budget *rekeyBudget) Change {
	if prev == nil {
		return Change{Kind: store.WatchChanged, Reason: "first reading"}
	}
	prevUp, curUp := isUp(prev), isUp(cur)
	switch {
	case prevUp && !curUp:
		r := "went down"
		if cur.Failure != "" {
			r += ": " + cur.Failure
		}
		return Change{Kind: store.WatchDrop, Reason: r}
	case !prevUp && curUp:
		return Change{Kind: store.WatchChanged, Reason: "back up"}
	case prevUp && curUp:
		if why := newSA(prev, cur); why != "" {
			if rekeyed(prev, cur, now, lifetime, budget) {
				return Change{Kind: store.WatchRekey, Reason: "rekey: " + why}
			}
			return Change{Kind: store.WatchDrop, Reason: "re-established between sweeps without a rekey: " + why}
		}
	}
	if fieldsChanged(prev, cur) {
		return Change{Kind: store.WatchChanged}
	}
	return Change{}
}

// newSA says why cur reads as a different SA from prev, or "".
func newSA(prev, cur *store.WatchSample) string {
	var why []string
	if changedSPI(prev.LocalSPI, cur.LocalSPI) || changedSPI(prev.PeerSPI, cur.PeerSPI) {
		why = append(why, fmt.Sprintf("SPIs %s/%s -> %s/%s", prev.LocalSPI, prev.PeerSPI, cur.LocalSPI, cur.PeerSPI))
	}
	if p, ok := parseEstablished(prev.Established); ok {
		if c, ok := parseEstablished(cur.Established); ok && c.After(p) {
			why = append(why, "established "+cur.Established)
		}
	}
	if cur.PacketsIn < prev.PacketsIn || cur.PacketsOut < prev.PacketsOut || cur.BytesIn < prev.BytesIn || cur.BytesOut < prev.BytesOut {
		why = append(why, "counters went backwards")
	}
	return strings.Join(why, ", ")
}

func changedSPI(a, b string) bool { return a != "" && b != "" && !strings.EqualFold(a, b) }

// rekeyed says whether a rekey explains a new SA: the IKE rekey counters moved forward (one
// rekey of the edge's budget is used), or, when the document has none, the previous SA was near
// its lifetime by now. A nil budget is the rekeys between the two readings.
func rekeyed(prev, cur *store.WatchSample, now time.Time, lifetime time.Duration, budget *rekeyBudget) bool {
	if prev.HasIKE && cur.HasIKE {
		if budget == nil {
			budget = edgeBudget([]*store.WatchSample{prev}, cur.Rekeys)
		}
		if budget.n == 0 {
			return false
		}
		budget.n--
		return true
	}
	est, ok := parseEstablished(prev.Established)
	if !ok || lifetime <= 0 {
		return false
	}
	return now.Sub(est) >= time.Duration(float64(lifetime)*nearLifetime)
}

// fieldsChanged reports a change worth a history row: status, state, SPIs or a message.
func fieldsChanged(a, b *store.WatchSample) bool {
	return a.ChannelStatus != b.ChannelStatus || a.ChannelState != b.ChannelState ||
		a.TunnelStatus != b.TunnelStatus || a.TunnelState != b.TunnelState ||
		a.Failure != b.Failure || a.Info != b.Info ||
		a.LocalSPI != b.LocalSPI || a.PeerSPI != b.PeerSPI || a.Established != b.Established
}

// saAge is how old a reading's SA is at now (by its establishedDate); unknown: 0.
func saAge(s *store.WatchSample, now time.Time) time.Duration {
	if s == nil {
		return 0
	}
	if est, ok := parseEstablished(s.Established); ok {
		return now.Sub(est)
	}
	return 0
}
