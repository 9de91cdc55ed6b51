package sshserve_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/crypto/ssh"

	"ipsecbot/diag/sshserve"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Ensure a logged-in connection that idles past ConnTimeout is cut, Ended is told, and Close
// returns with nothing left running.
func TestConnTimeoutCutsAndEndedIsCalled(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan string, 1)
	srv := sshserve.Serve(t.Context(), ln, sshserve.Config{
		ServerConfig: func() *ssh.ServerConfig {
			c := &ssh.ServerConfig{NoClientAuth: true}
			c.AddHostKey(key)
			return c
		},
		ConnTimeout: func() time.Duration { return time.Second },
		Ended:       func(c *ssh.ServerConn) { ended <- c.User() },
	}, func(s sshserve.Session) { s.Channel.Close() })
	defer srv.Close()

	client, err := ssh.Dial("tcp", srv.Addr(), &ssh.ClientConfig{User: "idle",
		HostKeyCallback: ssh.FixedHostKey(key.PublicKey()), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if got := <-ended; got != "idle" {
		t.Errorf("Ended for %q", got)
	}
	if err := client.Wait(); err == nil {
		t.Error("the connection outlived its ConnTimeout without an error")
	}
}
