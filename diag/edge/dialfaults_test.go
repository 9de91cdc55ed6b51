package edge_test

import (
	"testing"
	"time"

	"ipsecbot/diag/edge"
	"ipsecbot/diag/fault"
	"ipsecbot/lab/sshserver"
)

// Ensure each way a login fails reaches the caller as its fault kind, located at the Edge,
// from real servers: a wrong password (lab/sshserver), a closed port, and a server that
// accepts the connection and never speaks.
func TestDialFailuresAreTyped(t *testing.T) {
	f, err := sshserver.StartLoginFaults(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	for _, c := range f.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			_, err := edge.Dial(t.Context(), edge.Target{Name: "edge-01", Address: c.Addr, User: labUser,
				Password: "not-the-password", InsecureIgnoreHostKey: true, ConnectTimeout: time.Second})
			if err := c.Check(err, fault.Device{Role: fault.RoleEdge, Name: "edge-01"}); err != nil {
				t.Error(err)
			}
		})
	}
}
