package engine

import (
	"context"
	"time"

	"ipsecbot/diag"
)

// Step is one step of the procedure: a name, a title, a timeout and a Run that returns what
// it found. Steps of the same phase run at the same time.
type Step interface {
	Name() string
	Title() string
	Phase() phase
	// Snapshot reports whether the step reads state at the capture window's start and end;
	// the capture is stopped only after every such step has taken its end reading.
	Snapshot() bool
	Timeout(r *run) time.Duration
	Run(ctx context.Context, r *run) Outcome
}

// Outcome is what a step returns. Err makes the step failed; Skip makes it skipped (with the
// reason); a step may return evidence and artifacts with either.
type Outcome struct {
	Summary   string
	Evidence  []diag.Evidence
	Artifacts []diag.Artifact
	Err       error
	Skip      string
}

// phase orders the steps: prerequisites and settings before the capture, the capture window
// with what is read during it, then the review.
type phase int

const (
	phaseBefore phase = iota
	phaseWindow
	phaseAfter
	phaseDataPath // step 8, on request: after the verdict of steps 1-7 is in
)

// phases lists the phases in the order they run.
var phases = []phase{phaseBefore, phaseWindow, phaseAfter, phaseDataPath}

// procedure is the plan, in the order of docs/procedure.md (events and the report use this order;
// phases decide what runs together). Step 8, the data path, is appended when the request asks
// for it.
func procedure(req diag.Request) []Step {
	steps := []Step{
		firewallStep{},
		syslogStep{},
		routeStep{},
		mtuStep{},
		logsStep{},
		interopStep{},
		captureStep{},
		showStep{},
		peerStateStep{},
		reviewStep{},
		apiStep{},
	}
	if req.DataPath {
		steps = append(steps, dataPathStep{})
	}
	return steps
}

// shortTimeout bounds steps of a few commands or API calls.
func shortTimeout(r *run) time.Duration {
	t := 2 * r.edge.SSH.CmdTimeout()
	return max(t, 30*time.Second)
}

// windowTimeout bounds steps that live through the capture window.
func windowTimeout(r *run) time.Duration { return r.window + 3*shortTimeout(r) }
