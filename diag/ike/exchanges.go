package ike

import (
	"fmt"
	"slices"
	"time"
)

// IKE messages into exchanges and IKE SAs: requests matched with responses by SPIs, message ID
// and direction (IKEv2) or by turn (IKEv1, which has no response flag), retransmissions counted.

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

// exchangeV2 matches an IKEv2 message to its exchange: a request opens one (or is a
// retransmission: same sender, exchange and size), a response closes it.
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

// exchangeV1 matches an IKEv1 message by turn: within one message ID the other side's message
// answers the open request and the same side's identical one retransmits it. Informational
// exchanges are one-way; one answered by the peer's within seconds is counted as a DPD pair.
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
