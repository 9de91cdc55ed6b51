package engine_test

import (
	"os"
	"path/filepath"
	"testing"

	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/lab"
)

// Ensure the capture endpoint keeps its host key across restarts: the Edge remembers the
// first key it accepted (its known_hosts), so a second process (a new engine) must present
// the same one, kept 0600 beside the store.
func TestDiagnose_SCPHostKeyKeptAcrossRestarts(t *testing.T) {
	l := startLab(t, "auth_failed", lab.Faults{})
	cfg := l.Config()
	for run := 1; run <= 2; run++ {
		rep, out := diagnose(t, l, nil, engine.Options{})
		if s := step(t, rep, "step3-capture"); s.Status != diag.StepOK {
			t.Fatalf("run %d: capture %s: %s", run, s.Status, s.Error)
		}
		if _, err := os.Stat(filepath.Join(out, "capture.pcap")); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
	}
	key := filepath.Join(filepath.Dir(cfg.Path(cfg.Store.Path)), "scp_host_ed25519")
	fi, err := os.Stat(key)
	if err != nil {
		t.Fatalf("host key not kept: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", key, fi.Mode().Perm())
	}
}
