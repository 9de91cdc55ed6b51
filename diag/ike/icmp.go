package ike

import "fmt"

// ICMP: errors (with what they quote) and echo request/reply pairs.

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
