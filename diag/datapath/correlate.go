package datapath

import (
	"fmt"
	"slices"
	"strings"

	"ipsecbot/diag"
)

// A station is where along the path a packet can be seen: the four points, with the far side
// split into its ESP view and its clear view (a gateway capturing on every interface has both, a
// remote host only the clear one).
type station uint8

const (
	stVMPort       station = iota // point 1
	stEdgeInternal                // point 2
	stEdgeUplink                  // point 3, ESP
	stFarESP                      // point 4, ESP
	stFarClear                    // point 4, clear
)

func (s station) point() int { return [...]int{1, 2, 3, 4, 4}[s] }

// routes: the stations an echo passes, in order, request then reply.
var routes = [2][]station{
	pingForward: {stVMPort, stEdgeInternal, stEdgeUplink, stFarESP, stFarClear, stFarClear, stFarESP, stEdgeUplink, stEdgeInternal, stVMPort},
	pingReturn:  {stFarClear, stFarESP, stEdgeUplink, stEdgeInternal, stVMPort, stVMPort, stEdgeInternal, stEdgeUplink, stFarESP, stFarClear},
}

// legOf is the half of the route position i lies in.
func legOf(i int) Leg {
	if i < 5 {
		return Request
	}
	return Reply
}

// hopCause names the hop from route position i to i+1.
func hopCause(route []station, i int) diag.Cause {
	if legOf(i) != legOf(i+1) {
		return RemoteNotAnswering
	}
	a, b := min(route[i], route[i+1]), max(route[i], route[i+1])
	switch {
	case a == stVMPort:
		return DroppedBeforeEdge
	case a == stEdgeInternal:
		return EdgeNotEncrypting
	case a == stEdgeUplink:
		return LostOnWAN
	case b == stFarClear:
		return PeerNotDecrypting
	}
	return diag.CauseUnknown
}

// world is everything read, ready to ask where an echo was seen.
type world struct {
	in      *Input
	views   [4]*view
	carried map[espKey]pktKey
	// esp[st][k] is the first ESP frame at st (stEdgeUplink or stFarESP) carrying echo k.
	esp        [5]map[pktKey]*sighting
	observable [5]bool
}

// Correlate follows the two pings through the four captures and names where each stopped.
func Correlate(in Input) (*Result, error) {
	if err := in.Check(); err != nil {
		return nil, err
	}
	w := &world{in: &in}
	var notes []string
	for i, c := range in.Points {
		if c.Name == "" {
			in.Points[i].Name = fmt.Sprintf("point-%d.pcap", i+1)
			c.Name = in.Points[i].Name
		}
		v, err := readPoint(c, &in)
		if err != nil {
			return nil, err
		}
		if v.note != "" {
			notes = append(notes, v.note)
		}
		w.views[i] = v
	}
	notes = append(notes, in.learnIDs(w.views[:])...)
	in.sort(w.views[:])
	w.carried = attributeAll(&in, w.views[1], w.views[2], w.views[3])
	for _, st := range []station{stEdgeUplink, stFarESP} {
		w.esp[st] = map[pktKey]*sighting{}
		for ek, s := range w.views[st.point()-1].esp {
			if k, ok := w.carried[ek]; ok {
				if old := w.esp[st][k]; old == nil || s.frame < old.frame {
					w.esp[st][k] = s
				}
			}
		}
	}
	far := w.views[3]
	w.observable = [5]bool{
		stVMPort:       w.views[0].captured,
		stEdgeInternal: w.views[1].captured,
		stEdgeUplink:   w.views[2].captured,
		stFarESP:       far.captured && len(far.esp) > 0,
		stFarClear:     far.captured && (len(far.clear) > 0 || len(far.esp) == 0),
	}
	if far.captured && !w.observable[stFarClear] {
		notes = append(notes, far.name+": ESP only, no clear echo; the peer's decryption cannot be seen")
	}
	if far.captured && !w.observable[stFarESP] {
		notes = append(notes, far.name+": no ESP of the tunnel's SAs; the far side is taken as the remote host")
	}
	res := &Result{Notes: notes, Verdict: diag.CauseHealthy}
	for _, ping := range []uint8{pingForward, pingReturn} {
		res.Pings = append(res.Pings, w.follow(ping))
	}
	res.decide()
	return res, nil
}

// seen returns the sighting of echo k at st, nil when it was not seen there.
func (w *world) seen(st station, k pktKey) *sighting {
	switch st {
	case stEdgeUplink, stFarESP:
		return w.esp[st][k]
	case stFarClear:
		return w.views[3].clear[k]
	}
	return w.views[st.point()-1].clear[k]
}

// fate is where one echo got to.
type fate struct {
	seq      uint16
	furthest int // route position last seen
	next     int // next observable position, -1 when the echo came back
}

// follow traces every sequence number of one ping along its route.
func (w *world) follow(ping uint8) PingResult {
	r := PingResult{Name: "VM 1 -> host 2", Direction: Forward, ID: w.in.ForwardID}
	if ping == pingReturn {
		r.Name, r.Direction, r.ID = "host 2 -> VM 1", Return, w.in.ReturnID
	}
	route := routes[ping]
	seqs := w.seqs(ping)
	for p := range 4 {
		if !w.views[p].captured {
			r.Requests[p], r.Replies[p] = -1, -1
		}
	}
	var fates []fate
	for _, seq := range seqs {
		f := fate{seq: seq, furthest: -1, next: -1}
		counted := [2][4]bool{}
		for i, st := range route {
			k := pktKey{ping, seq, legOf(i) == Reply}
			if !w.observable[st] || w.seen(st, k) == nil {
				continue
			}
			f.furthest = i
			leg := 0
			if k.reply {
				leg = 1
			}
			if p := st.point() - 1; !counted[leg][p] {
				counted[leg][p] = true
				if k.reply {
					r.Replies[p]++
				} else {
					r.Requests[p]++
				}
			}
		}
		for i := f.furthest + 1; i < len(route); i++ {
			if w.observable[route[i]] {
				f.next = i
				break
			}
		}
		if f.next < 0 {
			r.Answered++
		}
		r.Traces = append(r.Traces, Trace{Seq: seq, Seen: counted})
		fates = append(fates, f)
	}
	r.Echoes = len(seqs)
	w.judge(&r, ping, fates)
	return r
}

// seqs lists the sequence numbers of a ping seen anywhere, in order.
func (w *world) seqs(ping uint8) []uint16 {
	set := map[uint16]bool{}
	for _, v := range w.views {
		for k := range v.clear {
			if k.ping == ping {
				set[k.seq] = true
			}
		}
	}
	for _, k := range w.carried {
		if k.ping == ping {
			set[k.seq] = true
		}
	}
	out := make([]uint16, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// judge gives a ping its verdict: healthy when at least as many echoes came back as stopped,
// else the hop where most of them stopped (the earliest on a tie).
func (w *world) judge(r *PingResult, ping uint8, fates []fate) {
	route := routes[ping]
	if len(fates) == 0 {
		r.Verdict = diag.CauseUnknown
		r.Why = fmt.Sprintf("no echo with ICMP id %d between %s and %s in any capture", r.ID, w.in.VM1, w.in.Host2)
		r.Evidence = []diag.Evidence{}
		return
	}
	stops := map[int]int{} // furthest position -> echoes that stopped there
	for _, f := range fates {
		if f.next >= 0 {
			stops[f.furthest]++
		}
	}
	failed := len(fates) - r.Answered
	if r.Answered >= failed {
		r.Verdict = diag.CauseHealthy
		r.Why = fmt.Sprintf("%d of %d echoes came back", r.Answered, len(fates))
		if failed > 0 {
			r.Why += fmt.Sprintf(" (%d lost along the way)", failed)
		}
		r.Evidence = w.healthyEvidence(ping, fates)
		return
	}
	stop, most := -1, 0
	for pos, n := range stops {
		if n > most || n == most && pos < stop {
			stop, most = pos, n
		}
	}
	var stopped []fate
	for _, f := range fates {
		if f.next >= 0 && f.furthest == stop {
			stopped = append(stopped, f)
		}
	}
	nx := stopped[0].next
	r.Verdict, r.Leg, r.Stop = spanCause(route, stop, nx), legOf(stop), route[stop].point()
	toward := pktKey{ping: ping, reply: r.Leg == Reply}.towardHost2()
	if route[nx] == route[stop] {
		r.Why = fmt.Sprintf("%d of %d echo %s were seen at point %d (%s) and nothing came back there: %s",
			most, len(fates), plural(r.Leg), r.Stop, stationName(route[stop]), hopText(r.Verdict, toward))
	} else {
		r.Why = fmt.Sprintf("%d of %d echo %s were seen at point %d (%s) and not at point %d (%s): %s",
			most, len(fates), plural(r.Leg), r.Stop, stationName(route[stop]), route[nx].point(), stationName(route[nx]), hopText(r.Verdict, toward))
	}
	if others := spanOthers(route, stop, nx, r.Verdict); len(others) > 0 {
		r.Why += "; what was captured cannot tell this from " + strings.Join(others, " or ")
	}
	r.Evidence = w.stopEvidence(ping, route, stop, nx, stopped)
}

// spanCause names the gap from route position stop to the next observable one, nx. Stations in
// between were not captured (a far side seen only as ESP, or only as the remote host); a gap
// that crosses the WAN is lost_on_wan, as the procedure reads "ESP left, never reached the far
// side", otherwise the gap's first hop.
func spanCause(route []station, stop, nx int) diag.Cause {
	for i := stop; i < nx; i++ {
		if hopCause(route, i) == LostOnWAN {
			return LostOnWAN
		}
	}
	return hopCause(route, stop)
}

// spanOthers lists the other causes a gap of unobserved stations could hide.
func spanOthers(route []station, stop, nx int, chosen diag.Cause) []string {
	var out []string
	for i := stop; i < nx; i++ {
		if c := hopCause(route, i); c != chosen && !slices.Contains(out, string(c)) {
			out = append(out, string(c))
		}
	}
	return out
}

// stationName says what a station is, for the text.
func stationName(s station) string {
	return [...]string{"VM 1's port", "the Edge's internal interface", "the Edge's uplink, ESP", "the far side, ESP", "the far side, clear"}[s]
}

func plural(l Leg) string {
	if l == Reply {
		return "replies"
	}
	return "requests"
}

// hopText says what a failed hop means, for packets going toward host 2 or toward VM 1.
func hopText(c diag.Cause, towardHost2 bool) string {
	switch c {
	case DroppedBeforeEdge:
		if towardHost2 {
			return "dropped between VM 1 and the Edge"
		}
		return "dropped between the Edge and VM 1"
	case EdgeNotEncrypting:
		if towardHost2 {
			return "the Edge did not encrypt them into the tunnel"
		}
		return "the Edge did not decrypt them out of the tunnel"
	case LostOnWAN:
		if towardHost2 {
			return "ESP left the Edge and never reached the far side"
		}
		return "ESP left the far side and never reached the Edge"
	case PeerNotDecrypting:
		if towardHost2 {
			return "the peer gateway did not decrypt them"
		}
		return "the peer gateway did not encrypt them into the tunnel"
	case RemoteNotAnswering:
		if towardHost2 {
			return "host 2 did not answer"
		}
		return "VM 1 did not answer"
	}
	return string(c)
}
