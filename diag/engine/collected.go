package engine

import "ipsecbot/diag"

// collectingSteps are the steps that gather a source the classifier reads: the logs, the
// capture, the Edge's show output, the peer's state and the API statistics. The prerequisite
// checks, the settings comparison and the review only look at what is there.
var collectingSteps = []string{
	logsStep{}.Name(), captureStep{}.Name(), showStep{}.Name(), peerStateStep{}.Name(), apiStep{}.Name(),
}

// NothingCollected reports whether every collecting step of rep failed or was skipped: the
// verdict then rests on no source at all (`bot diagnose` exits 3 so that scripts can tell it
// from a run that collected and stayed inconclusive).
func NothingCollected(rep *diag.Report) bool {
	for _, s := range rep.Steps {
		for _, name := range collectingSteps {
			if s.Name == name && s.Status == diag.StepOK {
				return false
			}
		}
	}
	return true
}
