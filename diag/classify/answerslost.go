package classify

import (
	"encoding/binary"
	"fmt"

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
	if len(b) < ikeHeaderLen {
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
			ev: diag.Evidence{Source: diag.SourcePcap, Ref: fmt.Sprintf("%s#%d", cf.path, fr.answerFrame),
				Text: fmt.Sprintf("the first IKE request from %s was answered, yet arrived %d more times and the negotiation never went on: the answers do not reach %s", fr.initiator, fr.resent, fr.initiator)}})
	}
	return obs
}
