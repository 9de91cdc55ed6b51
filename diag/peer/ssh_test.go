package peer_test

import (
	"io"
	"testing"
	"time"

	"ipsecbot/diag/fault"
	"ipsecbot/diag/peer"
	"ipsecbot/lab/sshserver"
)

// Ensure each way a login to the peer fails reaches the caller as its fault kind, located at
// the peer, from real servers: a wrong password (lab/sshserver), a closed port, and a server
// that accepts the connection and never speaks.
func TestExecDialFailuresAreTyped(t *testing.T) {
	f, err := sshserver.StartLoginFaults(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	for _, c := range f.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			x := peer.NewSSHExec(peer.SSHTarget{Name: "site-b", Address: c.Addr, User: "root",
				Password: "wrong", InsecureIgnoreHostKey: true, ConnectTimeout: time.Second})
			defer x.Close()
			err := x.Exec(t.Context(), "swanctl --list-sas", io.Discard)
			if err := c.Check(err, fault.Device{Role: fault.RolePeer, Name: "site-b"}); err != nil {
				t.Error(err)
			}
		})
	}
}
