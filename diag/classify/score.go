package classify

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"ipsecbot/diag"
	ls "ipsecbot/diag/classify/logscan"
)

const (
	maxEvidence     = 8 // evidence items of the verdict
	maxAlsoEvidence = 3 // evidence items of each "also seen" finding
	candidateWeight = 0.5
)

// score is a cause's strength: its strongest observation, plus a little for each other kind of
// observation that agrees and for agreement across kinds of source (log, capture, API, config).
func score(ws []weighed) float64 {
	best := 0.0
	events := map[ls.Event]bool{}
	sources := map[string]bool{}
	for _, w := range ws {
		best = max(best, w.weight)
		if w.weight >= candidateWeight {
			events[w.obs.event] = true
			sources[w.obs.ev.Source] = true
		}
	}
	s := best + 0.02*float64(min(len(events)-1, 3))
	if len(sources) > 1 {
		s += 0.02
	}
	return min(round2(s), 0.99)
}

// decide fills the verdict from the weighed observations.
func decide(v *diag.Verdict, obs []observation, in Input) {
	byCause := map[diag.Cause][]weighed{}
	for _, w := range weigh(obs) {
		byCause[w.cause] = append(byCause[w.cause], w)
	}
	// SAs that are up without any sign of traffic are not healthy, and no hint of it either.
	saUp := byCause[diag.CauseHealthy]
	if slices.ContainsFunc(saUp, func(w weighed) bool { return trafficEvents[w.obs.event] }) {
		saUp = nil
	} else {
		delete(byCause, diag.CauseHealthy)
	}
	scores := map[diag.Cause]float64{} // causes with at least one observation strong enough to name them
	hints := map[diag.Cause]float64{}  // and all the others, for an unknown verdict
	for c, ws := range byCause {
		if slices.ContainsFunc(ws, func(w weighed) bool { return w.weight >= candidateWeight }) {
			scores[c] = score(ws)
		} else {
			hints[c] = score(ws)
		}
	}
	deciderFirst(scores, byCause)
	ranked := sortCauses(scores)
	v.IKEVersion = ikeVersion(obs)
	if len(ranked) == 0 || scores[ranked[0]] < Threshold {
		v.Cause = diag.CauseUnknown
		v.Confidence = 0
		for _, c := range sortCauses(hints) {
			v.AlsoSeen = append(v.AlsoSeen, finding(c, hints[c], byCause[c]))
		}
		v.Summary = unknownSummary(v, obs, saUp)
		v.Remediation = []string{"Capture IKE and ESP on the Edge's uplink while the problem happens, raise the IPsec log level to debug, and collect both sites' logs; then run the analysis again"}
		if len(saUp) > 0 {
			v.Evidence = topEvidence(saUp, maxAlsoEvidence) // what was seen: the SAs came up
			v.Remediation = []string{"Capture ESP on the Edge's uplink while traffic should flow through the tunnel, or read the tunnel counters twice (NSX IPsec statistics packetsIn/packetsOut, show service ipsec sa bytes_i/bytes_o); then run the analysis again"}
		}
		if len(v.Missing) > 0 {
			v.Remediation = append(v.Remediation, "Missing now: "+strings.Join(v.Missing, "; "))
		}
		return
	}
	win := ranked[0]
	v.Cause = win
	v.Confidence = scores[win]
	v.Evidence = topEvidence(byCause[win], maxEvidence)
	v.Evidence = append(v.Evidence, proposalEvidence(obs, byCause[win])...)
	for _, c := range ranked[1:] {
		if c == diag.CauseHealthy {
			continue // a failing tunnel is not also healthy: its SAs merely came up at times
		}
		v.AlsoSeen = append(v.AlsoSeen, finding(c, scores[c], byCause[c]))
	}
	v.RuledOut = ruledOut(win, obs, v.AlsoSeen)
	v.Summary = summary(win, v.IKEVersion, obs, byCause[win])
	v.Remediation = remediation(win, obs, byCause[win], in)
}

// deciderFirst puts the causes a deciding side names above the causes only heard of: the side
// that refused a proposal, an identity or a certificate says why, while the side that was
// refused, or a capture of encrypted IKE, only sees that something failed. A cause that rests on
// such hearsay alone is held just below the best decided one; causes proven otherwise (the data
// path, silence, judged facts) keep their score.
func deciderFirst(scores map[diag.Cause]float64, byCause map[diag.Cause][]weighed) {
	hearsay := func(c diag.Cause) bool {
		for _, w := range byCause[c] {
			if w.weight < candidateWeight {
				continue
			}
			heard := w.obs.role == ls.RoleHeard || (w.obs.ev.Source == diag.SourcePcap && !pcapFirstHand[w.obs.event])
			if !heard {
				return false
			}
		}
		return true
	}
	decided := func(c diag.Cause) bool {
		return slices.ContainsFunc(byCause[c], func(w weighed) bool {
			return w.obs.role == ls.RoleDecided && w.weight >= candidateWeight
		})
	}
	best := 0.0
	for c, s := range scores {
		if decided(c) {
			best = max(best, s)
		}
	}
	if best == 0 {
		return
	}
	for c, s := range scores {
		if !decided(c) && hearsay(c) && s >= best {
			scores[c] = round2(best - 0.01)
		}
	}
}

// pcapFirstHand are the capture's facts that need nobody's word: what was sent and never
// answered, and what the data path did.
var pcapFirstHand = map[ls.Event]bool{
	evIKEInitUnanswered: true, evIKEUnanswered: true, evDPDUnanswered: true, evAnswersLost: true, evStalled: true,
	evESPOneWay: true, evESPBothWays: true, evESPUnanswered: true, evESPLostOnPath: true, evESPLargeLost: true,
	evICMPFragNeeded: true, evPingDFLost: true,
}

// exclusions say which observations rule which causes out, and why: what was established or
// seen passing cannot have failed to negotiate or been blocked.
var exclusions = []struct {
	events []ls.Event
	causes []diag.Cause
	why    string
}{
	{[]ls.Event{ls.EvIKEUp, ls.EvChildUp, evTunnelUp}, []diag.Cause{diag.CausePeerUnreachable, diag.CauseIKEProposalMismatch, diag.CauseAuthFailed, diag.CauseNoTrustedCA},
		"the IKE SA was established: the peer answers, and phase 1 proposals, authentication and certificates were accepted"},
	{[]ls.Event{ls.EvChildUp, evTunnelUp}, []diag.Cause{diag.CauseTrafficSelectorMismatch, diag.CauseInvalidID},
		"a CHILD_SA was established: identities and traffic selectors were accepted"},
	{[]ls.Event{evESPBothWays, evCountersBothWays}, []diag.Cause{diag.CauseESPBlocked},
		"ESP passed in both directions"},
}

// ruledOut lists the causes the observations exclude, except the verdict and those also seen
// (a cause can be excluded at one time and fail at another: a flap).
func ruledOut(win diag.Cause, obs []observation, also []diag.Finding) []diag.RuledOut {
	var out []diag.RuledOut
	done := map[diag.Cause]bool{win: true}
	for _, f := range also {
		done[f.Cause] = true
	}
	for _, ex := range exclusions {
		i := slices.IndexFunc(obs, func(o observation) bool { return slices.Contains(ex.events, o.event) && o.ev.Ref != "" })
		if i < 0 {
			continue
		}
		for _, c := range ex.causes {
			if done[c] {
				continue
			}
			done[c] = true
			out = append(out, diag.RuledOut{Cause: c, Why: ex.why, Ref: obs[i].ev.Ref})
		}
	}
	return out
}

// dropEvents end a tunnel that was up: each one is a cycle of a flap.
var dropEvents = map[ls.Event]bool{ls.EvDPDDead: true, ls.EvGiveUp: true, ls.EvRekeyFailed: true}

func finding(c diag.Cause, s float64, ws []weighed) diag.Finding {
	return diag.Finding{Cause: c, Confidence: s, Evidence: topEvidence(ws, maxAlsoEvidence)}
}

// topEvidence returns the strongest distinct observations, earliest first among equals; one
// per event and source file, so twelve retransmissions do not crowd out the other proofs,
// except drops, which are listed up to three times so a flap's cycles show.
func topEvidence(ws []weighed, n int) []diag.Evidence {
	ws = slices.Clone(ws)
	slices.SortStableFunc(ws, func(a, b weighed) int {
		if d := cmp.Compare(b.weight, a.weight); d != 0 {
			return d
		}
		return a.obs.ev.Time.Compare(b.obs.ev.Time)
	})
	type key struct {
		event ls.Event
		name  string
	}
	seen := map[key]int{}
	seenRef := map[string]bool{}
	snapshot := map[[2]string]int{} // a show output or API read's text: where it is in out
	out := []diag.Evidence{}
	for _, w := range ws {
		if i, ok := snapshot[[2]string{w.obs.ev.Source, w.obs.ev.Text}]; ok {
			// The same line in the start and the end snapshot: said once, for both.
			if !strings.HasSuffix(out[i].Text, atStartAndEnd) {
				out[i].Text += atStartAndEnd
			}
			continue
		}
		k := key{w.obs.event, w.obs.name}
		limit := 1
		if dropEvents[w.obs.event] {
			limit = 3
		}
		if seen[k] >= limit || seenRef[w.obs.ev.Ref] || w.obs.ev.Ref == "" || (w.weight < candidateWeight && len(out) > 0) {
			continue // weak echoes only when nothing stronger exists
		}
		seen[k]++
		seenRef[w.obs.ev.Ref] = true
		if src := w.obs.ev.Source; src == diag.SourceShow || src == diag.SourceAPI {
			snapshot[[2]string{src, w.obs.ev.Text}] = len(out)
		}
		out = append(out, w.obs.ev)
		if len(out) == n {
			break
		}
	}
	return out
}

// atStartAndEnd marks a snapshot line read identically at the start and the end of the window.
const atStartAndEnd = " (at start and end)"

// proposalEvidence adds the configured/received proposal lines printed beside a deciding
// "no acceptable proposal" line: they carry the values both sides must compare.
func proposalEvidence(obs []observation, ws []weighed) []diag.Evidence {
	var out []diag.Evidence
	pairs := proposalPairs(obs, ws)
	if len(pairs) == 0 {
		return nil
	}
	for _, o := range []*observation{pairs[0].received, pairs[0].configured} {
		if o != nil {
			out = append(out, o.ev)
		}
	}
	return out
}

type proposalPair struct {
	received, configured *observation // the other side's offer, and this side's settings
}

// proposalPairs finds, for each deciding observation that names a proposal failure, the
// received/configured proposal lines printed next to it.
func proposalPairs(obs []observation, ws []weighed) []proposalPair {
	var out []proposalPair
	for _, w := range ws {
		switch w.obs.event {
		case ls.EvNoAcceptable, ls.EvNoProposalFound, ls.EvNoProposalNotify, ls.EvNoProposalChild:
		default:
			continue
		}
		var p proposalPair
		for i := range obs {
			o := &obs[i]
			if o.event != ls.EvProposals || o.name != w.obs.name || o.saKey != w.obs.saKey || abs64(o.line-w.obs.line) > 8 {
				continue
			}
			if strings.Contains(o.ev.Text, "received proposals") && p.received == nil {
				p.received = o
			}
			if strings.Contains(o.ev.Text, "configured proposals") && p.configured == nil {
				p.configured = o
			}
		}
		if p.received != nil || p.configured != nil {
			out = append(out, p)
		}
	}
	// The rejecting side's pair (it printed what it received) says the most.
	slices.SortStableFunc(out, func(a, b proposalPair) int {
		rank := func(p proposalPair) int {
			if p.received != nil {
				return 0
			}
			return 1
		}
		return cmp.Compare(rank(a), rank(b))
	})
	return out
}

// ikeVersion votes: a capture's word counts most, then the API's, then the logs'.
func ikeVersion(obs []observation) int {
	var votes [3]int
	for _, o := range obs {
		if o.version != 1 && o.version != 2 {
			continue
		}
		w := 1
		switch o.ev.Source {
		case diag.SourcePcap:
			w = 5
		case diag.SourceAPI:
			w = 3
		}
		if o.event == ls.EvVersion1 || o.event == ls.EvVersion2 {
			w += 2
		}
		votes[o.version] += w
	}
	switch {
	case votes[1] == 0 && votes[2] == 0:
		return 0
	case votes[1] > votes[2]:
		return 1
	default:
		return 2
	}
}

// cycles counts how often the tunnel was established again after having been up: a flap.
func cycles(obs []observation) int {
	perSource := map[string]map[string]bool{}
	for _, o := range obs {
		if o.event == ls.EvIKEUp && o.cond&wasUp != 0 {
			if perSource[o.name] == nil {
				perSource[o.name] = map[string]bool{}
			}
			perSource[o.name][o.saKey] = true
		}
	}
	n := 0
	for _, sas := range perSource {
		n = max(n, len(sas))
	}
	return n
}

// unknownSummary says what was seen and what is missing. saUp holds the observations of SAs
// that came up, when nothing showed traffic through them.
func unknownSummary(v *diag.Verdict, obs []observation, saUp []weighed) string {
	s := "Nothing conclusive"
	var causes []string
	for _, f := range v.AlsoSeen {
		causes = append(causes, string(f.Cause))
	}
	switch o := encryptedFailure(obs); {
	case o == nil && len(saUp) > 0:
		s = "IKE and CHILD SAs come up; nothing shows whether ESP passes: capture ESP on the Edge's uplink or read the tunnel counters"
		if len(causes) > 0 {
			s += " (weaker signs of: " + strings.Join(causes, ", ") + ")"
		}
	case o != nil:
		s += ": " + o.ev.Text + "; the failure is inside encrypted IKE, the logs of either side name it (could be: " + strings.Join(causes, ", ") + ")"
	case len(v.AlsoSeen) > 0 && len(v.AlsoSeen[0].Evidence) > 0:
		s += ": " + v.AlsoSeen[0].Evidence[0].Text + " (too weak alone; could be: " + strings.Join(causes, ", ") + ")"
	case len(obs) == 0 && v.Scanned.IKEMessages > 0:
		s += fmt.Sprintf(": the capture's %d IKE messages show no fault the wire can prove (what is encrypted, the logs of either side tell)", v.Scanned.IKEMessages)
	case len(obs) == 0:
		s += ": no known IPsec message, packet fact or API status in the evidence"
	}
	if len(v.Missing) > 0 {
		s += "; missing: " + strings.Join(v.Missing, "; ")
	}
	return s
}

// encryptedFailure returns the first observation of a negotiation that failed where the wire is
// encrypted, if any: a capture alone sees that it failed, not why.
func encryptedFailure(obs []observation) *observation {
	for i, o := range obs {
		switch o.event {
		case evIKEAuthRefused, evIKEAuthTornDown, evQuickModeRefused, evIdentityRefused, evPeerIdentityRefused:
			return &obs[i]
		}
	}
	return nil
}

func versionWord(v int) string {
	if v == 0 {
		return "IKE"
	}
	return fmt.Sprintf("IKEv%d", v)
}
