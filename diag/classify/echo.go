package classify

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"ipsecbot/diag"
)

// One capture can show ESP lost in one direction even though ESP flows both ways at the capture
// point: the capturing side answers the other side's packets at once, and nobody ever answers
// its own. The rule pairs packets as request and answer by time:
//
//   - a packet answers the oldest unanswered packet of the same IP length that went the other
//     way at most answerWindow earlier (echoes keep their size: pings, and most request/response
//     tunnelled traffic that a test generates);
//   - any other packet is a request.
//
// It fires for hosts A and B when A's requests (at least 3) are never answered, B's requests
// (at least 3) are all answered at once (at most one in ten not), and A's unanswered requests
// have the very size A answers B with: the same kind of traffic works from B and never from A.
//
// Only answers within answerWindow count, which is the time the host behind the capturing
// gateway takes to answer. Answers across a slow WAN fall outside it: then A's requests look
// unanswered, but B's late answers become B's requests that A does not answer at once, so the
// rule stays silent — a long round trip makes it fire less, never more. What it cannot tell from
// a fault is a healthy tunnel whose only traffic from A is one-way (syslog, flow export) of the
// same size as the echoes A answers; hence it weighs less than the same loss seen by two
// captures (crosssite.go), which is direct proof.
const (
	answerWindow = 50 * time.Millisecond
	maxPending   = 256  // unanswered packets remembered per direction, so memory stays flat
	maxEchoPairs = 1024 // host pairs paired per capture; the rest are not judged
)

// echoPairing pairs one host pair's ESP packets as requests and answers. Index 0 is the
// packets from hosts[0] (the lower address as text) to hosts[1], 1 the reverse.
type echoPairing struct {
	hosts        [2]string
	pending      [2][]echoPacket
	requests     [2]map[int]int // IP length -> requests
	answered     [2]map[int]int // IP length -> requests answered at once
	firstRequest [2]int         // frame of the first request
	spi          [2]uint32      // SPI of the first packet
}

type echoPacket struct {
	at   time.Time
	size int
}

// echo adds an ESP packet to its host pair's pairing.
func (cf *captureFacts) echo(p wirePacket, frame int, at time.Time) {
	key, dir := [2]string{p.src, p.dst}, 0
	if p.dst < p.src {
		key, dir = [2]string{p.dst, p.src}, 1
	}
	e := cf.echoes[key]
	if e == nil && len(cf.echoes) >= maxEchoPairs {
		return
	}
	if e == nil {
		e = &echoPairing{hosts: key}
		for i := range 2 {
			e.requests[i], e.answered[i] = map[int]int{}, map[int]int{}
		}
		cf.echoes[key] = e
	}
	other := 1 - dir
	e.pending[other] = expire(e.pending[other], at)
	for i, q := range e.pending[other] {
		if q.size == p.size {
			e.answered[other][q.size]++
			e.pending[other] = append(e.pending[other][:i], e.pending[other][i+1:]...)
			return
		}
	}
	e.requests[dir][p.size]++
	if e.firstRequest[dir] == 0 {
		e.firstRequest[dir], e.spi[dir] = frame, p.spi
	}
	e.pending[dir] = append(expire(e.pending[dir], at), echoPacket{at, p.size})
	if len(e.pending[dir]) > maxPending {
		e.pending[dir] = e.pending[dir][1:]
	}
}

// expire drops the packets that can no longer be answered at once.
func expire(q []echoPacket, now time.Time) []echoPacket {
	i := 0
	for i < len(q) && now.Sub(q[i].at) > answerWindow {
		i++
	}
	return q[i:]
}

// unanswered reports whether the requests of hosts[a] go unanswered while hosts[a] answers the
// other host's at once, and returns the count of A's unanswered requests and of B's answered ones.
func (e *echoPairing) unanswered(a int) (lost, answeredB int, ok bool) {
	b := 1 - a
	reqA, ansA := total(e.requests[a]), total(e.answered[a])
	reqB, ansB := total(e.requests[b]), total(e.answered[b])
	sameKind := 0 // A's requests of a size A answers B's requests with
	for size := range e.answered[b] {
		sameKind += e.requests[a][size]
	}
	ok = reqA >= 3 && ansA == 0 && ansB >= 3 && reqB-ansB <= reqB/10 && sameKind >= 3
	return reqA, ansB, ok
}

func total(m map[int]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// observeEchoes reports host pairs whose ESP is lost one way by the pairing rule, and returns
// those pairs, whose traffic "both ways" then proves nothing about the tunnel's health.
func observeEchoes(cf *captureFacts) ([]observation, map[[2]string]bool) {
	var obs []observation
	oneWay := map[[2]string]bool{}
	for _, key := range slices.SortedFunc(maps.Keys(cf.echoes), compareHosts) { // map order would shuffle the evidence
		e := cf.echoes[key]
		for a := range 2 {
			lost, answered, ok := e.unanswered(a)
			if !ok {
				continue
			}
			src, dst := e.hosts[a], e.hosts[1-a]
			oneWay[key] = true
			obs = append(obs, observation{event: evESPUnanswered, name: cf.path, flow: espFlow{src, dst}, ev: diag.Evidence{
				Source: diag.SourcePcap, Ref: diag.FrameRef(cf.path, int64(e.firstRequest[a])).String(),
				Text: fmt.Sprintf("%d ESP packets %s -> %s (SPI %08x) never answered, while %s answers %d packets from %s at once with packets of the same size: ESP from %s is lost on the way",
					lost, src, dst, e.spi[a], src, answered, dst, src),
			}})
		}
	}
	return obs, oneWay
}

func compareHosts(a, b [2]string) int {
	return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
}
