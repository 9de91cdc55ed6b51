package datapath

import "ipsecbot/diag"

// The step's cause labels. Each names the hop a ping's packets did not cross; the Direction and
// Leg of the result say which way they were going.
const (
	// DroppedBeforeEdge: between the VM's port (1) and the Edge's internal interface (2).
	DroppedBeforeEdge diag.Cause = "dropped_before_edge"
	// EdgeNotEncrypting: inside the Edge, between its internal interface (2) and its uplink (3):
	// clear traffic not encrypted, or (towards the VM) ESP not decrypted.
	EdgeNotEncrypting diag.Cause = "edge_not_encrypting"
	// LostOnWAN: between the Edge's uplink (3) and the far side (4).
	LostOnWAN diag.Cause = "lost_on_wan"
	// PeerNotDecrypting: inside the peer gateway, between its ESP and its clear side.
	PeerNotDecrypting diag.Cause = "peer_not_decrypting"
	// RemoteNotAnswering: the ping reached its destination, which sent no reply.
	RemoteNotAnswering diag.Cause = "remote_not_answering"
)

// Causes lists the step's labels in path order, then healthy.
var Causes = []diag.Cause{DroppedBeforeEdge, EdgeNotEncrypting, LostOnWAN, PeerNotDecrypting, RemoteNotAnswering, diag.CauseHealthy}

// Direction is which way a ping goes.
type Direction string

const (
	Forward Direction = "forward" // VM 1 to host 2
	Return  Direction = "return"  // host 2 to VM 1
)

// Leg is the half of a ping a packet belongs to.
type Leg string

const (
	Request Leg = "request"
	Reply   Leg = "reply"
)

// Result is the step's outcome: one row per ping and the verdict.
type Result struct {
	Pings []PingResult `json:"pings"`
	// Verdict is the forward ping's verdict when it failed, else the return ping's, else healthy.
	Verdict diag.Cause `json:"verdict"`
	// Direction, Leg and Stop repeat the failing ping's (empty when healthy).
	Direction Direction       `json:"direction,omitempty"`
	Leg       Leg             `json:"leg,omitempty"`
	Stop      int             `json:"stop_point,omitempty"`
	Summary   string          `json:"summary"`
	Evidence  []diag.Evidence `json:"evidence"`
	Notes     []string        `json:"notes,omitempty"`
}

// PingResult is one ping followed through the four points.
type PingResult struct {
	Name      string    `json:"name"` // "VM 1 -> host 2"
	Direction Direction `json:"direction"`
	ID        uint16    `json:"icmp_id"`
	// Echoes counts the distinct sequence numbers seen anywhere; Answered those whose reply
	// came back to the sender.
	Echoes   int `json:"echoes"`
	Answered int `json:"answered"`
	// Requests and Replies count the distinct sequence numbers seen at points 1 to 4 (index 0
	// is point 1); -1 when the point was not captured.
	Requests [4]int `json:"requests"`
	Replies  [4]int `json:"replies"`
	// Stop is the point (1-4) the failing echoes did not reach, Leg the half they were in; 0
	// when healthy.
	Stop     int             `json:"stop_point,omitempty"`
	Leg      Leg             `json:"leg,omitempty"`
	Verdict  diag.Cause      `json:"verdict"`
	Why      string          `json:"why"`
	Evidence []diag.Evidence `json:"evidence"`
	// Traces say where each echo was seen, in sequence order (the ladder diagram draws them).
	Traces []Trace `json:"traces,omitempty"`
}

// Trace is where one echo was seen: Seen[0] for its request, Seen[1] for its reply, each by
// point (index 0 is point 1).
type Trace struct {
	Seq  uint16     `json:"seq"`
	Seen [2][4]bool `json:"seen"`
}

// Remediation is what to check for one of the step's causes.
func Remediation(c diag.Cause) []string {
	switch c {
	case DroppedBeforeEdge:
		return []string{"Check the VM's port group, the distributed firewall and the VM's route to the Edge: its packets never reached the Edge's internal interface"}
	case EdgeNotEncrypting:
		return []string{"Check the Edge's IPsec policy (show service ipsec sp) covers the two hosts' subnets and the Edge firewall allows them: clear traffic reached the Edge and no ESP left it (or ESP arrived and nothing came out decrypted)"}
	case LostOnWAN:
		return []string{"Check the path between the Edge's uplink and the peer: ESP (IP 50) or UDP 4500 is dropped by a firewall, NAT or the provider"}
	case PeerNotDecrypting:
		return []string{"Check the peer gateway's SAs and policy for these subnets: ESP reached it and nothing came out decrypted"}
	case RemoteNotAnswering:
		return []string{"Check the destination host: the ping reached it and it sent no reply (its firewall, its route back through the tunnel)"}
	}
	return nil
}
