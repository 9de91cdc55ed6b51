package engine_test

import (
	"slices"
	"strings"
	"testing"

	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/lab"
)

// Every lab scenario, IKEv1 variants included, through the whole pipeline (real SSH to the
// lab's Edge and peer, real HTTPS to its Manager, the capture fetched over SCP) yields its
// label; and again with the API switched off, from the Edge's CLI, the logs, the capture and
// the peer alone, so the lab's statistics cannot carry the answer by themselves.
func TestDiagnose_Scenarios(t *testing.T) {
	for _, api := range []bool{true, false} {
		for _, sc := range lab.AllScenarios() {
			name := sc.Name
			if !api {
				name += "/no-api"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				l := startLab(t, sc.Name, lab.Faults{})
				rep, _ := diagnose(t, l, nil, engine.Options{DisableAPI: !api})
				if rep.Cause != sc.Label {
					t.Errorf("cause = %s, want %s\nsummary: %s\nevidence: %v\nalso seen: %v\nmissing: %v", rep.Cause, sc.Label, rep.Summary, rep.Evidence, rep.AlsoSeen, rep.Missing)
				}
				if sc.Label != diag.CauseUnknown && sc.Label != diag.CauseHealthy && len(rep.Evidence) == 0 {
					t.Error("no evidence")
				}
				for _, ev := range rep.Evidence {
					if !api && ev.Source == diag.SourceAPI {
						t.Errorf("API evidence with the API off: %+v", ev)
					}
				}
				if !api {
					for _, s := range rep.Steps {
						if slices.Contains([]string{"prereq-firewall", "prereq-syslog", "step7-api"}, s.Name) && s.Status != diag.StepSkipped {
							t.Errorf("step %s = %s with the API off", s.Name, s.Status)
						}
					}
				}
				// Where the capture shows the failure, the verdict cites its frames.
				if hasPcapEvidence(sc.Label) && !slices.ContainsFunc(rep.Evidence, func(e diag.Evidence) bool {
					return e.Source == diag.SourcePcap && strings.HasPrefix(e.Ref, "capture.pcap#")
				}) {
					t.Errorf("no capture.pcap#N evidence for %s: %v\nsteps: %+v", sc.Label, rep.Evidence, rep.Steps)
				}
			})
		}
	}
}

// hasPcapEvidence: the causes a capture shows on the wire (unanswered IKE, a cleartext error
// notify, one-way ESP, lost large packets).
func hasPcapEvidence(c diag.Cause) bool {
	switch c {
	case diag.CausePeerUnreachable, diag.CauseIKEProposalMismatch, diag.CauseESPBlocked, diag.CauseMTUFragmentation:
		return true
	}
	return false
}
