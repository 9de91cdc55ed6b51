package engine_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/lab"
	"ipsecbot/watch/syslog"
)

// Ensure step 1 reads the Edge's received syslog instead of the tech support bundle when the
// receiver holds every line since before the run, and the bundle when it does not.
func TestDiagnose_ReceivedSyslogAsEdgeLogs(t *testing.T) {
	checkLeaks(t)
	l := startLab(t, "healthy", lab.Faults{})
	var mu sync.Mutex
	now := time.Now().Add(-time.Hour)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	edgeAddr := netip.MustParseAddr("192.0.2.1")
	rx, err := syslog.New(syslog.Options{Dir: t.TempDir(), Senders: map[netip.Addr]string{edgeAddr: "edge-01"}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}

	// Nothing received yet: the bundle, as without a receiver.
	rep, _ := diagnose(t, l, nil, engine.Options{ReceivedLogs: rx})
	if slices.ContainsFunc(rep.Artifacts, func(a diag.Artifact) bool { return a.Name == "logs/edge-syslog.log" }) {
		t.Fatal("received syslog used before the edge sent anything")
	}

	const line = "charon: 07[IKE] IKE_SA vpn-1[2] established between 192.0.2.1[edge]...198.51.100.20[peer]"
	rx.Handle(edgeAddr, []byte("<30>Mar  4 03:12:04 edge-01 "+line))
	mu.Lock()
	now = time.Now() // the run starts an hour after the edge's line
	mu.Unlock()
	rep, out := diagnose(t, l, nil, engine.Options{ReceivedLogs: rx})
	if !slices.ContainsFunc(rep.Artifacts, func(a diag.Artifact) bool { return a.Name == "logs/edge-syslog.log" }) {
		t.Fatalf("no logs/edge-syslog.log: %v", rep.Artifacts)
	}
	if slices.ContainsFunc(rep.Artifacts, func(a diag.Artifact) bool { return strings.Contains(a.Name, "techsupport") }) {
		t.Errorf("the bundle was fetched though the received syslog covers the run: %v", rep.Artifacts)
	}
	b, err := os.ReadFile(filepath.Join(out, "logs", "edge-syslog.log"))
	if err != nil || !strings.Contains(string(b), line) {
		t.Errorf("edge-syslog.log = %q, %v", b, err)
	}
}
