package classify

import (
	"strings"
	"time"

	"ipsecbot/diag"
	ls "ipsecbot/diag/classify/logscan"
)

// observation is one thing a source said, with the conditions it was said under: the unit the
// rules weigh.
type observation struct {
	event   ls.Event
	role    ls.Role // logs: whether this side decided or only heard (score.go weighs deciders first)
	cond    cond
	ev      diag.Evidence
	version int        // 1 or 2 when the wording tells; 0 otherwise
	detail  string     // proposals: "IKE:AES_CBC_256/..."; no_acceptable: the transform name
	cause   diag.Cause // judged facts and configuration mismatches: the cause they point to
	flow    espFlow    // ESP lost or unanswered: the direction
	name    string     // the source's path, to keep lookups within one file
	line    int64
	saKey   string
	weight  float64 // judged facts only: the weight the judging step gave
}

// espFlow is one direction of ESP between two hosts.
type espFlow struct{ from, to string }

func (f espFlow) String() string { return f.from + " to " + f.to }

// logLine is a hit with its parsed header.
type logLine struct {
	hit  ls.Hit
	line ls.Line
}

// observeLog turns one source's hits (in line order) into observations, tracking for each
// IKE SA whether it, and a CHILD_SA under it, had been established before each line.
func observeLog(lines []logLine, source, site string) []observation {
	type saState struct{ ike, child bool }
	states := map[string]*saState{}
	anyUp := false
	obs := make([]observation, 0, len(lines))
	for _, ll := range lines {
		key := saKey(ll.line)
		st := states[key]
		if st == nil {
			st = &saState{}
			states[key] = st
		}
		var c cond
		if st.ike || st.child {
			c |= ikeUp
		}
		if st.child {
			c |= childUp
		}
		if anyUp {
			c |= wasUp
		}
		o := observation{
			event: ll.hit.Event, role: ls.RoleOf(ll.hit.Pattern, ll.hit.Text), cond: c, name: ll.hit.Name, line: ll.hit.Line, saKey: key,
			version: ls.VersionOf(ll.hit.Text),
			ev:      diag.Evidence{Source: source, Ref: ll.hit.Ref(), Text: messageOf(ll), Time: ll.line.Time, Site: site},
		}
		switch ll.hit.Event {
		case ls.EvIKEUp:
			st.ike = true
			anyUp = true
		case ls.EvChildUp:
			st.ike, st.child = true, true
			anyUp = true
		case ls.EvVersion1:
			o.version = 1
		case ls.EvVersion2:
			o.version = 2
		case ls.EvProposals:
			_, o.detail, _ = strings.Cut(ll.hit.Text, "proposals: ")
			o.detail = strings.TrimSpace(o.detail)
		case ls.EvNoAcceptable:
			o.detail = between(ll.hit.Text, "no acceptable ", " found")
			if isKEGroup(o.detail) {
				o.cond |= keGroup
			}
		}
		obs = append(obs, o)
	}
	// Which proposals a "no proposal" line is about: the proposals printed beside it for the
	// same IKE SA (charon prints them right after "no acceptable ... found").
	for i := range obs {
		switch obs[i].event {
		case ls.EvNoAcceptable, ls.EvNoProposalFound, ls.EvNoProposalNotify:
			if p := nearbyProposals(obs, i); p != "" {
				if strings.HasPrefix(p, "IKE:") {
					obs[i].cond |= ikeProp
				} else {
					obs[i].cond |= espProp
				}
			}
		}
	}
	return obs
}

// nearbyProposals returns the detail of a proposals line within 8 lines of obs[i], same SA.
func nearbyProposals(obs []observation, i int) string {
	for d := 1; d <= 8; d++ {
		for _, j := range []int{i + d, i - d} {
			if j < 0 || j >= len(obs) {
				continue
			}
			o := obs[j]
			if o.event == ls.EvProposals && o.saKey == obs[i].saKey && abs64(o.line-obs[i].line) <= 8 {
				return o.detail
			}
		}
	}
	return ""
}

// saKey names the IKE SA a line belongs to: charon's unique number (the same whether the SA
// is still unnamed "<1>" or named "<s2s|1>"), else pluto's connection name.
func saKey(l ls.Line) string {
	if l.Program != "pluto" && l.SA != "" {
		return l.SA
	}
	return l.Conn
}

// isKEGroup reports whether a transform name is the key exchange (DH) group.
func isKEGroup(transform string) bool {
	return strings.Contains(transform, "KEY_EXCHANGE") || strings.Contains(transform, "DIFFIE_HELLMAN")
}

// messageOf is the text evidence shows for a line: the message without the syslog header,
// charon's thread tag and its <conn|N> prefix.
func messageOf(ll logLine) string {
	msg := ll.line.Msg
	if msg == "" {
		msg = ll.hit.Text
	}
	if i := strings.Index(msg, "] "); i > 0 && i <= 6 && msg[0] >= '0' && msg[0] <= '9' {
		msg = msg[i+2:]
	}
	if strings.HasPrefix(msg, "<") {
		if j := strings.Index(msg, "> "); j > 0 {
			msg = msg[j+2:]
		}
	}
	return strings.TrimSpace(msg)
}

func between(s, a, b string) string {
	_, after, ok := strings.Cut(s, a)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, b)
	return v
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// inWindow reports whether t falls in [since, until]; unknown times always do.
func inWindow(t, since, until time.Time) bool {
	if t.IsZero() {
		return true
	}
	if !since.IsZero() && t.Before(since) {
		return false
	}
	if !until.IsZero() && t.After(until) {
		return false
	}
	return true
}
