package classify

import (
	"encoding/binary"
	"fmt"
	"slices"

	"ipsecbot/diag"
	"ipsecbot/diag/ike"
)

// firstRequest follows the first message of one IKE SA (IKE_SA_INIT, or Main/Aggressive Mode's
// first; the responder SPI still zero) at a capture point near the responder, where the request
// arrives and is answered but the answer may be lost on its way back.
type firstRequest struct {
	initiator   string
	version     int
	frame       int // the first copy
	answerFrame int // the responder's first answer
	resent      int // copies that arrived after an answer had gone out
	progressed  bool
}

// maxFirstRequests bounds the IKE SAs tracked per capture.
const maxFirstRequests = 64

// addFirstRequest follows an IKE message of p (either version) through its SA's first exchange.
func (cf *captureFacts) addFirstRequest(p wirePacket, frame int) {
	b := p.ike
	if len(b) < ike.HeaderLen {
		return
	}
	ispi, rspi := binary.BigEndian.Uint64(b[0:]), binary.BigEndian.Uint64(b[8:])
	fr := cf.firstRequests[ispi]
	if fr == nil {
		if rspi != 0 || len(cf.firstRequests) >= maxFirstRequests {
			return
		}
		fr = &firstRequest{initiator: p.src, version: int(b[17] >> 4), frame: frame}
		cf.firstRequests[ispi] = fr
		cf.firstRequestOrder = append(cf.firstRequestOrder, ispi)
		return
	}
	switch {
	case p.src != fr.initiator && fr.answerFrame == 0 && acceptsProposal(b, fr.version):
		fr.answerFrame = frame
	case p.src == fr.initiator && rspi == 0 && fr.answerFrame != 0:
		fr.resent++
	case p.src == fr.initiator && rspi != 0:
		fr.progressed = true
	}
}

// acceptsProposal reports an answer that opens with the responder's chosen SA, as IKE_SA_INIT's
// and MM2 do. Refusals (NO_PROPOSAL_CHOSEN, INVALID_KE_PAYLOAD, COOKIE) open with a notify and
// rightly make the initiator try again: they are no lost answers.
func acceptsProposal(b []byte, version int) bool {
	first := ike.PayloadType(b[16])
	if version == 1 {
		return (b[18] == exchangeMainMode || b[18] == exchangeAggressive) && first == ike.PayloadSAv1
	}
	return first == ike.PayloadSA
}

// observeAnswersLost: the first request arrived again and again although each copy was
// answered, and the initiator never went on to the next message. An initiator that had received
// the answer would go on (or, refused, stop resending); resending means the answers never reach
// it: the path back drops them, the peer is unreachable from this side. Two resends after an
// answer are required, since one may cross a slow answer on the way.
func observeAnswersLost(cf *captureFacts) []observation {
	var obs []observation
	for _, ispi := range cf.firstRequestOrder {
		fr := cf.firstRequests[ispi]
		if fr.answerFrame == 0 || fr.resent < 2 || fr.progressed {
			continue
		}
		obs = append(obs, observation{event: evAnswersLost, name: cf.path, version: fr.version,
			ev: diag.Evidence{Source: diag.SourcePcap, Ref: diag.FrameRef(cf.path, int64(fr.answerFrame)).String(),
				Text: fmt.Sprintf("the first IKE request from %s was answered, yet arrived %d more times and the negotiation never went on: the answers do not reach %s", fr.initiator, fr.resent, fr.initiator)}})
	}
	return obs
}

// observeStalled: an IKE SA whose every request was answered, with no error, stopped after the
// responder's answer to its first phase (IKE_SA_INIT, or Main Mode before the encrypted MM5):
// the initiator's next message never arrived here. At the responder that is what UDP 4500
// blocked after the float looks like, but an initiator that gave up, or a capture that ended,
// look the same: a hint only.
func observeStalled(path string, s *ike.Summary) []observation {
	if slices.ContainsFunc(s.Notifies, func(n ike.NotifySeen) bool { return n.Error }) {
		return nil // a refusal in the clear: the notify rules say more
	}
	var obs []observation
	for _, sa := range s.IKESAs {
		if sa.Established {
			continue
		}
		var last ike.Exchange
		for _, x := range s.Exchanges {
			if x.ISPI != sa.ISPI {
				continue
			}
			if !x.Answered {
				last = ike.Exchange{}
				break
			}
			last = x
		}
		if last.Exchange != "IKE_SA_INIT" && last.Exchange != "MAIN_MODE" {
			continue
		}
		obs = append(obs, observation{event: evStalled, name: path, version: last.Version,
			ev: diag.Evidence{Source: diag.SourcePcap, Ref: diag.FrameRef(path, int64(last.ResponseFrame)).String(),
				Text: fmt.Sprintf("%s answered %s and the negotiation stopped there: the next message from %s never arrived (UDP 4500 blocked after the float, or it gave up)", last.Responder, last.Exchange, last.Initiator)}})
	}
	return obs
}
