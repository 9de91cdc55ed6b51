package lab_test

import (
	"bytes"
	"os"
	"testing"
	"time"

	"ipsecbot/diag/edge"
	"ipsecbot/lab"
	"ipsecbot/lab/sshserver"
)

// Ensure a capture comes back the way the configuration describes it: the bot's SCP
// receiver listens on capture.scp_listen, the Edge is told capture.scp_address, and the lab's
// Edge reaches the receiver (standing in for the DNAT). The file is the scenario's capture,
// and the Edge is left with no capture running and no file.
func TestCapture_ThroughConfiguredSCP(t *testing.T) {
	l, cfg := startLab(t, lab.Options{Scenario: "auth_failed"})
	e := cfg.Edges[0]
	hostKey, err := sshserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	recv, err := edge.NewSCPReceiver(e.Capture.SCPListen, hostKey)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	target := edgeTarget(t, cfg)
	target.SCPHost = e.Capture.SCPAddress
	s := dialEdge(t, target)
	c, err := s.StartCapture(t.Context(), edge.CaptureSpec{Interface: e.Uplink, Peer: lab.PeerIP, MaxDuration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	path, err := c.Fetch(t.Context(), recv, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, l.Capture()) {
		t.Errorf("fetched %d bytes, the scenario's capture has %d", len(got), len(l.Capture()))
	}
	for _, cp := range l.Edge().Captures() {
		if cp.Running || !cp.Removed {
			t.Errorf("capture left on the Edge: %+v", cp)
		}
	}
	if files := l.Edge().Files(); len(files) != 0 {
		t.Errorf("files left on the Edge: %v", files)
	}
}
