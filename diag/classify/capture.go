package classify

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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
// classifier reads the ESP packets itself (sizes per direction within the time window); IKE
// facts come from the summary.
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

// espTraffic reads the ESP packets (IP protocol 50, or ESP in UDP 4500) of a capture within
// the window, keeping per direction how many packets of each size went: the IKE summary's ESP
// flows cover the whole capture and carry no sizes, and an echo that loses only its large
// packets shows only in sizes. A truncated file yields what was read and an error.
func espTraffic(path string, since, until time.Time) (dirs []*espDir, packets int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, _ := br.Peek(4)
	var (
		next func() ([]byte, gopacket.CaptureInfo, error)
		link layers.LinkType
	)
	if len(magic) == 4 && binary.LittleEndian.Uint32(magic) == 0x0A0D0D0A {
		r, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", path, err)
		}
		next, link = r.ReadPacketData, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", path, err)
		}
		next, link = r.ReadPacketData, r.LinkType()
	}
	byPair := map[[2]string]*espDir{}
	for frame := 1; ; frame++ {
		data, ci, rerr := next()
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				err = fmt.Errorf("%s: frame %d: %w", path, frame, rerr)
			}
			break
		}
		packets++
		if !inWindow(ci.Timestamp, since, until) {
			continue
		}
		src, dst, size, spi, ok := espOf(data, link)
		if !ok {
			continue
		}
		d := byPair[[2]string{src, dst}]
		if d == nil {
			d = &espDir{src: src, dst: dst, firstFrame: frame, sizes: map[int]int{}, sizeFrame: map[int]int{}, spi: spi}
			byPair[[2]string{src, dst}] = d
			dirs = append(dirs, d)
		}
		d.packets++
		d.sizes[size]++
		if d.sizeFrame[size] == 0 {
			d.sizeFrame[size] = frame
		}
	}
	return dirs, packets, err
}

// espOf returns the addresses, IP length and SPI of an ESP packet.
func espOf(data []byte, link layers.LinkType) (src, dst string, size int, spi uint32, ok bool) {
	var first gopacket.Decoder = link
	if link == layers.LinkTypeRaw || link == 12 { // raw IP (DLT_RAW differs across platforms)
		if len(data) == 0 {
			return
		}
		first = layers.LayerTypeIPv4
		if data[0]>>4 == 6 {
			first = layers.LayerTypeIPv6
		}
	}
	p := gopacket.NewPacket(data, first, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	var proto layers.IPProtocol
	var payload []byte
	switch ip := p.NetworkLayer().(type) {
	case *layers.IPv4:
		src, dst, size, proto, payload = ip.SrcIP.String(), ip.DstIP.String(), int(ip.Length), ip.Protocol, ip.Payload
		if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
			return
		}
	case *layers.IPv6:
		src, dst, size, proto, payload = ip.SrcIP.String(), ip.DstIP.String(), int(ip.Length)+40, ip.NextHeader, ip.Payload
	default:
		return
	}
	switch proto {
	case layers.IPProtocolESP:
		if len(payload) >= 8 {
			return src, dst, size, binary.BigEndian.Uint32(payload), true
		}
	case layers.IPProtocolUDP:
		if len(payload) >= 8 && (binary.BigEndian.Uint16(payload[0:]) == 4500 || binary.BigEndian.Uint16(payload[2:]) == 4500) {
			if kind, ok := ike.ClassifyEncap(payload[8:]); ok && kind == ike.EncapESP {
				return src, dst, size, binary.BigEndian.Uint32(payload[8:]), true
			}
		}
	}
	return "", "", 0, 0, false
}

// observeESP turns ESP traffic into observations: one-way flows, flows both ways, and echo-like
// traffic whose large packets never come back.
func observeESP(path string, dirs []*espDir) []observation {
	var obs []observation
	pcapEv := func(event ls.Event, frame int, text string) {
		obs = append(obs, observation{event: event, name: path,
			ev: diag.Evidence{Source: diag.SourcePcap, Ref: fmt.Sprintf("%s#%d", path, frame), Text: text}})
	}
	for _, d := range dirs {
		back := reverseOf(dirs, d)
		if back == nil {
			if d.packets >= 3 {
				pcapEv(evESPOneWay, d.firstFrame, fmt.Sprintf("%d ESP packets %s -> %s (SPI %08x), none in the other direction", d.packets, d.src, d.dst, d.spi))
			}
			continue
		}
		if d.src < d.dst {
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
	frameRef := func(frame int) string { return fmt.Sprintf("%s#%d", path, frame) }
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
		// A peer that answers with error notifies is reachable, whatever the exchange matching says.
		if x.Answered || x.RequestFrame == 0 || peerErrors {
			continue
		}
		var c cond
		if established {
			c |= wasUp
		}
		text := fmt.Sprintf("%s request from %s never answered (%d retransmissions)", x.Exchange, x.Initiator, x.Retransmissions)
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
