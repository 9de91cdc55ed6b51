package classify

import (
	"encoding/binary"
	"fmt"
	"time"

	"ipsecbot/diag"
	ls "ipsecbot/diag/classify/logscan"
	"ipsecbot/diag/ike"
)

// IKEv1 Main Mode sends its identities and proofs (MM5, MM6) encrypted, so a capture cannot read
// why they were refused. It can see who refused them, and with which authentication method the
// two sides agreed in the clear (MM2's chosen proposal); that is enough to rule out a dead peer
// and, with a pre-shared key, to name the cause. mainMode tracks one negotiation for that.
type mainMode struct {
	initiator    string // address that sent MM1 (the port floats to 4500 later)
	psk          bool   // the responder chose pre-shared-key authentication
	cert         bool   // ... any other method (signatures, hybrid): certificates may be at fault
	idFrame      int    // the initiator's identity message (MM5): first frame
	idSends      int    // ... and how often it was sent
	idLast       time.Time
	idAnswer     int // the responder's identity message (MM6): frame
	idAnswerAt   time.Time
	refusedFrame int    // something else the responder sent after MM5, with no MM6: a refusal
	closedFrame  int    // an informational the initiator sent after MM6
	quickMode    bool   // a Quick Mode followed: phase 1 was accepted
	qmFrom       string // who sent the first Quick Mode message (either side may start phase 2)
	qmFrame      int
	qmAnswered   bool // the other side sent Quick Mode too
	qmRefused    int  // ... or only an informational: frame
}

// answerWithin is how soon an informational must follow the message it answers to count as the
// answer: a refusal is sent on receipt, while a half-open SA timing out is deleted tens of seconds
// later (and would then say nothing about the message).
const answerWithin = 2 * time.Second

// maxMainModes bounds the negotiations tracked per capture (a long capture of a flapping
// tunnel has one per cycle; the first ones tell the story).
const maxMainModes = 64

// IKEv1 exchange types (RFC 2408 3.1, RFC 2409 5.5) and the Authentication Method attribute
// (RFC 2409 appendix A).
const (
	exchangeMainMode      = 2
	exchangeAggressive    = 4
	exchangeInformational = 5
	exchangeQuickMode     = 32
	attrAuthMethod        = 3
	authPSK               = 1
)

// addMainMode follows an IKEv1 message of p through its negotiation.
func (cf *captureFacts) addMainMode(p wirePacket, frame int, at time.Time) {
	b := p.ike
	if len(b) < ikeHeaderLen || b[17]>>4 != 1 {
		return
	}
	ispi, rspi := binary.BigEndian.Uint64(b[0:]), binary.BigEndian.Uint64(b[8:])
	exchange, flags, first := b[18], b[19], ike.PayloadType(b[16])
	mm := cf.mainModes[ispi]
	if mm == nil {
		if exchange != exchangeMainMode || rspi != 0 || len(cf.mainModes) >= maxMainModes {
			return
		}
		mm = &mainMode{initiator: p.src}
		cf.mainModes[ispi] = mm
		cf.mainModeOrder = append(cf.mainModeOrder, ispi)
	}
	fromInitiator := p.src == mm.initiator
	// After the key exchange every Main Mode message is encrypted, or an IKE fragment of one.
	identity := flags&ike.FlagEncryption != 0 || first == ike.PayloadFragV1
	switch {
	case exchange == exchangeQuickMode:
		mm.quickMode = true
		if mm.qmFrom == "" {
			mm.qmFrom, mm.qmFrame = p.src, frame
		} else if p.src != mm.qmFrom {
			mm.qmAnswered = true
		}
	case exchange == exchangeInformational && mm.qmFrom != "" && p.src != mm.qmFrom && !mm.qmAnswered:
		if mm.qmRefused == 0 {
			mm.qmRefused = frame
		}
	case exchange == exchangeMainMode && fromInitiator && identity && rspi != 0:
		if mm.idFrame == 0 {
			mm.idFrame = frame
		}
		mm.idSends++
		mm.idLast = at
	case exchange == exchangeMainMode && !fromInitiator && identity:
		if mm.idAnswer == 0 {
			mm.idAnswer, mm.idAnswerAt = frame, at
		}
	case exchange == exchangeMainMode && !fromInitiator && !mm.psk && !mm.cert:
		mm.psk, mm.cert = chosenAuth(b)
	case exchange == exchangeInformational && !fromInitiator && mm.idFrame != 0 && mm.idAnswer == 0 && at.Sub(mm.idLast) <= answerWithin:
		if mm.refusedFrame == 0 {
			mm.refusedFrame = frame
		}
	case exchange == exchangeInformational && fromInitiator && mm.idAnswer != 0 && !mm.quickMode && at.Sub(mm.idAnswerAt) <= answerWithin:
		if mm.closedFrame == 0 {
			mm.closedFrame = frame
		}
	}
}

// chosenAuth reads the authentication method of the proposal a Main Mode response (MM2) chose.
func chosenAuth(b []byte) (psk, cert bool) {
	m, err := ike.Decode(b)
	if err != nil {
		return false, false
	}
	for _, pl := range m.Payloads {
		if pl.Type != ike.PayloadSAv1 {
			continue
		}
		sa, err := ike.ParseSA(1, pl.Body)
		if err != nil {
			return false, false
		}
		for _, pr := range sa.Proposals {
			for _, t := range pr.Transforms {
				for _, a := range t.Attributes {
					if a.Type == attrAuthMethod {
						return a.Uint() == authPSK, a.Uint() != authPSK
					}
				}
			}
		}
	}
	return false, false
}

// espSeen reports any ESP in the capture (within the window).
func (cf *captureFacts) espSeen() bool { return len(cf.dirs) > 0 }

// observeMainModes turns refused identity and Quick Mode messages into observations.
//
// The responder answered MM1-MM4, so it is reachable and both sides agreed on a proposal; it
// then answered the initiator's encrypted identity and proof (MM5) with an informational instead
// of MM6: it could not decrypt it (the keys derive from the PSK: the PSKs differ) or did not
// accept the identity or certificate in it. With a pre-shared key no certificate is involved,
// and an ID mismatch the peer reports counts as an authentication failure (docs/design.md): that is
// auth_failed. With certificates it may be the CA as well: only a hint each.
//
// The initiator got MM6 and ended there with an informational, no Quick Mode: it refused the
// responder's identity or proof. With a pre-shared key MM6 decrypted, so the keys and thus the
// PSKs agree and only the identity is left: the ID seen locally as not matching, invalid_id.
// With certificates it may be the CA: a hint each.
func observeMainModes(cf *captureFacts) []observation {
	var obs []observation
	add := func(event ls.Event, c cond, frame int, text string) {
		obs = append(obs, observation{event: event, cond: c, name: cf.path, version: 1,
			ev: diag.Evidence{Source: diag.SourcePcap, Ref: diag.FrameRef(cf.path, int64(frame)).String(), Text: text}})
	}
	for _, ispi := range cf.mainModeOrder {
		mm := cf.mainModes[ispi]
		if !mm.psk && !mm.cert {
			continue // no agreed proposal seen: not past MM2
		}
		var c cond
		method := "certificate"
		if mm.psk {
			c, method = pskAuth, "pre-shared key"
		}
		switch {
		case mm.refusedFrame != 0 && !mm.quickMode:
			add(evIdentityRefused, c, mm.idFrame, fmt.Sprintf(
				"Main Mode (%s authentication): the encrypted identity message (MM5) from %s sent %d time(s), answered only by an informational (frame %d), never by MM6: the peer refused it",
				method, mm.initiator, mm.idSends, mm.refusedFrame))
		case mm.closedFrame != 0 && !mm.quickMode:
			add(evPeerIdentityRefused, c, mm.idAnswer, fmt.Sprintf(
				"Main Mode (%s authentication): %s received the peer's identity message (MM6) and ended with an informational (frame %d), no Quick Mode: it refused the peer's identity",
				method, mm.initiator, mm.closedFrame))
		case mm.qmRefused != 0 && !cf.espSeen():
			// Phase 1 is up; the proposal, PFS group and proxy IDs of phase 2 travel encrypted.
			add(evQuickModeRefused, 0, mm.qmFrame, fmt.Sprintf(
				"Quick Mode from %s answered only by an informational (frame %d), never by its second message, and no ESP: the peer refused the IPsec SA (proposal, PFS group or proxy IDs)",
				mm.qmFrom, mm.qmRefused))
		}
	}
	return obs
}
