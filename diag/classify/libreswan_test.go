package classify

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"ipsecbot/diag"
)

// libreswanCase classifies transcripts of libreswan's own tests (testdata/libreswan, verbatim).
func libreswanCase(t *testing.T, files map[string]string) *diag.Verdict {
	t.Helper()
	var in Input
	for file, site := range files {
		in.Logs = append(in.Logs, LogSource{Path: filepath.Join("testdata", "libreswan", file), Site: site})
	}
	v, err := Classify(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Pluto's Main Mode comes up, then its Quick Mode is never answered acceptably: a phase-2
// failure, never taken for a phase-1 one (proposal or authentication).
func TestClassify_PlutoQuickModeIsPhase2(t *testing.T) {
	v := libreswanCase(t, map[string]string{"algo-pluto-13-invalid-3des-west.txt": "peer"})
	for _, f := range append([]diag.Finding{{Cause: v.Cause}}, v.AlsoSeen...) {
		switch f.Cause {
		case diag.CauseIKEProposalMismatch, diag.CauseAuthFailed, diag.CausePeerUnreachable, diag.CauseHealthy:
			t.Errorf("phase-1 or healthy cause %s named for a Quick Mode failure: %+v", f.Cause, v)
		}
	}
	var causes []diag.Cause
	for _, f := range v.AlsoSeen {
		causes = append(causes, f.Cause)
	}
	if !slices.Contains(causes, diag.CauseIPsecProposalMismatch) {
		t.Errorf("also seen %v lacks ipsec_proposal_mismatch", causes)
	}
}

// The responder refused the certificate chain (no CA in its NSS database); the initiator only
// heard AUTHENTICATION_FAILED. The decider's cause wins, whichever site each log is from.
func TestClassify_DeciderOutweighsHearer(t *testing.T) {
	for _, sites := range [][2]string{{"edge", "peer"}, {"peer", "edge"}} {
		v := libreswanCase(t, map[string]string{
			"ikev2-x509-25-missing-ca-east.txt": sites[0],
			"ikev2-x509-25-missing-ca-west.txt": sites[1],
		})
		if v.Cause != diag.CauseNoTrustedCA {
			t.Errorf("responder on %s: cause %s, want no_trusted_ca (%s)", sites[0], v.Cause, v.Summary)
		}
	}
}

// The hearer's log alone still names what it heard.
func TestClassify_HearerAlone(t *testing.T) {
	v := libreswanCase(t, map[string]string{"ikev2-x509-25-missing-ca-west.txt": "edge"})
	if v.Cause != diag.CauseAuthFailed {
		t.Errorf("cause %s, want auth_failed from the notify alone", v.Cause)
	}
}
