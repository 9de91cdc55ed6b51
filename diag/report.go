// Package diag holds the diagnosis domain: the cause labels, evidence, step results, the
// report every part produces or consumes, and a run's request and progress events.
// Subpackages talk to one technology each (edge, nsx, peer, ike), hold the rules (classify) or
// run the procedure (engine, which lives apart from these types because every subpackage
// imports them); none of them imports Slack.
package diag

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Cause is one label of the classifier's vocabulary (docs/design.md, "Cause labels").
type Cause string

// The whole vocabulary. A report names exactly one of these.
const (
	CausePeerUnreachable         Cause = "peer_unreachable"
	CauseIKEProposalMismatch     Cause = "ike_proposal_mismatch"
	CauseAuthFailed              Cause = "auth_failed"
	CauseIPsecProposalMismatch   Cause = "ipsec_proposal_mismatch"
	CauseTrafficSelectorMismatch Cause = "traffic_selector_mismatch"
	CauseInvalidID               Cause = "invalid_id"
	CauseNoTrustedCA             Cause = "no_trusted_ca"
	CauseDPDPeerDead             Cause = "dpd_peer_dead"
	CauseMTUFragmentation        Cause = "mtu_fragmentation"
	CauseESPBlocked              Cause = "esp_blocked"
	CausePFSMismatch             Cause = "pfs_mismatch"
	CauseHealthy                 Cause = "healthy"
	CauseUnknown                 Cause = "unknown"
)

// Causes lists every label in the order docs/design.md gives them.
var Causes = []Cause{
	CausePeerUnreachable, CauseIKEProposalMismatch, CauseAuthFailed, CauseIPsecProposalMismatch,
	CauseTrafficSelectorMismatch, CauseInvalidID, CauseNoTrustedCA, CauseDPDPeerDead,
	CauseMTUFragmentation, CauseESPBlocked, CausePFSMismatch, CauseHealthy, CauseUnknown,
}

// Valid reports whether c is one of the labels.
func (c Cause) Valid() bool {
	for _, k := range Causes {
		if c == k {
			return true
		}
	}
	return false
}

// Evidence sources, as they appear in the "source" field of an evidence item.
const (
	SourceLog    = "log"    // a log line: Ref is PATH:LINE
	SourcePcap   = "pcap"   // a captured frame: Ref is PATH#FRAME
	SourceAPI    = "api"    // an NSX API field: Ref is PATH:element path
	SourceShow   = "show"   // an Edge show command output: Ref is PATH:LINE
	SourcePrereq = "prereq" // a prerequisite check (MTU ping, firewall rule, route)
	SourceConfig = "config" // a configuration comparison of both sides
)

// Evidence is one fact that supports a finding, pointing at where it can be read again.
type Evidence struct {
	Source string    `json:"source"`
	Ref    string    `json:"ref"`
	Text   string    `json:"text"`
	Time   time.Time `json:"time,omitzero"`
	Site   string    `json:"site,omitempty"` // "edge" or "peer" when it matters which side said it
}

// RuledOut is a cause the evidence excludes, with the reason and the observation that shows it.
type RuledOut struct {
	Cause Cause  `json:"cause"`
	Why   string `json:"why"`
	Ref   string `json:"ref,omitempty"`
}

// Finding is a cause that other evidence supported but that lost to the verdict ("also seen").
type Finding struct {
	Cause      Cause      `json:"cause"`
	Confidence float64    `json:"confidence"`
	Evidence   []Evidence `json:"evidence"`
}

// Scanned counts what the classifier read.
type Scanned struct {
	LogLines     int64 `json:"log_lines"`
	MatchedLines int64 `json:"matched_lines"`
	Packets      int64 `json:"packets"`
	IKEMessages  int64 `json:"ike_messages"`
	// LogFormats are the log dialects recognised (charon, pluto, ...): each log was matched
	// against its dialects' patterns.
	LogFormats []string `json:"log_formats,omitempty"`
}

// Verdict is the classifier's answer: the `bot analyze --json` document.
type Verdict struct {
	Cause       Cause      `json:"cause"`
	IKEVersion  int        `json:"ike_version"`
	Confidence  float64    `json:"confidence"`
	Summary     string     `json:"summary"`
	Evidence    []Evidence `json:"evidence"`
	AlsoSeen    []Finding  `json:"also_seen"`
	RuledOut    []RuledOut `json:"ruled_out,omitempty"` // causes the evidence excludes, and why
	Remediation []string   `json:"remediation"`
	Missing     []string   `json:"missing,omitempty"` // what could not be collected or read
	Scanned     Scanned    `json:"scanned"`
}

// Step statuses.
const (
	StepOK      = "ok"
	StepFailed  = "failed"
	StepSkipped = "skipped"
)

// StepResult is what one step of the procedure produced.
type StepResult struct {
	Name      string        `json:"name"`
	Title     string        `json:"title"`
	Status    string        `json:"status"`
	Summary   string        `json:"summary"`
	Error     string        `json:"error,omitempty"`
	Duration  time.Duration `json:"-"`
	DurationS float64       `json:"duration_s"`
	Evidence  []Evidence    `json:"evidence,omitempty"`
	Artifacts []Artifact    `json:"artifacts,omitempty"`
}

// Artifact is a file a step wrote into the incident's directory.
type Artifact struct {
	Name   string `json:"name"` // relative to the report's directory
	Kind   string `json:"kind"` // pcap, log, show, api, report
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Report is a whole diagnosis: the verdict (embedded, so report.json carries the
// `analyze --json` shape at its top level) plus the steps and the artifacts.
type Report struct {
	Verdict
	Edge      string       `json:"edge"`
	Peer      string       `json:"peer,omitempty"`
	Incident  string       `json:"incident,omitempty"`
	Started   time.Time    `json:"started"`
	Finished  time.Time    `json:"finished"`
	Steps     []StepResult `json:"steps"`
	Artifacts []Artifact   `json:"artifacts"`
	// Interruption says when and why the run was cut short (cancelled, the bot stopping); nil
	// for a run that finished. The verdict is then classified from what was collected until then.
	Interruption *Interruption `json:"interruption,omitempty"`
	// Interrupted is Interruption for people ("" for a run that finished), as report.json has
	// always carried it. Set both with Interrupt.
	Interrupted string `json:"interrupted,omitempty"`
	// DataPath is step 8's finding (nil when it did not run).
	DataPath *DataPath `json:"data_path,omitempty"`
	// CutByDeadline names the sources the run's overall deadline cut off (a hanging Manager,
	// peer or Edge); the verdict is classified from the rest.
	CutByDeadline []string `json:"cut_by_deadline,omitempty"`
	// Dir is the directory the artifacts (and report.json itself) are in; Artifact names are
	// relative to it.
	Dir string `json:"-"`
}

// Interrupt records that the run was cut short: the typed value and its sentence. nil leaves
// the report as a finished one.
func (r *Report) Interrupt(i *Interruption) {
	r.Interruption, r.Interrupted = i, ""
	if i != nil {
		r.Interrupted = i.String()
	}
}

// Interruption is why a run was cut short by its requester.
type Interruption struct {
	After  time.Duration // from the run's start
	Reason string        // the cause of the cancel ("shutting down", "context canceled")
}

// String is the report's sentence: "interrupted after 12s (shutting down): the verdict is
// from what was collected until then".
func (i Interruption) String() string {
	return fmt.Sprintf("interrupted after %s (%s): the verdict is from what was collected until then",
		i.After.Round(time.Second), i.Reason)
}

// interruptionJSON is Interruption in report.json: seconds, like the steps' durations.
type interruptionJSON struct {
	AfterS float64 `json:"after_s"`
	Reason string  `json:"reason"`
}

func (i Interruption) MarshalJSON() ([]byte, error) {
	return json.Marshal(interruptionJSON{AfterS: i.After.Seconds(), Reason: i.Reason})
}

func (i *Interruption) UnmarshalJSON(b []byte) error {
	var j interruptionJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*i = Interruption{After: time.Duration(math.Round(j.AfterS * float64(time.Second))), Reason: j.Reason}
	return nil
}

// DataPath is step 8's finding: where a ping between a VM behind the Edge and a host behind
// the peer stopped among the four capture points, with the frames that show it.
type DataPath struct {
	Verdict   Cause  `json:"verdict"`
	Direction string `json:"direction,omitempty"`  // forward (VM to host) or return
	Leg       string `json:"leg,omitempty"`        // request or reply
	Stop      int    `json:"stop_point,omitempty"` // the point (1-4) the echoes did not reach; 0: healthy
	Summary   string `json:"summary"`
	// Table is the four-point table as text (the report and Slack show it as is).
	Table    string     `json:"table"`
	Evidence []Evidence `json:"evidence"`
	// Captures are the four points' pcaps (point-N.pcap), Ladder the ladder diagram's PNG.
	Captures []string `json:"captures"`
	Ladder   string   `json:"ladder,omitempty"`
	// Result is the full per-ping correlation, as diag/datapath writes it.
	Result json.RawMessage `json:"result,omitempty"`
}
