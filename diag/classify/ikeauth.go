package classify

import (
	"fmt"
	"time"

	"ipsecbot/diag"
	ls "ipsecbot/diag/classify/logscan"
	"ipsecbot/diag/ike"
)

// tornDownWithin is how soon after IKE_AUTH an INFORMATIONAL must come to count as tearing the
// new IKE SA down at once; liveness checks come far later (NSX's DPD interval is 30 s or more).
const tornDownWithin = 10 * time.Second

// observeIKEAuth reads an IKEv2 IKE_AUTH that failed inside the encryption. The capture cannot
// read why, only how far it got, so each shape only hints at its causes and the logs decide:
//
//   - IKE_AUTH answered, the IKE SA never established (the answer is a bare error notify, no
//     AUTH): the responder refused the initiator's authentication: a PSK, ID or certificate.
//   - IKE_AUTH answered in full, then an INFORMATIONAL at once, no CREATE_CHILD_SA and no ESP:
//     either the initiator refused the responder's authentication (ID, certificate) or the
//     responder refused the CHILD_SA (proposal, traffic selectors) and it was deleted.
func observeIKEAuth(path string, s *ike.Summary) []observation {
	var obs []observation
	add := func(event ls.Event, frame int, text string) {
		obs = append(obs, observation{event: event, name: path, version: 2,
			ev: diag.Evidence{Source: diag.SourcePcap, Ref: diag.FrameRef(path, int64(frame)).String(), Text: text}})
	}
	for _, sa := range s.IKESAs {
		if sa.Version != 2 {
			continue
		}
		auth, ok := exchangeOf(s, sa.ISPI, "IKE_AUTH")
		if !ok || !auth.Answered {
			continue
		}
		if !sa.Established {
			add(evIKEAuthRefused, auth.ResponseFrame, fmt.Sprintf(
				"IKE_AUTH from %s answered with %d bytes and the IKE SA never established: the peer refused the authentication (PSK, ID or certificate)",
				auth.Initiator, auth.ResponseLength))
			continue
		}
		info, ok := exchangeOf(s, sa.ISPI, "INFORMATIONAL")
		_, child := exchangeOf(s, sa.ISPI, "CREATE_CHILD_SA")
		if ok && !child && s.ESPPackets == 0 && info.Time.Sub(auth.Time) < tornDownWithin {
			add(evIKEAuthTornDown, info.RequestFrame, fmt.Sprintf(
				"IKE_AUTH answered with %d bytes, then an INFORMATIONAL from %s %.1f s later, no CHILD_SA and no ESP: an authentication or CHILD_SA refusal",
				auth.ResponseLength, info.Initiator, info.Time.Sub(auth.Time).Seconds()))
		}
	}
	return obs
}

// exchangeOf returns the first exchange of the IKE SA ispi with the given name.
func exchangeOf(s *ike.Summary, ispi, name string) (ike.Exchange, bool) {
	for _, x := range s.Exchanges {
		if x.ISPI == ispi && x.Exchange == name {
			return x, true
		}
	}
	return ike.Exchange{}, false
}
