package classify

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"time"

	"ipsecbot/diag"
	ls "ipsecbot/diag/classify/logscan"
	"ipsecbot/diag/ike"
)

// CaptureSource is a packet capture (pcap or pcapng). Path names it in frame references; Data,
// when set, is read instead of opening Path. Classify reads each capture once: the IKE
// analyzer's summary and the classifier's own packet facts come out of the same pass, within
// the time window (Input.Since, Input.Until).
type CaptureSource struct {
	Path string
	Data io.Reader
	// Read, when set, is called once the capture has been read, with the analyzer's summary (nil
	// when the file is no capture) and the error that kept it from being read whole (nil when it was).
	Read func(sum *ike.Summary, err error)
}

// espDir is the ESP seen in one direction between two hosts.
type espDir struct {
	src, dst   string
	packets    int
	firstFrame int
	sizes      map[int]int // IP length -> packets
	sizeFrame  map[int]int // IP length -> first frame
	spi        uint32
}

// captureFacts is what the classifier follows itself in one capture's frames within the window,
// beside the IKE analyzer's summary: ESP per direction (sizes), per SPI (for the comparison
// across captures) and as echoes (which packets are answered at once), plus the IKE messages
// that let two captures' clocks be lined up.
type captureFacts struct {
	path       string
	packets    int64 // frames read, window or not
	inWindow   int64 // frames read within the window
	dirs       []*espDir
	byPair     map[[2]string]*espDir
	flows      []*spiFlow
	bySPI      map[spiKey]*spiFlow
	flowsCut   bool // more SPI flows than maxFlows: counts per SPI are incomplete
	echoes     map[[2]string]*echoPairing
	anchors    map[uint64]anchor
	first      time.Time // the first and last frame within the window
	last       time.Time
	firstFrame int
	lastFrame  int
	// IKEv1 Main Mode negotiations by initiator SPI, in the order they began (mainmode.go)
	mainModes     map[uint64]*mainMode
	mainModeOrder []uint64
	// the first exchange of each IKE SA, for answers lost on the way back (answerslost.go)
	firstRequests     map[uint64]*firstRequest
	firstRequestOrder []uint64
	names             addrNames
}

func newCaptureFacts(path string) *captureFacts {
	return &captureFacts{path: path, byPair: map[[2]string]*espDir{}, bySPI: map[spiKey]*spiFlow{}, echoes: map[[2]string]*echoPairing{},
		anchors: map[uint64]anchor{}, mainModes: map[uint64]*mainMode{}, firstRequests: map[uint64]*firstRequest{}}
}

// wirePacket is the part of a frame the classifier's own reading needs.
type wirePacket struct {
	src, dst string
	size     int    // IP length
	esp      bool   // ESP, plain or in UDP 4500
	spi      uint32 // ESP only
	ike      []byte // the IKE message (UDP payload after any non-ESP marker), IKE only
}

// readCapture reads one capture in one pass: the IKE analyzer's summary (nil when the file is
// no capture) and the classifier's own facts, both within the window. A capture cut short
// yields what was read and an error.
func readCapture(src CaptureSource, since, until time.Time) (*ike.Summary, *captureFacts, error) {
	cf := newCaptureFacts(src.Path)
	r := src.Data
	if r == nil {
		f, err := os.Open(src.Path)
		if err != nil {
			return nil, cf, err
		}
		defer f.Close()
		r = f
	}
	sum, err := ike.AnalyzeWith(r, src.Path, ike.Options{Since: since, Until: until, Frame: cf.add})
	if sum != nil {
		cf.packets = sum.Packets
	}
	return sum, cf, err
}

// add folds one frame within the window into the facts.
func (cf *captureFacts) add(f *ike.Frame) {
	cf.inWindow++
	if cf.firstFrame == 0 {
		cf.first, cf.firstFrame = f.Time, f.Number
	}
	cf.last, cf.lastFrame = f.Time, f.Number
	p, ok := cf.packetOf(f)
	if !ok {
		return
	}
	if !p.esp {
		cf.addAnchor(p, f.Time)
		cf.addMainMode(p, f.Number, f.Time)
		cf.addFirstRequest(p, f.Number)
		return
	}
	d := cf.byPair[[2]string{p.src, p.dst}]
	if d == nil {
		d = &espDir{src: p.src, dst: p.dst, firstFrame: f.Number, sizes: map[int]int{}, sizeFrame: map[int]int{}, spi: p.spi}
		cf.byPair[[2]string{p.src, p.dst}] = d
		cf.dirs = append(cf.dirs, d)
	}
	d.packets++
	d.sizes[p.size]++
	if d.sizeFrame[p.size] == 0 {
		d.sizeFrame[p.size] = f.Number
	}
	cf.addFlow(p, f.Number, f.Time)
	cf.echo(p, f.Number, f.Time)
}

// packetOf returns the addresses and IP length of an ESP packet (not an IP fragment: its
// length would be a fragment's) or an IKE message, with the SPI or the message.
func (cf *captureFacts) packetOf(f *ike.Frame) (p wirePacket, ok bool) {
	switch {
	case !f.Src.IsValid():
		return p, false
	case f.ESP && !f.Fragment:
		p.esp, p.spi = true, f.SPI
	case f.IKE != nil:
		p.ike = f.IKE
	default:
		return p, false
	}
	p.src, p.dst, p.size = cf.names.of(f.Src), cf.names.of(f.Dst), f.Length
	return p, true
}

// addrNames keeps the text of the addresses seen last, so a long run of packets between the same
// hosts does not format them again and again.
type addrNames struct {
	addr [4]netip.Addr
	name [4]string
	next int
}

func (n *addrNames) of(a netip.Addr) string {
	for i := range n.addr {
		if n.addr[i] == a && n.name[i] != "" {
			return n.name[i]
		}
	}
	s := a.String()
	n.addr[n.next], n.name[n.next] = a, s
	n.next = (n.next + 1) % len(n.addr)
	return s
}

// observeESP turns a capture's ESP into observations: one-way flows, flows both ways, echo-like
// traffic whose large packets never come back, and ESP answered one way only (echo.go).
func observeESP(cf *captureFacts) []observation {
	obs, oneWay := observeEchoes(cf)
	pcapEv := func(event ls.Event, frame int, text string) {
		obs = append(obs, observation{event: event, name: cf.path,
			ev: diag.Evidence{Source: diag.SourcePcap, Ref: diag.FrameRef(cf.path, int64(frame)).String(), Text: text}})
	}
	for _, d := range cf.dirs {
		back := reverseOf(cf.dirs, d)
		if back == nil {
			if d.packets >= 3 {
				pcapEv(evESPOneWay, d.firstFrame, fmt.Sprintf("%d ESP packets %s -> %s (SPI %08x), none in the other direction", d.packets, d.src, d.dst, d.spi))
			}
			continue
		}
		if d.src < d.dst && !oneWay[[2]string{d.src, d.dst}] {
			pcapEv(evESPBothWays, min(d.firstFrame, back.firstFrame), fmt.Sprintf("ESP both ways: %d packets %s -> %s, %d back", d.packets, d.src, d.dst, back.packets))
		}
		if size, n, small := largeLost(d, back); n > 0 {
			pcapEv(evESPLargeLost, d.sizeFrame[size], fmt.Sprintf("%d ESP packets of %d bytes %s -> %s never answered, while %d-byte ones are answered packet for packet", n, size, d.src, d.dst, small))
		}
	}
	return obs
}

func reverseOf(dirs []*espDir, d *espDir) *espDir {
	for _, o := range dirs {
		if o.src == d.dst && o.dst == d.src {
			return o
		}
	}
	return nil
}

// largeLost looks for echo-like ESP (every size that goes out comes back as often) in which
// packets above some size go out and never come back: a path that drops large packets. It
// returns the smallest lost size, how many packets of lost sizes left, and the largest size
// that did come back.
func largeLost(out, back *espDir) (lostSize, lost, answered int) {
	var sizes []int
	for s := range out.sizes {
		sizes = append(sizes, s)
	}
	slices.Sort(sizes)
	for _, s := range sizes {
		n := out.sizes[s]
		switch m := back.sizes[s]; {
		case m > 0 && lost == 0:
			if abs(n-m) > 1+n/4 { // not echo-like
				return 0, 0, 0
			}
			answered = s
		case m == 0 && answered > 0:
			if lost == 0 {
				lostSize = s
			}
			lost += n
		case m > 0 && lost > 0: // a larger size came back after all: not a size limit
			return 0, 0, 0
		}
	}
	if lost < 2 {
		return 0, 0, 0
	}
	for s := range back.sizes {
		if s >= lostSize { // the other side sends large packets that arrive: no size limit here
			return 0, 0, 0
		}
	}
	return lostSize, lost, answered
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// observeSummary turns the IKE analyzer's summary into observations.
func observeSummary(path string, s *ike.Summary) []observation {
	var obs []observation
	frameRef := func(frame int) string { return diag.FrameRef(path, int64(frame)).String() }
	add := func(event ls.Event, c cond, frame int, version int, text string) {
		obs = append(obs, observation{event: event, cond: c, name: path, version: version,
			ev: diag.Evidence{Source: diag.SourcePcap, Ref: frameRef(frame), Text: text}})
	}
	established := false
	for _, sa := range s.IKESAs {
		if sa.Established {
			established = true
		}
		if sa.Established && sa.ShortRekeyResponses > 0 {
			add(evRekeyRejected, ikeUp|childUp, sa.LastFrame, sa.Version, fmt.Sprintf("%d CREATE_CHILD_SA rekey responses too short to carry a new SA (a bare error notify)", sa.ShortRekeyResponses))
		}
		// IKEv2 answers every request; an IKEv1 final delete is never acknowledged, so one is not enough.
		if sa.Established && (sa.DPDUnanswered >= 2 || (sa.Version == 2 && sa.DPDUnanswered >= 1)) {
			add(evDPDUnanswered, ikeUp, sa.LastFrame, sa.Version, fmt.Sprintf("%d of %d liveness checks of an established IKE SA unanswered", sa.DPDUnanswered, sa.DPDRequests))
		}
	}
	peerErrors := slices.ContainsFunc(s.Notifies, func(n ike.NotifySeen) bool { return n.Error })
	for _, x := range s.Exchanges {
		// A peer that answers with error notifies is reachable, whatever the exchange matching says;
		// so is one that sends IKE after the request (an IKEv1 responder that cannot decrypt or
		// accept MM5 answers with an informational, not with MM6): it refused the request.
		if x.Answered || x.RequestFrame == 0 || peerErrors || heardFromAfter(s, x) {
			continue
		}
		var c cond
		if established {
			c |= wasUp
		}
		text := fmt.Sprintf("%s request from %s never answered (%d retransmissions)", x.Exchange, x.Initiator, x.Retransmissions)
		if tooSoonToTell(s, x) {
			c |= tooSoon
			text = fmt.Sprintf("%s request from %s not answered before the capture ended (%d retransmissions, %s later; too soon to tell)",
				x.Exchange, x.Initiator, x.Retransmissions, s.Last.Sub(x.Time).Round(time.Millisecond))
		}
		if isFirstExchange(x) {
			add(evIKEInitUnanswered, c, x.RequestFrame, x.Version, text)
		} else if x.Exchange != "INFORMATIONAL" && x.Exchange != "INFORMATIONAL_V1" {
			add(evIKEUnanswered, c, x.RequestFrame, x.Version, text)
		}
	}
	for _, n := range s.Notifies {
		if !n.Error {
			continue
		}
		i := ls.MatchString(n.Name)
		if i < 0 {
			continue
		}
		var c cond
		switch n.Exchange {
		case "IKE_AUTH", "QUICK_MODE":
			c = ikeUp
		case "INFORMATIONAL_V1": // IKEv1 errors come in their own exchange: the SA state tells the phase
			if established {
				c = ikeUp
			}
		case "CREATE_CHILD_SA":
			c = ikeUp | childUp
		}
		add(ls.PatternEvent(i), c, n.Frame, 0, fmt.Sprintf("%s notify in %s from %s", n.Name, n.Exchange, n.Src))
	}
	obs = append(obs, observeIKEAuth(path, s)...)
	obs = append(obs, observeStalled(path, s)...)
	if s.Fragments.ICMPFragNeeded > 0 {
		add(evICMPFragNeeded, 0, s.Fragments.ICMPFragNeededFrame, 0, fmt.Sprintf("%d ICMP fragmentation-needed messages", s.Fragments.ICMPFragNeeded))
	}
	for _, p := range s.Pings {
		if p.DFUnanswered > 0 && p.MaxAnswered > 0 && p.MaxAnswered < p.MaxSize {
			add(evPingDFLost, 0, p.FirstUnansweredFrame, 0, fmt.Sprintf("pings %s -> %s: up to %d bytes answered, %d don't-fragment pings up to %d bytes lost", p.Src, p.Dst, p.MaxAnswered, p.DFUnanswered, p.MaxSize))
		}
	}
	return obs
}

// answerWait is how long after a request the capture must go on before its silence means the
// peer did not answer: longer than a round trip over any VPN path, shorter than the first
// retransmission (strongSwan 4 s, NSX 2 s).
const answerWait = 2 * time.Second

// tooSoonToTell reports whether x's silence proves little: a request never retransmitted (the
// initiator did not wait for an answer either, or the capture or file was cut short), or one
// too near the end of the capture for an answer to have been seen.
func tooSoonToTell(s *ike.Summary, x ike.Exchange) bool {
	return x.Retransmissions == 0 || s.Last.Sub(x.Time) < answerWait
}

// heardFromAfter reports whether x's responder sent any IKE message of the same IKE SA after x's
// request (the port may float from 500 to 4500 meanwhile). Only the same SA counts: a peer that
// starts negotiations of its own may still not be getting ours.
func heardFromAfter(s *ike.Summary, x ike.Exchange) bool {
	host := hostOf(x.Responder)
	for _, y := range s.Exchanges {
		if y.ISPI != x.ISPI {
			continue
		}
		if hostOf(y.Initiator) == host && y.RequestFrame > x.RequestFrame || hostOf(y.Responder) == host && y.ResponseFrame > x.RequestFrame {
			return true
		}
	}
	return false
}

// hostOf is the address of ip:port ([v6]:port too); addr itself when it has no port.
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// isFirstExchange: IKEv2 IKE_SA_INIT, or IKEv1's first Main/Aggressive Mode message.
func isFirstExchange(x ike.Exchange) bool {
	switch x.Exchange {
	case "IKE_SA_INIT":
		return true
	case "MAIN_MODE", "AGGRESSIVE":
		return x.RSPI == "" || x.RSPI == "0000000000000000"
	}
	return false
}
