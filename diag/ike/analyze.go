package ike

import (
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/google/gopacket/layers"
)

// Limits that keep memory flat however large the capture: past them, entries are counted, not kept.
const (
	maxExchanges   = 20000
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
func Analyze(r io.Reader, name string) (*Summary, error) {
	src, err := openCapture(r)
	if err != nil {
		return nil, err
	}
	a := newAnalyzer(name, src.LinkType())
	err = walk(src, a.packet)
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

func (a *analyzer) ike(p *packetInfo, r ikeRef, t time.Time) {
	m := r.msg
	s := a.s
	v := m.Version()
	if s.IKEVersion == 0 {
		s.IKEVersion = v
	}
	src, dst := addrPort(p.ip.src, p.sport), addrPort(p.ip.dst, p.dport)
	exName := ExchangeName(v, m.ExchangeType)
	sa := a.sa(m, p, src, dst, t)
	st := &a.saState[sa]
	if r.marker && st.seenOn500 && !s.NATT.FloatedTo4500 {
		s.NATT.FloatedTo4500, s.NATT.FloatFrame = true, p.frame
	}
	if p.sport == PortIKE || p.dport == PortIKE {
		st.seenOn500 = true
	}
	notes := a.payloadFacts(p, m, exName, src)
	if laterFragment(m) {
		return // the exchange is the message the fragments make up: its first (IKEv2) or the whole (IKEv1)
	}
	if v == 2 {
		a.exchangeV2(p, m, sa, src, dst, exName, notes, t)
	} else {
		a.exchangeV1(p, m, sa, src, dst, exName, notes, t)
	}
}

// laterFragment reports an IKEv2 SKF fragment other than the first, or any IKEv1 fragment
// (the reassembled IKEv1 message follows in the same frame).
func laterFragment(m *Message) bool {
	if len(m.Payloads) != 1 {
		return false
	}
	pl := m.Payloads[0]
	switch {
	case m.MajorVersion == 1 && pl.Type == PayloadFragV1:
		return true
	case m.MajorVersion == 2 && pl.Type == PayloadSKF:
		f, err := ParseFragment(2, pl.Body)
		return err == nil && f.Number != 1
	}
	return false
}

// sa finds or starts the IKE SA of a message.
func (a *analyzer) sa(m *Message, p *packetInfo, src, dst string, t time.Time) int {
	k := saKey{m.MajorVersion, m.InitiatorSPI}
	i, ok := a.sas[k]
	if !ok {
		init, resp := src, dst
		if m.MajorVersion == 2 && !m.IsInitiator() {
			init, resp = dst, src
		}
		a.s.IKESAs = append(a.s.IKESAs, IKESA{Version: m.Version(), ISPI: fmt.Sprintf("%016x", m.InitiatorSPI),
			Initiator: init, Responder: resp, First: t, FirstFrame: p.frame})
		a.saState = append(a.saState, saState{pendingInfo: -1})
		i = len(a.s.IKESAs) - 1
		a.sas[k] = i
	}
	sa := &a.s.IKESAs[i]
	if m.ResponderSPI != 0 {
		sa.RSPI = fmt.Sprintf("%016x", m.ResponderSPI)
	}
	sa.Last, sa.LastFrame = t, p.frame
	if a.saState[i].authAnswered && !(m.ExchangeType == 35 || m.ExchangeType == 2) {
		a.saState[i].activityAfter = true
	}
	return i
}

// payloadFacts records notifies, NAT-D, fragments and deletes; it returns the notify names.
func (a *analyzer) payloadFacts(p *packetInfo, m *Message, exName, src string) []string {
	s := a.s
	v := m.Version()
	var names []string
	for _, pl := range m.Payloads {
		switch pl.Type {
		case PayloadNotify, PayloadNotifyV1:
			if (v == 2) != (pl.Type == PayloadNotify) {
				continue
			}
			typ, ok := notifyType(v, pl.Body)
			if !ok {
				continue
			}
			name := NotifyName(v, typ)
			names = append(names, name)
			switch typ {
			case 16388, 16389:
				if v == 2 {
					s.NATT.NATDetectionPayloads = true
				}
			case 16430:
				if v == 2 {
					s.Fragments.IKEFragSupported = true
				}
			}
			if len(s.Notifies) < maxNotifies {
				s.Notifies = append(s.Notifies, NotifySeen{Frame: p.frame, Type: int(typ), Name: name, Error: NotifyIsError(typ),
					Exchange: exName, Src: src, Response: m.IsResponse()})
			} else {
				s.NotifiesOmitted++
			}
		case PayloadNATD, PayloadNATDDraft:
			if v == 1 {
				s.NATT.NATDetectionPayloads = true
			}
		case PayloadSKF:
			if v == 2 {
				s.Fragments.IKEFragments++
			}
		case PayloadFragV1:
			if v == 1 {
				s.Fragments.IKEFragments++
			}
		case PayloadVendorV1, PayloadVendor:
			if VendorName(pl.Body) == "FRAGMENTATION" {
				s.Fragments.IKEFragSupported = true
			}
		case PayloadDelete, PayloadDeleteV1:
			if i, ok := a.sas[saKey{m.MajorVersion, m.InitiatorSPI}]; ok {
				s.IKESAs[i].Deleted = true
			}
		}
	}
	return names
}

// newExchange appends an exchange, unless the list is full.
func (a *analyzer) newExchange(e Exchange, sa int) int {
	if len(a.s.Exchanges) >= maxExchanges {
		a.s.ExchangesOmitted++
		return -1
	}
	a.s.Exchanges = append(a.s.Exchanges, e)
	a.exchSA = append(a.exchSA, sa)
	a.notLiveness = append(a.notLiveness, false)
	return len(a.s.Exchanges) - 1
}

func (a *analyzer) exchangeV2(p *packetInfo, m *Message, sa int, src, dst, exName string, notes []string, t time.Time) {
	byInit := m.IsInitiator() != m.IsResponse()
	k := exchKey{2, m.InitiatorSPI, m.MessageID, byInit}
	i, open := a.exch[k]
	if !m.IsResponse() {
		if open && i >= 0 {
			e := &a.s.Exchanges[i]
			if e.Initiator == src && e.Exchange == exName && e.RequestLength == len(m.Contents) {
				e.Retransmissions++
				return
			}
		}
		e := Exchange{Version: 2, Exchange: exName, ISPI: fmt.Sprintf("%016x", m.InitiatorSPI), RSPI: fmt.Sprintf("%016x", m.ResponderSPI),
			MessageID: m.MessageID, Initiator: src, Responder: dst, RequestFrame: p.frame, Time: t, Notify: notes, RequestLength: len(m.Contents)}
		a.setExch(k, a.newExchange(e, sa))
		return
	}
	if !open {
		e := Exchange{Version: 2, Exchange: exName, ISPI: fmt.Sprintf("%016x", m.InitiatorSPI), MessageID: m.MessageID,
			Initiator: dst, Responder: src, Time: t}
		i = a.newExchange(e, sa)
		a.setExch(k, i)
	}
	if i < 0 {
		return
	}
	e := &a.s.Exchanges[i]
	if e.Answered {
		return // a retransmitted response
	}
	e.Answered, e.ResponseFrame, e.ResponseLength = true, p.frame, len(m.Contents)
	e.RSPI = fmt.Sprintf("%016x", m.ResponderSPI)
	e.Notify = appendUnique(e.Notify, notes...)
	st := &a.saState[sa]
	if m.ExchangeType == 35 && !st.authAnswered {
		st.authAnswered, st.authAnswerAt = true, t
	}
	for _, n := range notes {
		if typ := notifyNumber(2, n); NotifyIsError(typ) && (m.ExchangeType == 35 || m.ExchangeType == 34) {
			st.authFailed = true
		}
	}
}

func (a *analyzer) exchangeV1(p *packetInfo, m *Message, sa int, src, dst, exName string, notes []string, t time.Time) {
	k := exchKey{1, m.InitiatorSPI, m.MessageID, false}
	st := &a.saState[sa]
	if m.ExchangeType == 5 { // informational: one-way, paired with the peer's next one (DPD and its ack)
		if j := st.pendingInfo; j >= 0 && j < len(a.s.Exchanges) {
			e := &a.s.Exchanges[j]
			if e.Responder == src && t.Sub(e.Time) < 10*time.Second {
				e.Answered, e.ResponseFrame, e.ResponseLength, e.OneWay = true, p.frame, len(m.Contents), false
				e.Notify = appendUnique(e.Notify, notes...)
				st.pendingInfo = -1
				return
			}
		}
		burst := false
		if j := st.pendingInfo; j >= 0 && j < len(a.s.Exchanges) {
			if e := &a.s.Exchanges[j]; e.Initiator == src && t.Sub(e.Time) < 500*time.Millisecond {
				a.notLiveness[j], burst = true, true // two at once: deletes (CHILD SA, then IKE SA), not DPD
			}
		}
		e := Exchange{Version: 1, Exchange: exName, ISPI: fmt.Sprintf("%016x", m.InitiatorSPI), RSPI: fmt.Sprintf("%016x", m.ResponderSPI),
			MessageID: m.MessageID, Initiator: src, Responder: dst, RequestFrame: p.frame, Time: t, Notify: notes,
			RequestLength: len(m.Contents), OneWay: true}
		if m.Encrypted == nil && !slices.Contains(notes, "R_U_THERE") {
			burst = true // a readable informational that is not R-U-THERE: an error notify or a delete
		}
		st.pendingInfo = a.newExchange(e, sa)
		if burst && st.pendingInfo >= 0 {
			a.notLiveness[st.pendingInfo] = true
		}
		return
	}
	if m.ExchangeType == 32 {
		st.quickModes++
	}
	i, open := a.exch[k]
	if open && i >= 0 {
		e := &a.s.Exchanges[i]
		switch {
		case !e.Answered && e.Initiator == src && e.RequestLength == len(m.Contents):
			e.Retransmissions++
			return
		case !e.Answered && e.Responder == src:
			e.Answered, e.ResponseFrame, e.ResponseLength = true, p.frame, len(m.Contents)
			e.RSPI = fmt.Sprintf("%016x", m.ResponderSPI)
			e.Notify = appendUnique(e.Notify, notes...)
			if m.ExchangeType == 2 && a.s.Exchanges[i].RequestLength > 0 && m.Flags&FlagEncryption != 0 {
				st.authAnswered, st.authAnswerAt = true, t // Main Mode 6: the IKE SA is up
			}
			if m.ExchangeType == 4 {
				st.authAnswered, st.authAnswerAt = true, t
			}
			return
		}
	}
	// A new request: the next pair of Main Mode, or the final message of Quick/Aggressive Mode.
	final := open && i >= 0 && a.s.Exchanges[i].Answered && (m.ExchangeType == 32 || m.ExchangeType == 4)
	e := Exchange{Version: 1, Exchange: exName, ISPI: fmt.Sprintf("%016x", m.InitiatorSPI), RSPI: fmt.Sprintf("%016x", m.ResponderSPI),
		MessageID: m.MessageID, Initiator: src, Responder: dst, RequestFrame: p.frame, Time: t, Notify: notes,
		RequestLength: len(m.Contents), OneWay: final}
	if m.ExchangeType == 32 && !final && st.firstQuick == 0 {
		st.firstQuick = p.frame
	}
	a.setExch(k, a.newExchange(e, sa))
}

func (a *analyzer) setExch(k exchKey, i int) {
	if len(a.exch) >= 4*maxExchanges {
		clear(a.exch)
	}
	a.exch[k] = i
}

func appendUnique(list []string, more ...string) []string {
	for _, n := range more {
		if !slices.Contains(list, n) {
			list = append(list, n)
		}
	}
	return list
}

// notifyNumber maps a name back to its number (names are what exchanges keep).
func notifyNumber(v int, name string) uint16 {
	table := notifiesV2
	if v == 1 {
		table = notifiesV1
	}
	for k, n := range table {
		if n == name {
			return k
		}
	}
	return 0
}

func (a *analyzer) icmp(p *packetInfo) {
	s := a.s
	typ, code := p.icmpType, p.icmpCode
	if !p.icmpV6 && typ == 3 && code == 4 || p.icmpV6 && typ == 2 {
		s.Fragments.ICMPFragNeeded++
		if s.Fragments.ICMPFragNeededFrame == 0 {
			s.Fragments.ICMPFragNeededFrame = p.frame
		}
	}
	echoReq, echoRep := uint8(8), uint8(0)
	if p.icmpV6 {
		echoReq, echoRep = 128, 129
	}
	switch typ {
	case echoReq:
		a.echoRequest(p)
		return
	case echoRep:
		a.echoReply(p)
		return
	}
	if p.quoted.version == 0 {
		return
	}
	quoted := fmt.Sprintf("proto/%d", p.quoted.proto)
	switch {
	case p.quotedUDP:
		port := p.quotedPort[1]
		quoted = fmt.Sprintf("udp/%d", port)
	case p.quoted.proto == 50:
		quoted = "esp"
	case p.quoted.proto == 1:
		quoted = "icmp"
	}
	k := icmpErrKey{p.ip.src, p.ip.dst, typ, code, quoted}
	if i, ok := a.icmpErrs[k]; ok {
		s.ICMPErrors[i].Count++
		return
	}
	if len(s.ICMPErrors) >= maxICMPErrors {
		return
	}
	s.ICMPErrors = append(s.ICMPErrors, ICMPError{From: p.ip.src.String(), To: p.ip.dst.String(), Type: int(typ), Code: int(code),
		Name: icmpName(p.icmpV6, typ, code), Quoted: quoted, Count: 1, FirstFrame: p.frame})
	a.icmpErrs[k] = len(s.ICMPErrors) - 1
}

func icmpName(v6 bool, typ, code uint8) string {
	if v6 {
		switch typ {
		case 1:
			return "destination unreachable"
		case 2:
			return "packet too big"
		case 3:
			return "time exceeded"
		}
		return fmt.Sprintf("icmpv6 type %d", typ)
	}
	switch {
	case typ == 3 && code == 3:
		return "port unreachable"
	case typ == 3 && code == 4:
		return "fragmentation needed"
	case typ == 3 && code == 1:
		return "host unreachable"
	case typ == 3 && code == 0:
		return "net unreachable"
	case typ == 3 && code == 13:
		return "administratively prohibited"
	case typ == 3:
		return "destination unreachable"
	case typ == 11:
		return "time exceeded"
	}
	return fmt.Sprintf("icmp type %d code %d", typ, code)
}

func (a *analyzer) echoRequest(p *packetInfo) {
	k := pingKey{p.ip.src, p.ip.dst, p.icmpID}
	ps := a.pings[k]
	if ps == nil {
		if len(a.pings) >= maxPingFlows {
			return
		}
		a.s.Pings = append(a.s.Pings, PingFlow{Src: p.ip.src.String(), Dst: p.ip.dst.String()})
		ps = &pingState{index: len(a.s.Pings) - 1, outstanding: map[uint16]echoReq{}}
		a.pings[k] = ps
	}
	f := &a.s.Pings[ps.index]
	f.Requests++
	f.MaxSize = max(f.MaxSize, p.ip.length)
	if len(ps.outstanding) < maxOutstanding {
		ps.outstanding[p.icmpSeq] = echoReq{size: p.ip.length, df: p.ip.df, frame: p.frame}
	}
}

func (a *analyzer) echoReply(p *packetInfo) {
	ps := a.pings[pingKey{p.ip.dst, p.ip.src, p.icmpID}]
	if ps == nil {
		return
	}
	f := &a.s.Pings[ps.index]
	req, ok := ps.outstanding[p.icmpSeq]
	if !ok {
		return
	}
	delete(ps.outstanding, p.icmpSeq)
	f.Replies++
	f.MaxAnswered = max(f.MaxAnswered, req.size)
}

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
