package classify

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"ipsecbot/diag"
	ls "ipsecbot/diag/classify/logscan"
)

// observation is one thing a source said, with the conditions it was said under: the unit the
// rules weigh.
type observation struct {
	event   ls.Event
	role    ls.Role // logs: whether this side decided or only heard (score.go weighs deciders first)
	cond    cond
	ev      diag.Evidence
	version int        // 1 or 2 when the wording tells; 0 otherwise
	detail  string     // proposals: "IKE:AES_CBC_256/..."; no_acceptable: the transform name
	cause   diag.Cause // judged facts and configuration mismatches: the cause they point to
	flow    espFlow    // ESP lost or unanswered: the direction
	name    string     // the source's path, to keep lookups within one file
	line    int64
	saKey   string
	weight  float64 // judged facts only: the weight the judging step gave
	past    bool    // seen before the diagnosis (the watcher's history): weighed lower
}

// espFlow is one direction of ESP between two hosts.
type espFlow struct{ from, to string }

func (f espFlow) String() string { return f.from + " to " + f.to }

// logObserver turns one source's hits, as the scanner streams them in line order, into
// observations, tracking for each IKE SA whether it, and a CHILD_SA under it, had been
// established before each line. It keeps what the verdict needs and no more: a few lines of
// each kind (keepPerKind), the proposal lines next to the kept refusals, and one established
// line per IKE SA for counting a flap's cycles. Memory does not grow with the log.
type logObserver struct {
	source, site string
	files        map[string]*fileTimeline // a bundle's members are separate files
	kinds        map[kindKey]int          // observations kept per kind
	cycles       map[string]int           // re-established IKE SAs kept per file
	kept         []observation
}

// fileTimeline is the SA state of one file, and its last lines: a "no proposal" line takes its
// meaning from the proposals printed up to proposalReach lines before or after it.
type fileTimeline struct {
	sas    map[string]*saState
	anyUp  bool
	recent []pending
}

type saState struct{ ike, child bool }

// pending is a recent observation: final once proposalReach lines have passed after it, kept
// in recent while later lines may still need it as a neighbour.
type pending struct {
	o      observation
	text   string // the line, and its message after the header: evidence text once kept
	msg    string
	final  bool
	kept   bool // admitted among its kind's kept observations
	needed bool // a proposal line a kept refusal refers to
}

// kindKey is what makes two observations say the same thing to the rules and the evidence.
type kindKey struct {
	event   ls.Event
	cond    cond
	role    ls.Role
	version int
	name    string
}

const (
	proposalReach = 8   // lines between a refusal and the proposals it is about
	keepPerKind   = 3   // observations kept per kind (drops show up to three cycles)
	maxCycles     = 256 // re-established IKE SAs counted per file
)

func newLogObserver(source, site string) *logObserver {
	return &logObserver{source: source, site: site, files: map[string]*fileTimeline{}, kinds: map[kindKey]int{}, cycles: map[string]int{}}
}

// add takes the next hit of a file, with its parsed header.
func (lo *logObserver) add(h *ls.Hit, l ls.Line) {
	ft := lo.files[h.Name]
	if ft == nil {
		ft = &fileTimeline{sas: map[string]*saState{}}
		lo.files[h.Name] = ft
	}
	key := saKey(l)
	st := ft.sas[key]
	if st == nil {
		st = &saState{}
		ft.sas[key] = st
	}
	var c cond
	if st.ike || st.child {
		c |= ikeUp
	}
	if st.child {
		c |= childUp
	}
	if ft.anyUp {
		c |= wasUp
	}
	o := observation{
		event: h.Event, role: ls.RoleOf(h.Pattern, h.Text), cond: c, name: h.Name, line: h.Line, saKey: key,
		version: h.Version,
		ev:      diag.Evidence{Source: lo.source, Time: l.Time, Site: lo.site}, // Ref and Text once kept
	}
	switch h.Event {
	case ls.EvIKEUp:
		st.ike = true
		ft.anyUp = true
	case ls.EvChildUp:
		st.ike, st.child = true, true
		ft.anyUp = true
	case ls.EvQuickModeUnanswered, ls.EvChildProposalRefused, ls.EvKEUnacceptable, ls.EvPFSRefused:
		o.cond |= ikeUp // phase 2 is only ever negotiated under an established IKE SA
	case ls.EvVersion1:
		o.version = 1
	case ls.EvVersion2:
		o.version = 2
	case ls.EvProposals:
		_, o.detail, _ = strings.Cut(h.Text, "proposals: ")
		o.detail = strings.TrimSpace(o.detail)
	case ls.EvNoAcceptable:
		o.detail = between(h.Text, "no acceptable ", " found")
		if isKEGroup(o.detail) {
			o.cond |= keGroup
		}
	}
	lo.settle(ft, h.Line)
	ft.recent = append(ft.recent, pending{o: o, text: h.Text, msg: l.Msg})
}

// settle finalizes the observations that no later line can change any more, and lets go of
// those no unsettled line can need as a neighbour.
func (lo *logObserver) settle(ft *fileTimeline, next int64) {
	for i := range ft.recent {
		if p := &ft.recent[i]; !p.final && next-p.o.line > proposalReach {
			lo.finalize(ft, i)
		}
	}
	n := 0
	for _, p := range ft.recent {
		if p.final && next-p.o.line > 2*proposalReach {
			lo.release(p)
			continue
		}
		ft.recent[n] = p
		n++
	}
	ft.recent = ft.recent[:n]
}

// finalize sets what the neighbours say (which proposals a refusal is about) and decides
// whether the observation is one of the few of its kind that are kept.
func (lo *logObserver) finalize(ft *fileTimeline, i int) {
	p := &ft.recent[i]
	p.final = true
	var near []int
	switch p.o.event {
	case ls.EvNoAcceptable, ls.EvNoProposalFound, ls.EvNoProposalNotify, ls.EvNoProposalChild:
		near = nearbyProposals(ft.recent, i)
		if p.o.event == ls.EvNoProposalFound && keGroupRefusedNear(ft.recent, i) {
			p.o.cond |= keGroup // the refusal beside it names the DH group
		}
		if len(near) > 0 && p.o.event != ls.EvNoProposalChild {
			if strings.HasPrefix(ft.recent[near[0]].o.detail, "IKE:") {
				p.o.cond |= ikeProp
			} else {
				p.o.cond |= espProp
			}
		}
	}
	if p.o.event == ls.EvProposals {
		return // kept only when a kept refusal needs it (release)
	}
	k := kindKey{p.o.event, p.o.cond, p.o.role, p.o.version, p.o.name}
	if p.o.event == ls.EvIKEUp && p.o.cond&wasUp != 0 { // one per IKE SA: the flap's cycles
		if lo.cycles[p.o.name] >= maxCycles {
			return
		}
		k.name += "\x00" + p.o.saKey
		if lo.kinds[k] == 0 {
			lo.cycles[p.o.name]++
		}
	}
	if lo.kinds[k] >= keepPerKind {
		return
	}
	lo.kinds[k]++
	p.kept = true
	for _, j := range near {
		ft.recent[j].needed = true
	}
}

// release hands a settled observation over to the kept ones, or drops it.
func (lo *logObserver) release(p pending) {
	if p.kept || p.needed {
		p.o.ev.Ref = diag.LineRef(p.o.name, p.o.line).String()
		p.o.ev.Text = messageOf(p.msg, p.text)
		lo.kept = append(lo.kept, p.o)
	}
}

// observations ends the source: every pending line is final, and the kept ones are returned in
// the order they were seen.
func (lo *logObserver) observations() []observation {
	names := make([]string, 0, len(lo.files))
	for name := range lo.files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		ft := lo.files[name]
		lo.settle(ft, math.MaxInt64)
	}
	slices.SortStableFunc(lo.kept, func(a, b observation) int {
		if a.name != b.name {
			return strings.Compare(a.name, b.name)
		}
		return cmp.Compare(a.line, b.line)
	})
	return lo.kept
}

// keGroupRefusedNear reports whether a "no acceptable DH group" line of the same IKE SA lies
// within proposalReach lines of recent[i].
func keGroupRefusedNear(recent []pending, i int) bool {
	for _, p := range recent {
		if p.o.event == ls.EvNoAcceptable && p.o.cond&keGroup != 0 && p.o.saKey == recent[i].o.saKey && abs64(p.o.line-recent[i].o.line) <= proposalReach {
			return true
		}
	}
	return false
}

// nearbyProposals returns the indices in recent of the proposal lines within proposalReach
// lines of recent[i], same IKE SA, nearest first (after before before at the same distance).
func nearbyProposals(recent []pending, i int) []int {
	var out []int
	for d := 1; d <= proposalReach; d++ {
		for _, j := range []int{i + d, i - d} {
			if j < 0 || j >= len(recent) {
				continue
			}
			o := recent[j].o
			if o.event == ls.EvProposals && o.saKey == recent[i].o.saKey && abs64(o.line-recent[i].o.line) <= proposalReach {
				out = append(out, j)
			}
		}
	}
	return out
}

// saKey names the IKE SA a line belongs to: charon's unique number (the same whether the SA
// is still unnamed "<1>" or named "<s2s|1>"), else pluto's connection name.
func saKey(l ls.Line) string {
	if l.Program != "pluto" && l.SA != "" {
		return l.SA
	}
	return l.Conn
}

// isKEGroup reports whether a transform name is the key exchange (DH) group.
func isKEGroup(transform string) bool {
	return strings.Contains(transform, "KEY_EXCHANGE") || strings.Contains(transform, "DIFFIE_HELLMAN")
}

// messageOf is the text evidence shows for a line: the message without the syslog header,
// charon's thread tag and its <conn|N> prefix.
func messageOf(msg, text string) string {
	if msg == "" {
		msg = text
	}
	if i := strings.Index(msg, "] "); i > 0 && i <= 6 && msg[0] >= '0' && msg[0] <= '9' {
		msg = msg[i+2:]
	}
	if strings.HasPrefix(msg, "<") {
		if j := strings.Index(msg, "> "); j > 0 {
			msg = msg[j+2:]
		}
	}
	return strings.TrimSpace(msg)
}

func between(s, a, b string) string {
	_, after, ok := strings.Cut(s, a)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, b)
	return v
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// inWindow reports whether t falls in [since, until]; unknown times always do.
func inWindow(t, since, until time.Time) bool {
	if t.IsZero() {
		return true
	}
	if !since.IsZero() && t.Before(since) {
		return false
	}
	if !until.IsZero() && t.After(until) {
		return false
	}
	return true
}
