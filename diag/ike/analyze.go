package ike

import (
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Limits that keep memory flat however large the capture: past them, entries are counted, not kept.
const (
	maxExchanges   = 10000
	maxNotifies    = 10000
	maxESPFlows    = 4096
	maxPingFlows   = 1024
	maxOutstanding = 1024 // unanswered echo requests remembered per ping flow
	maxICMPErrors  = 1024
)

// AnalyzeFile summarises a pcap or pcapng file. A file that is not a capture is an error with no
// summary; one cut short returns the summary of what was read AND an error (errors.Is ErrTruncated).
func AnalyzeFile(path string) (*Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Analyze(f, path)
}

// Analyze summarises a capture read from r, in one pass; name goes into Summary.File.
func Analyze(r io.Reader, name string) (*Summary, error) { return AnalyzeWith(r, name, Options{}) }

// AnalyzeWith is Analyze with a time window and a reader of the frames, all in the same pass.
func AnalyzeWith(r io.Reader, name string, opt Options) (*Summary, error) {
	src, err := openCapture(r)
	if err != nil {
		return nil, err
	}
	a := newAnalyzer(name, src.LinkType())
	var f Frame
	err = eachFrame(src, func(frame int, data []byte, ci gopacket.CaptureInfo) error {
		in := opt.within(ci.Timestamp)
		if !in {
			data = nil // counted with its number and time, decoded to nothing
		}
		p := a.d.dissect(frame, data, ci.Length)
		a.packet(p, ci.Timestamp)
		if in && opt.Frame != nil {
			frameOf(&f, p, ci.Timestamp)
			opt.Frame(&f)
		}
		return nil
	})
	s := a.finish()
	if err != nil {
		s.Truncated, s.Error = true, err.Error()
		return s, err
	}
	return s, nil
}

type exchKey struct {
	version     uint8
	ispi        uint64
	msgID       uint32
	byInitiator bool // IKEv2: the request came from the IKE SA's original initiator
}

type saKey struct {
	version uint8
	ispi    uint64
}

type flowKey struct {
	spi      uint32
	src, dst netip.Addr
	encap    bool
}

type pingKey struct {
	src, dst netip.Addr
	id       uint16
}

type icmpErrKey struct {
	from, to  netip.Addr
	typ, code uint8
	quoted    string
}

// saState is what the analyzer tracks about one IKE SA beyond its IKESA record.
type saState struct {
	seenOn500     bool
	authAnswered  bool
	authAnswerAt  time.Time
	authFailed    bool
	activityAfter bool // a message after the auth exchange completed
	quickModes    int
	firstQuick    int // request frame of the first Quick Mode: the ones after it are rekeys
	pendingInfo   int // IKEv1: index of an informational waiting for the peer's, or -1
}

type pingState struct {
	index       int // in Summary.Pings
	outstanding map[uint16]echoReq
}

type echoReq struct {
	size  int
	df    bool
	frame int
}

type analyzer struct {
	s      *Summary
	d      dissector
	exch   map[exchKey]int // open exchange -> index in s.Exchanges
	exchSA []int           // s.Exchanges[i] belongs to s.IKESAs[exchSA[i]]
	// notLiveness marks IKEv1 informationals sent in a burst (deletes), which are not DPD checks.
	notLiveness []bool
	sas         map[saKey]int
	saState     []saState
	flows       map[flowKey]*ESPFlow
	recent      [4]recentFlow // the flows of the last packets: both directions of two tunnels
	next        int
	pings       map[pingKey]*pingState
	icmpErrs    map[icmpErrKey]int
}

func newAnalyzer(name string, link layers.LinkType) *analyzer {
	a := &analyzer{
		d:        dissector{link: link},
		s:        &Summary{File: name, Exchanges: []Exchange{}, ESPFlows: []ESPFlow{}, Notifies: []NotifySeen{}, IKESAs: []IKESA{}, Pings: []PingFlow{}, ICMPErrors: []ICMPError{}},
		exch:     map[exchKey]int{},
		sas:      map[saKey]int{},
		flows:    map[flowKey]*ESPFlow{},
		pings:    map[pingKey]*pingState{},
		icmpErrs: map[icmpErrKey]int{},
	}
	return a
}

// packet folds one dissected frame into the summary.
func (a *analyzer) packet(p *packetInfo, t time.Time) {
	s := a.s
	s.Packets++
	if s.First.IsZero() {
		s.First = t
	}
	s.Last = t
	if p.esp {
		s.ESPPackets++
		if !p.espInICMP {
			a.esp(p, t)
		}
	}
	if len(p.ike) > 0 {
		s.IKEMessages++
		for _, r := range p.ike {
			if r.err != nil {
				s.MalformedIKE++
				if s.FirstMalformed == "" {
					s.FirstMalformed = fmt.Sprintf("frame %d: %v", p.frame, r.err)
				}
				continue
			}
			if !r.inICMP {
				a.ike(p, r, t)
			}
		}
	}
	if p.keepalive {
		s.NATT.Keepalives++
	}
	if p.ipFragment {
		s.Fragments.IPFragments++
	}
	if p.icmp {
		a.icmp(p)
	}
}

func (a *analyzer) esp(p *packetInfo, t time.Time) {
	src, dst := p.ip.src, p.ip.dst
	if p.espInICMP || p.espNoSeq {
		return
	}
	k := flowKey{p.espSPI, src, dst, p.espEncap}
	f := a.flow(k)
	if f == nil {
		if len(a.flows) >= maxESPFlows {
			return
		}
		f = &ESPFlow{SPI: fmt.Sprintf("%08x", p.espSPI), Src: src.String(), Dst: dst.String(), UDPEncap: p.espEncap,
			First: t, FirstSeq: p.espSeq, LastSeq: p.espSeq, FirstFrame: p.frame}
		a.flows[k] = f
	} else if p.espSeq > f.LastSeq+1 {
		f.Lost += int64(p.espSeq - f.LastSeq - 1)
	}
	if p.espSeq > f.LastSeq {
		f.LastSeq = p.espSeq
	}
	f.Packets++
	f.Bytes += int64(p.espLen)
	f.Last = t
}

type recentFlow struct {
	key  flowKey
	flow *ESPFlow
}

// flow finds an ESP flow, trying the few seen last before the map (most packets belong to them).
func (a *analyzer) flow(k flowKey) *ESPFlow {
	for i := range a.recent {
		if a.recent[i].flow != nil && a.recent[i].key == k {
			return a.recent[i].flow
		}
	}
	f := a.flows[k]
	if f != nil {
		a.recent[a.next] = recentFlow{k, f}
		a.next = (a.next + 1) % len(a.recent)
	}
	return f
}

func addrPort(a netip.Addr, port uint16) string { return netip.AddrPortFrom(a, port).String() }

// finish computes what needs the whole capture: unanswered counts, SA outcomes, one-way ESP.
func (a *analyzer) finish() *Summary {
	s := a.s
	for i := range s.Exchanges {
		e := &s.Exchanges[i]
		sa := &s.IKESAs[a.exchSA[i]]
		st := &a.saState[a.exchSA[i]]
		after := st.authAnswered && e.Time.After(st.authAnswerAt)
		switch {
		case e.Exchange == "CREATE_CHILD_SA" && e.RequestFrame > 0:
			sa.Rekeys++
			if !e.Answered || hasError(2, e.Notify) {
				sa.FailedRekeys++
			} else if e.ResponseLength*2 < e.RequestLength {
				sa.ShortRekeyResponses++
			}
		case e.Exchange == "QUICK_MODE" && !e.OneWay && after:
			if e.RequestFrame != st.firstQuick {
				sa.Rekeys++
				if !e.Answered || hasError(1, e.Notify) {
					sa.FailedRekeys++
				}
			}
		case (e.Exchange == "INFORMATIONAL" || e.Exchange == "INFORMATIONAL_V1") && after && e.RequestFrame > 0 && !a.notLiveness[i]:
			sa.DPDRequests++
			if !e.Answered {
				sa.DPDUnanswered++
			}
		}
	}
	for i := range s.IKESAs {
		st := &a.saState[i]
		sa := &s.IKESAs[i]
		used := st.activityAfter || st.quickModes > 0 || a.espAfter(sa, st.authAnswerAt)
		sa.Established = st.authAnswered && !st.authFailed && used
	}
	// ESP flows in the order first seen, then one-way: no ESP at all the other way between the hosts.
	for _, f := range a.flows {
		s.ESPFlows = append(s.ESPFlows, *f)
	}
	slices.SortFunc(s.ESPFlows, func(x, y ESPFlow) int { return cmp.Compare(x.FirstFrame, y.FirstFrame) })
	for i := range s.ESPFlows {
		f := &s.ESPFlows[i]
		f.OneWay = !slices.ContainsFunc(s.ESPFlows, func(o ESPFlow) bool { return o.Src == f.Dst && o.Dst == f.Src })
	}
	for _, ps := range a.pings {
		f := &s.Pings[ps.index]
		first := 0
		for _, req := range ps.outstanding {
			if req.df {
				f.DFUnanswered++
			}
			if first == 0 || req.frame < first {
				first = req.frame
			}
		}
		f.FirstUnansweredFrame = first
	}
	return s
}

// espAfter reports ESP between the IKE SA's hosts after t (the SA carried traffic once up).
func (a *analyzer) espAfter(sa *IKESA, t time.Time) bool {
	if t.IsZero() {
		return false
	}
	ih, ierr := netip.ParseAddrPort(sa.Initiator)
	rh, rerr := netip.ParseAddrPort(sa.Responder)
	if ierr != nil || rerr != nil {
		return false
	}
	for k, f := range a.flows {
		if f.Last.After(t) && (k.src == ih.Addr() && k.dst == rh.Addr() || k.src == rh.Addr() && k.dst == ih.Addr()) {
			return true
		}
	}
	return false
}

func hasError(v int, names []string) bool {
	for _, n := range names {
		if NotifyIsError(notifyNumber(v, n)) {
			return true
		}
	}
	return false
}
