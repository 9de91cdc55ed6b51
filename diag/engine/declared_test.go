package engine_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/lab"
)

// Ensure a peer that cannot be asked (a SonicWall, a WatchGuard) works through its declared
// settings and a syslog file: step 2 compares the declared settings and names each mismatch,
// step 5 is skipped, and the log file is collected.
func TestDiagnose_DeclaredPeer(t *testing.T) {
	l := startLab(t, "ike_proposal_mismatch", lab.Faults{})
	cfg := l.Config()
	p := &cfg.Edges[0].Peers[0]
	logPath := filepath.Join(t.TempDir(), "sonicwall.log")
	line := `id=firewall sn=0017C5000000 time="2026-11-27 04:18:39" fw=203.0.113.2 pri=3 c=0 m=1033 msg="IKE Responder: No matching phase 1 proposal" src=198.51.100.1:500 dst=203.0.113.2:500` + "\n"
	if err := os.WriteFile(logPath, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	p.Kind, p.SSH, p.Log = config.PeerSyslog, nil, logPath
	p.Declared = &config.PeerSettings{IKEVersion: "ikev2", Encryption: "aes128", Digest: "sha1", DHGroup: "dh2",
		LocalSubnets: []string{"10.2.2.0/24"}, PeerSubnets: []string{"10.1.1.0/24"}, AuthMode: "psk", PFS: true, PFSGroup: "dh2"}
	e, err := engine.New(cfg, nil, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rep, err := e.Diagnose(t.Context(), diag.Request{Edge: "edge-01", CaptureSeconds: 1, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Cause != diag.CauseIKEProposalMismatch {
		t.Errorf("cause = %s", rep.Cause)
	}
	s2 := step(t, rep, "step2-interop")
	interopWhat := map[string]string{"encryption": "IKE encryption", "digest": "IKE digest", "dh_group": "IKE DH group"}
	for _, field := range []string{"encryption", "digest", "dh_group"} {
		if !slices.ContainsFunc(s2.Evidence, func(e diag.Evidence) bool {
			return strings.HasPrefix(e.Ref, "interop.txt:") && strings.HasPrefix(e.Text, interopWhat[field])
		}) {
			t.Errorf("step 2 has no %s mismatch: %+v", field, s2.Evidence)
		}
	}
	if s := step(t, rep, "step5-peer"); s.Status != diag.StepSkipped {
		t.Errorf("step5 = %s", s.Status)
	}
	if s := step(t, rep, "step1-logs"); !strings.Contains(s.Summary, "logs/peer.log") {
		t.Errorf("step1: %s", s.Summary)
	}
}
