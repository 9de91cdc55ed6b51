package nsx

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
)

// The tunnel failure messages of the procedure's step 7 table (docs/procedure.md), verbatim. NSX
// shows them in the statistics' failure message fields; the lab's statistics carry only these.
const (
	MsgIKEv1PeerUnreachable  = "Version-IKEv1 Retransmitting IKE Message as no response from Peer."
	MsgIKEv1NoProposalChosen = "Version-IKEv1 No Proposal Chosen.Check configured Encryption/Authentication/DH/IKE-Version."
	MsgIKEv1AuthFailed       = "Version-IKEv1 Authentication Failed.Check the configured secret or local/peer ID configuration."
	MsgIKEv2PeerUnreachable  = "Version-IKEv2 Retransmitting IKE Message as no response from Peer."
	MsgIKEv2NoProposalChosen = "Version-IKEv2 No Proposal Chosen.Check configured Encrypt/Authentication/DH/IKEversion."
	MsgIKEv2AuthFailed       = "Version-IKEv2 Authentication Failed.Check the configured secret or local/peer ID configuration."
	// MsgIPsecSAMismatch is the phase 2 / IPsec SA proposal row of both IKE versions.
	MsgIPsecSAMismatch = "IPSec-SA Proposals or Traffic Selectors did not match."
	// MsgTrafficSelectorMismatch is IKEv2's traffic selector row.
	MsgTrafficSelectorMismatch = "Traffic selectors did not match.Check left/right subnet configuration."
)

// DocumentedMessages lists the distinct strings above (the table's nine rows share one).
var DocumentedMessages = []string{
	MsgIKEv1PeerUnreachable, MsgIKEv1NoProposalChosen, MsgIKEv1AuthFailed,
	MsgIKEv2PeerUnreachable, MsgIKEv2NoProposalChosen, MsgIKEv2AuthFailed,
	MsgIPsecSAMismatch, MsgTrafficSelectorMismatch,
}

// documented returns the documented message text contains, or "".
func documented(text string) string {
	for _, m := range DocumentedMessages {
		if strings.Contains(text, m) {
			return m
		}
	}
	return ""
}

// Message levels: where in a site a message was found.
const (
	LevelSite    = "site"    // siteStatistics itself
	LevelChannel = "channel" // its ikeStatus
	LevelTunnel  = "tunnel"  // one of its tunnelStats
)

// Message kinds.
const (
	KindFailure       = "failure"       // a failureMessage element
	KindInformational = "informational" // a lastInformationalMessage element
	// KindState is a channelState or tunnelState holding one of the documented messages (the
	// UI of 6.4.6+ shows a down tunnel's failure in its state column; the API may do the same).
	KindState = "state"
)

// Message is one non-empty failure or informational message of a statistics document.
type Message struct {
	// Path is the element path in the document, 1-based indexes on repeated elements:
	// "siteStatistics[1]/tunnelStats[1]/failureMessage" (docs/design.md's API evidence ref after "PATH:").
	Path   string `json:"path"`
	Text   string `json:"text"`
	SiteID string `json:"site_id,omitempty"`
	Level  string `json:"level"` // LevelSite, LevelChannel or LevelTunnel
	Kind   string `json:"kind"`  // KindFailure, KindInformational or KindState
}

// Messages lists every non-empty failure and informational message, site by site in document
// order, then those ParseStatistics found in places the types do not name (NestedMessages).
func (s *Statistics) Messages() []Message {
	var out []Message
	add := func(path, element, text, siteID, level, kind string) {
		if text = strings.TrimSpace(text); text != "" {
			out = append(out, Message{Path: path + "/" + element, Text: text, SiteID: siteID, Level: level, Kind: kind})
		}
	}
	for i, site := range s.Sites {
		sp := "siteStatistics[" + strconv.Itoa(i+1) + "]"
		add(sp, "failureMessage", site.FailureMessage, site.SiteID, LevelSite, KindFailure)
		add(sp, "lastInformationalMessage", site.LastInformationalMessage, site.SiteID, LevelSite, KindInformational)
		if ike := site.IKEStatus; ike != nil {
			add(sp+"/ikeStatus", "channelState", documented(ike.ChannelState), site.SiteID, LevelChannel, KindState)
			add(sp+"/ikeStatus", "failureMessage", ike.FailureMessage, site.SiteID, LevelChannel, KindFailure)
			add(sp+"/ikeStatus", "lastInformationalMessage", ike.LastInformationalMessage, site.SiteID, LevelChannel, KindInformational)
		}
		for j, t := range site.Tunnels {
			tp := sp + "/tunnelStats[" + strconv.Itoa(j+1) + "]"
			add(tp, "tunnelState", documented(t.TunnelState), site.SiteID, LevelTunnel, KindState)
			add(tp, "failureMessage", t.FailureMessage, site.SiteID, LevelTunnel, KindFailure)
			add(tp, "lastInformationalMessage", t.LastInformationalMessage, site.SiteID, LevelTunnel, KindInformational)
		}
	}
	return append(out, s.NestedMessages()...)
}

// messageKinds are the element names that carry messages, wherever they sit.
var messageKinds = map[string]string{"failureMessage": KindFailure, "lastInformationalMessage": KindInformational}

// repeated are the elements that take an index in a path even when alone.
var repeated = map[string]bool{"siteStatistics": true, "tunnelStats": true, "virtualTunnelInterfaceStats": true}

// nestedMessages walks doc for message elements outside the places the types decode (say, a
// build that nests failureMessage one level deeper), so none is lost.
func nestedMessages(doc []byte, s *Statistics) []Message {
	d := xml.NewDecoder(bytes.NewReader(doc))
	stack := []walkFrame{{}} // above the root element
	var out []Message
	site := 0 // 1-based index of the enclosing siteStatistics, 0 outside one
	for {
		tok, err := d.RawToken() // the typed decode has checked the document already
		if err != nil {
			return out
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			top := &stack[len(stack)-1]
			if top.counts == nil {
				top.counts = map[string]int{}
			}
			top.counts[name]++
			seg := name
			if n := top.counts[name]; repeated[name] || n > 1 {
				seg += "[" + strconv.Itoa(n) + "]"
			}
			if len(stack) == 1 {
				seg = "" // the root element is not part of a path
			}
			if len(stack) == 2 && name == "siteStatistics" {
				site = top.counts[name]
			}
			stack = append(stack, walkFrame{seg: seg})
			kind, ok := messageKinds[name]
			if !ok {
				continue
			}
			path := joinSegs(stack)
			if typedMessagePath(path) {
				continue
			}
			text, err := elementText(d)
			if err != nil {
				return out
			}
			stack = stack[:len(stack)-1] // elementText consumed the end element
			if text = strings.TrimSpace(text); text != "" {
				out = append(out, Message{Path: path, Text: text, SiteID: siteIDAt(s, site), Level: levelOf(path), Kind: kind})
			}
		case xml.EndElement:
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			if len(stack) == 2 {
				site = 0
			}
		}
	}
}

// elementText reads the character data of the element just opened, through its end element.
func elementText(d *xml.Decoder) (string, error) {
	var b strings.Builder
	for depth := 0; ; {
		tok, err := d.RawToken()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			depth++
		case xml.EndElement:
			if depth == 0 {
				return b.String(), nil
			}
			depth--
		}
	}
}

// walkFrame is one open element of nestedMessages' walk.
type walkFrame struct {
	seg    string         // "tunnelStats[2]"; the root's is ""
	counts map[string]int // children seen so far, by name; nil until the first
}

// joinSegs is the path of the innermost element of stack.
func joinSegs(stack []walkFrame) string {
	var b strings.Builder
	for _, f := range stack {
		if f.seg == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		b.WriteString(f.seg)
	}
	return b.String()
}

// typedMessagePath reports whether Messages already reads the element at path from the types.
func typedMessagePath(path string) bool {
	parts := strings.Split(path, "/")
	if len(parts) < 2 || !strings.HasPrefix(parts[0], "siteStatistics[") || strings.Contains(parts[len(parts)-1], "[") {
		return false
	}
	switch {
	case len(parts) == 2:
		return true
	case len(parts) == 3:
		return parts[1] == "ikeStatus" || strings.HasPrefix(parts[1], "tunnelStats[")
	}
	return false
}

func levelOf(path string) string {
	switch {
	case strings.Contains(path, "tunnelStats"):
		return LevelTunnel
	case strings.Contains(path, "ikeStatus"):
		return LevelChannel
	}
	return LevelSite
}

func siteIDAt(s *Statistics, site int) string {
	if site < 1 || site > len(s.Sites) {
		return ""
	}
	return s.Sites[site-1].SiteID
}
