package sshdial_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/crypto/ssh"

	"ipsecbot/diag/fault"
	"ipsecbot/diag/sshdial"
	"ipsecbot/lab/sshserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Ensure a connection whose server goes away is noticed by the keepalive: OnDead is told and
// the connection is closed.
func TestKeepaliveNoticesDeadServer(t *testing.T) {
	key, err := sshserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	srv := sshserver.New(sshserver.Config{User: "u", Password: "p",
		HostKeys: func() []ssh.Signer { return []ssh.Signer{key} }}, func(s sshserver.Session) { s.Channel.Close() })
	if err := srv.Start(t.Context(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	dead := make(chan error, 1)
	c, err := sshdial.Dial(t.Context(), sshdial.Target{Device: fault.Device{Role: fault.RolePeer, Name: "gw"},
		Address: srv.Addr(), User: "u", Password: "p", InsecureIgnoreHostKey: true,
		Keepalive: 50 * time.Millisecond, OnDead: func(err error) { dead <- err }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv.Close() // cuts the connection
	if err := <-dead; err == nil {
		t.Error("OnDead without an error")
	}
	if _, err := c.NewSession(); err == nil {
		t.Error("the dead connection still opens sessions")
	}
}

// Ensure a caller's cancel during the dial is reported as the cancel, not as a timeout.
func TestCancelIsNotATimeout(t *testing.T) {
	f, err := sshserver.StartLoginFaults(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := sshdial.Dial(ctx, sshdial.Target{Address: f.Silent, User: "u", Password: "p",
			InsecureIgnoreHostKey: true, ConnectTimeout: time.Minute}, func(context.Context, *ssh.Client) error { return nil })
		done <- err
	}()
	cancel()
	err = <-done
	if !errors.Is(err, context.Canceled) || errors.Is(err, fault.ErrTimeout) {
		t.Fatalf("got %v, want the cancel", err)
	}
}
