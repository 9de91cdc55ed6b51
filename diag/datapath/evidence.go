package datapath

import (
	"fmt"

	"ipsecbot/diag"
)

// maxFrames bounds the frames cited per finding.
const maxFrames = 3

// frameRef is a frame's reference, "point-3.pcap#17".
func frameRef(name string, frame int) string { return diag.FrameRef(name, int64(frame)).String() }

// describe says what the frame of echo k at st is.
func (w *world) describe(st station, k pktKey, s *sighting) string {
	leg := "request"
	if k.reply {
		leg = "reply"
	}
	id := w.in.ForwardID
	if k.ping == pingReturn {
		id = w.in.ReturnID
	}
	text := fmt.Sprintf("echo %s id %d seq %d", leg, id, k.seq)
	if st == stEdgeUplink || st == stFarESP {
		spi := w.in.SPIIn
		if k.towardHost2() {
			spi = w.in.SPIOut
		}
		text = fmt.Sprintf("ESP SPI %#08x carrying the %s", spi, text)
	}
	text += fmt.Sprintf(" at point %d (%s)", st.point(), stationName(st))
	if s.count > 1 {
		text += fmt.Sprintf(", seen %d times", s.count)
	}
	return text
}

func (w *world) evidence(st station, k pktKey) (diag.Evidence, bool) {
	s := w.seen(st, k)
	if s == nil {
		return diag.Evidence{}, false
	}
	return diag.Evidence{Source: diag.SourcePcap, Ref: frameRef(w.views[st.point()-1].name, s.frame),
		Text: w.describe(st, k, s), Time: s.t}, true
}

// stopEvidence cites, for the first echoes that stopped, the frame where each was last seen,
// then says what the next point's capture lacks.
func (w *world) stopEvidence(ping uint8, route []station, stop, next int, stopped []fate) []diag.Evidence {
	out := []diag.Evidence{}
	for _, f := range stopped[:min(len(stopped), maxFrames)] {
		if e, ok := w.evidence(route[stop], pktKey{ping, f.seq, legOf(stop) == Reply}); ok {
			out = append(out, e)
		}
	}
	st := route[next]
	k := pktKey{ping: ping, reply: legOf(next) == Reply}
	what := "no echo " + string(legOf(next)) + " with these sequence numbers"
	if st == stEdgeUplink || st == stFarESP {
		spi := w.in.SPIIn
		if k.towardHost2() {
			spi = w.in.SPIOut
		}
		n := 0
		for ek := range w.views[st.point()-1].esp {
			if ek.spi == spi {
				n++
			}
		}
		what = fmt.Sprintf("no ESP on SPI %#08x carries them (%d ESP packets on that SPI)", spi, n)
	}
	out = append(out, diag.Evidence{Source: diag.SourcePcap, Ref: diag.FileRef(w.views[st.point()-1].name).String(),
		Text: fmt.Sprintf("point %d (%s): %s", st.point(), stationName(st), what)})
	return out
}

// healthyEvidence cites the first echo that came back: its request where it was first seen
// and its reply where it was last seen.
func (w *world) healthyEvidence(ping uint8, fates []fate) []diag.Evidence {
	out := []diag.Evidence{}
	route := routes[ping]
	for _, f := range fates {
		if f.next >= 0 {
			continue
		}
		cite := func(i int) bool {
			e, ok := w.evidence(route[i], pktKey{ping, f.seq, legOf(i) == Reply})
			if ok && w.observable[route[i]] {
				out = append(out, e)
			}
			return ok && w.observable[route[i]]
		}
		for i := 0; i < len(route) && !cite(i); i++ {
		}
		for i := f.furthest; i >= 0 && !cite(i); i-- {
		}
		break
	}
	return out
}

// decide takes the verdict of the forward ping when it failed, else the return ping's.
func (r *Result) decide() {
	r.Verdict, r.Evidence = diag.CauseHealthy, []diag.Evidence{}
	unknown := false
	for _, p := range r.Pings {
		switch p.Verdict {
		case diag.CauseHealthy:
			continue
		case diag.CauseUnknown:
			unknown = true
			continue
		}
		r.Verdict, r.Direction, r.Leg, r.Stop, r.Evidence = p.Verdict, p.Direction, p.Leg, p.Stop, p.Evidence
		r.Summary = fmt.Sprintf("%s: %s (%s)", p.Name, p.Why, p.Verdict)
		return
	}
	if unknown {
		r.Verdict = diag.CauseUnknown
		for _, p := range r.Pings {
			if p.Verdict == diag.CauseUnknown {
				r.Summary = p.Name + ": " + p.Why
				r.Evidence = append(r.Evidence, p.Evidence...)
				return
			}
		}
	}
	r.Summary = "both pings came back through all four points"
	for _, p := range r.Pings {
		r.Evidence = append(r.Evidence, p.Evidence...)
	}
}
