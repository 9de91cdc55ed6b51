package classify

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"ipsecbot/diag"
	ls "ipsecbot/diag/classify/logscan"
	"ipsecbot/diag/ike"
)

// CaptureSource is a packet capture: its path (for frame references) and, when the caller has
// one already, the IKE analyzer's summary of it (else Classify runs ike.AnalyzeFile). The
// classifier reads the ESP packets itself (sizes, SPIs and timing within the time window); IKE
// facts come from the summary. A summary covers its whole file, so with a window (Input.Since,
// Input.Until) Classify makes it again from the frames within the window.
type CaptureSource struct {
	Path    string
	Summary *ike.Summary
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

// captureFacts is what the classifier reads from one capture's packets within the window:
// ESP per direction (sizes), per SPI (for the comparison across captures) and as echoes (which
// packets are answered at once), plus the IKE messages that let two captures' clocks be lined up.
type captureFacts struct {
	path       string
	packets    int64 // frames read, window or not
	inWindow   int64 // frames read within the window
	dirs       []*espDir
	flows      []*spiFlow
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
}

// wirePacket is the part of a frame the classifier's own reading needs.
type wirePacket struct {
	src, dst string
	size     int    // IP length
	esp      bool   // ESP, plain or in UDP 4500
	spi      uint32 // ESP only
	ike      []byte // the IKE message (UDP payload after any non-ESP marker), IKE only
}

// packetReader opens a pcap or pcapng file and returns its packets one by one.
func packetReader(path string) (next func() ([]byte, gopacket.CaptureInfo, error), link layers.LinkType, closer io.Closer, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, err
	}
	br := bufio.NewReader(f)
	magic, _ := br.Peek(4)
	if len(magic) == 4 && binary.LittleEndian.Uint32(magic) == 0x0A0D0D0A {
		r, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			f.Close()
			return nil, 0, nil, fmt.Errorf("%s: %w", path, err)
		}
		return r.ReadPacketData, r.LinkType(), f, nil
	}
	r, err := pcapgo.NewReader(br)
	if err != nil {
		f.Close()
		return nil, 0, nil, fmt.Errorf("%s: %w", path, err)
	}
	return r.ReadPacketData, r.LinkType(), f, nil
}

// readCaptureFacts reads the ESP packets (IP protocol 50, or ESP in UDP 4500) and IKE messages
// of a capture within the window. The IKE summary's ESP flows cover the whole capture and carry
// no sizes or timing, and an echo that loses only its large packets shows only in sizes. A
// truncated file yields what was read and an error.
func readCaptureFacts(path string, since, until time.Time) (*captureFacts, error) {
	cf := &captureFacts{path: path, echoes: map[[2]string]*echoPairing{}, anchors: map[uint64]anchor{}, mainModes: map[uint64]*mainMode{}, firstRequests: map[uint64]*firstRequest{}}
	next, link, closer, err := packetReader(path)
	if err != nil {
		return cf, err
	}
	defer closer.Close()
	byPair := map[[2]string]*espDir{}
	bySPI := map[spiKey]*spiFlow{}
	for frame := 1; ; frame++ {
		data, ci, rerr := next()
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				err = fmt.Errorf("%s: frame %d: %w", path, frame, rerr)
			}
			break
		}
		cf.packets++
		if !inWindow(ci.Timestamp, since, until) {
			continue
		}
		cf.inWindow++
		if cf.firstFrame == 0 {
			cf.first, cf.firstFrame = ci.Timestamp, frame
		}
		cf.last, cf.lastFrame = ci.Timestamp, frame
		p, ok := packetOf(data, link)
		if !ok {
			continue
		}
		if !p.esp {
			cf.addAnchor(p, ci.Timestamp)
			cf.addMainMode(p, frame, ci.Timestamp)
			cf.addFirstRequest(p, frame)
			continue
		}
		d := byPair[[2]string{p.src, p.dst}]
		if d == nil {
			d = &espDir{src: p.src, dst: p.dst, firstFrame: frame, sizes: map[int]int{}, sizeFrame: map[int]int{}, spi: p.spi}
			byPair[[2]string{p.src, p.dst}] = d
			cf.dirs = append(cf.dirs, d)
		}
		d.packets++
		d.sizes[p.size]++
		if d.sizeFrame[p.size] == 0 {
			d.sizeFrame[p.size] = frame
		}
		cf.addFlow(bySPI, p, frame, ci.Timestamp)
		cf.echo(p, frame, ci.Timestamp)
	}
	return cf, err
}

// packetOf returns the addresses and IP length of an ESP packet or an IKE message, with the
// SPI or the message.
func packetOf(data []byte, link layers.LinkType) (p wirePacket, ok bool) {
	var first gopacket.Decoder = link
	if link == layers.LinkTypeRaw || link == 12 { // raw IP (DLT_RAW differs across platforms)
		if len(data) == 0 {
			return p, false
		}
		first = layers.LayerTypeIPv4
		if data[0]>>4 == 6 {
			first = layers.LayerTypeIPv6
		}
	}
	pk := gopacket.NewPacket(data, first, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	var proto layers.IPProtocol
	var payload []byte
	switch ip := pk.NetworkLayer().(type) {
	case *layers.IPv4:
		p.src, p.dst, p.size, proto, payload = ip.SrcIP.String(), ip.DstIP.String(), int(ip.Length), ip.Protocol, ip.Payload
		if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
			return p, false
		}
	case *layers.IPv6:
		p.src, p.dst, p.size, proto, payload = ip.SrcIP.String(), ip.DstIP.String(), int(ip.Length)+40, ip.NextHeader, ip.Payload
	default:
		return p, false
	}
	switch proto {
	case layers.IPProtocolESP:
		if len(payload) >= 8 {
			p.esp, p.spi = true, binary.BigEndian.Uint32(payload)
			return p, true
		}
	case layers.IPProtocolUDP:
		if len(payload) < 8 {
			return p, false
		}
		sport, dport, body := binary.BigEndian.Uint16(payload[0:]), binary.BigEndian.Uint16(payload[2:]), payload[8:]
		switch {
		case sport == 4500 || dport == 4500:
			kind, ok := ike.ClassifyEncap(body)
			switch {
			case ok && kind == ike.EncapESP:
				p.esp, p.spi = true, binary.BigEndian.Uint32(body)
				return p, true
			case ok && kind == ike.EncapIKE && len(body) >= 4+ikeHeaderLen:
				p.ike = body[4:]
				return p, true
			}
		case (sport == 500 || dport == 500) && len(body) >= ikeHeaderLen:
			p.ike = body
			return p, true
		}
	}
	return p, false
}

// ikeHeaderLen is the fixed IKE header; shorter UDP payloads are no IKE message.
const ikeHeaderLen = 28

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
