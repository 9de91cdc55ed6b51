package ike

import "time"

// This file is the contract between the capture analyzer and its readers (the classifier,
// `bot pcap`, the engine): the JSON shapes of docs/design.md. Fields may be added; none renamed.

// MessageInfo is one IKE message as `bot pcap decode --json` prints it.
type MessageInfo struct {
	Frame int `json:"frame"` // 1-based, as tshark counts
	// InICMP marks a message quoted in an ICMP error (tshark's isakmp filter matches it too);
	// Reassembled one rebuilt from IKEv1 fragments: it is shown in the element of the frame of its
	// last fragment, which keeps that fragment's fragment/fragment_number/fragment_total.
	InICMP      bool `json:"in_icmp,omitempty"`
	Reassembled bool `json:"reassembled,omitempty"`
	// Error says why the message did not decode; the header fields that could be read are filled.
	Error        string       `json:"error,omitempty"`
	Time         time.Time    `json:"time"`
	Src          string       `json:"src"` // ip:port
	Dst          string       `json:"dst"`
	Version      int          `json:"version"` // 1 or 2
	Exchange     string       `json:"exchange"`
	ExchangeType int          `json:"exchange_type"`
	MessageID    uint32       `json:"message_id"`
	ISPI         string       `json:"ispi"` // 16 hex digits
	RSPI         string       `json:"rspi"`
	Initiator    bool         `json:"initiator"`
	Response     bool         `json:"response"`
	Encrypted    bool         `json:"encrypted,omitempty"`
	Payloads     []string     `json:"payloads"`
	Notify       []NotifyInfo `json:"notify"`
	NonESPMarker bool         `json:"non_esp_marker"`
	Length       int          `json:"length,omitempty"`
	// Proposals, when the message carries a readable SA payload, in words ("aes256/sha256/modp2048").
	Proposals []string `json:"proposals,omitempty"`
	KEGroup   string   `json:"ke_group,omitempty"`
	Fragment  bool     `json:"fragment,omitempty"` // IKEv2 SKF or IKEv1 fragment
	// FragmentNumber and FragmentTotal of an IKEv2 SKF (total 0 for IKEv1, which marks only the last).
	FragmentNumber int `json:"fragment_number,omitempty"`
	FragmentTotal  int `json:"fragment_total,omitempty"`
	// Flags is the header's flags byte as sent (IKEv2 I 0x08, V 0x10, R 0x20; IKEv1 E 0x01, C 0x02, A 0x04).
	Flags int `json:"flags"`
	// What the readable payloads say: vendor IDs by name (hex when unknown), identities
	// ("IDi fqdn peerb.example.net"), deleted SAs ("ESP c1a2b3c4"), traffic selectors
	// ("TSr 10.2.2.0-10.2.2.255"), the IKEv2 AUTH method, certificate encodings.
	VendorIDs        []string `json:"vendor_ids,omitempty"`
	IDs              []string `json:"ids,omitempty"`
	Deletes          []string `json:"deletes,omitempty"`
	TrafficSelectors []string `json:"traffic_selectors,omitempty"`
	AuthMethod       string   `json:"auth_method,omitempty"`
	Certificates     []string `json:"certificates,omitempty"`
}

// NotifyInfo is a notify payload's type, by number and name.
type NotifyInfo struct {
	Type int    `json:"type"`
	Name string `json:"name"`
}

// Summary is what `bot pcap summary --json` prints and what the classifier reads.
type Summary struct {
	File        string       `json:"file"`
	Packets     int64        `json:"packets"`
	IKEMessages int64        `json:"ike_messages"` // as tshark's isakmp filter counts
	ESPPackets  int64        `json:"esp_packets"`  // plain or in UDP 4500, as tshark's esp filter counts
	First       time.Time    `json:"first,omitzero"`
	Last        time.Time    `json:"last,omitzero"`
	Truncated   bool         `json:"truncated,omitempty"` // the file ended mid-record
	Error       string       `json:"error,omitempty"`
	IKEVersion  int          `json:"ike_version,omitempty"`
	Exchanges   []Exchange   `json:"exchanges"`
	ESPFlows    []ESPFlow    `json:"esp_flows"`
	Notifies    []NotifySeen `json:"notifies"`
	IKESAs      []IKESA      `json:"ike_sas"`
	NATT        NATT         `json:"nat_t"`
	Fragments   Fragments    `json:"fragments"`
	Pings       []PingFlow   `json:"pings"`
	ICMPErrors  []ICMPError  `json:"icmp_errors"`
	// MalformedIKE counts IKE messages that did not decode (cut short, bad lengths); FirstMalformed is the first's frame and error.
	MalformedIKE   int64  `json:"malformed_ike,omitempty"`
	FirstMalformed string `json:"first_malformed,omitempty"`
	// ExchangesOmitted and NotifiesOmitted count entries left out to keep memory flat on huge captures.
	ExchangesOmitted int64 `json:"exchanges_omitted,omitempty"`
	NotifiesOmitted  int64 `json:"notifies_omitted,omitempty"`
}

// ICMPError is ICMP errors (port unreachable, fragmentation needed, ...) from one host to another
// about one kind of quoted packet ("udp/4500", "udp/500", "esp").
type ICMPError struct {
	From       string `json:"from"`
	To         string `json:"to"`
	Type       int    `json:"type"`
	Code       int    `json:"code"`
	Name       string `json:"name"`
	Quoted     string `json:"quoted"`
	Count      int    `json:"count"`
	FirstFrame int    `json:"first_frame"`
}

// Exchange is a request matched with its response (or not) by SPIs, message ID and direction.
type Exchange struct {
	Version         int       `json:"version"`
	Exchange        string    `json:"exchange"`
	ISPI            string    `json:"ispi"`
	RSPI            string    `json:"rspi"`
	MessageID       uint32    `json:"message_id"`
	Initiator       string    `json:"initiator"` // ip:port that sent the request
	Responder       string    `json:"responder"`
	RequestFrame    int       `json:"request_frame"`
	ResponseFrame   int       `json:"response_frame,omitempty"` // 0: never answered
	Retransmissions int       `json:"retransmissions"`
	Answered        bool      `json:"answered"`
	Time            time.Time `json:"time"`
	Notify          []string  `json:"notify,omitempty"`          // notify names in the response (or request)
	RequestLength   int       `json:"request_length,omitempty"`  // IKE message bytes
	ResponseLength  int       `json:"response_length,omitempty"` // a rejected request's answer is often just a notify: short
	// OneWay marks a message that expects no answer of its own: the third Quick Mode or Aggressive
	// Mode message, an IKEv1 informational that nobody acknowledged.
	OneWay bool `json:"one_way,omitempty"`
}

// ESPFlow is ESP traffic of one SPI in one direction.
type ESPFlow struct {
	SPI        string    `json:"spi"` // 8 hex digits
	Src        string    `json:"src"`
	Dst        string    `json:"dst"`
	UDPEncap   bool      `json:"udp_encap"`
	Packets    int64     `json:"packets"`
	Bytes      int64     `json:"bytes"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
	FirstSeq   uint32    `json:"first_seq"`
	LastSeq    uint32    `json:"last_seq"`
	Lost       int64     `json:"lost"`    // sequence gaps
	OneWay     bool      `json:"one_way"` // no ESP at all in the opposite direction between these hosts
	FirstFrame int       `json:"first_frame"`
}

// NotifySeen is one notify in the capture, with the frame that carried it.
type NotifySeen struct {
	Frame    int    `json:"frame"`
	Type     int    `json:"type"`
	Name     string `json:"name"`
	Error    bool   `json:"error"` // an error type (< 16384)
	Exchange string `json:"exchange"`
	Src      string `json:"src"`
	Response bool   `json:"response"`
}

// IKESA is the life of one IKE SA as seen on the wire.
type IKESA struct {
	Version      int    `json:"version"`
	ISPI         string `json:"ispi"`
	RSPI         string `json:"rspi"`
	Initiator    string `json:"initiator"`
	Responder    string `json:"responder"`
	Established  bool   `json:"established"`   // the auth exchange was answered without an error notify
	Rekeys       int    `json:"rekeys"`        // CREATE_CHILD_SA / Quick Mode after establishment
	FailedRekeys int    `json:"failed_rekeys"` // unanswered, or answered with a readable error notify
	// ShortRekeyResponses counts encrypted CREATE_CHILD_SA responses under half their request's
	// size: a rekey carrying SA, nonce and KE is answered in kind; a bare notify (NO_PROPOSAL_CHOSEN) is short.
	ShortRekeyResponses int  `json:"short_rekey_responses"`
	Deleted             bool `json:"deleted"`
	// DPDRequests counts INFORMATIONAL requests after establishment: liveness checks, and deletes,
	// which look the same once encrypted.
	DPDRequests   int       `json:"dpd_requests"`
	DPDUnanswered int       `json:"dpd_unanswered"`
	First         time.Time `json:"first"`
	Last          time.Time `json:"last"`
	FirstFrame    int       `json:"first_frame"`
	LastFrame     int       `json:"last_frame"`
}

// NATT says whether NAT was detected and IKE floated to UDP 4500.
type NATT struct {
	NATDetectionPayloads bool `json:"nat_detection_payloads"`
	FloatedTo4500        bool `json:"floated_to_4500"`
	FloatFrame           int  `json:"float_frame,omitempty"`
	Keepalives           int  `json:"keepalives"`
}

// Fragments counts IP fragments, ICMP "fragmentation needed" and IKE fragmentation.
type Fragments struct {
	IPFragments         int64 `json:"ip_fragments"`
	ICMPFragNeeded      int64 `json:"icmp_frag_needed"`
	ICMPFragNeededFrame int   `json:"icmp_frag_needed_frame,omitempty"`
	IKEFragments        int64 `json:"ike_fragments"`
	IKEFragSupported    bool  `json:"ike_fragmentation_supported"`
}

// PingFlow is ICMP echo between two hosts: requests, replies and the sizes seen.
type PingFlow struct {
	Src                  string `json:"src"`
	Dst                  string `json:"dst"`
	Requests             int    `json:"requests"`
	Replies              int    `json:"replies"`
	MaxSize              int    `json:"max_size"`      // largest echo request (IP total length)
	MaxAnswered          int    `json:"max_answered"`  // largest request that got a reply
	DFUnanswered         int    `json:"df_unanswered"` // requests with DF set that got no reply
	FirstUnansweredFrame int    `json:"first_unanswered_frame,omitempty"`
}
