package peersim_test

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/crypto/ssh"

	"ipsecbot/lab/peersim"
	"ipsecbot/lab/sshserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	s, err := sshserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type fixture struct {
	peer    *peersim.Peer
	userKey ssh.Signer
}

func startPeer(t *testing.T, f peersim.Faults) fixture {
	t.Helper()
	userKey := newSigner(t)
	p, err := peersim.Start(t.Context(), "127.0.0.1:0", peersim.Config{
		User: "ops", Password: "pw-peer", Keys: []ssh.PublicKey{userKey.PublicKey()},
		HostKey:   newSigner(t),
		ListSAs:   "s2s: #1, ESTABLISHED, IKEv2, f69993ae6458b76e_i d01ec1fd626fe32e_r*\n",
		ListConns: "s2s: IKEv2, no reauthentication, rekeying every 14400s\n",
		Log:       strings.Repeat("2026-11-27T04:18:39.015 10[CFG] vici client 1 connected\n", 200),
		Faults:    f,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return fixture{p, userKey}
}

func dial(t *testing.T, p *peersim.Peer, auth ssh.AuthMethod) (*ssh.Client, error) {
	t.Helper()
	return ssh.Dial("tcp", p.Addr(), &ssh.ClientConfig{
		User: "ops", Auth: []ssh.AuthMethod{auth},
		HostKeyCallback: ssh.FixedHostKey(p.HostKey()), Timeout: 5 * time.Second,
	})
}

func run(t *testing.T, c *ssh.Client, cmd string) (stdout, stderr string, err error) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var o, e bytes.Buffer
	s.Stdout, s.Stderr = &o, &e
	err = s.Run(cmd)
	return o.String(), e.String(), err
}

// Ensure each documented command returns the scenario's content, by key and by password.
func TestPeer_Commands(t *testing.T) {
	fx := startPeer(t, peersim.Faults{})
	for _, auth := range []struct {
		name string
		m    ssh.AuthMethod
	}{{"key", ssh.PublicKeys(fx.userKey)}, {"password", ssh.Password("pw-peer")}} {
		t.Run(auth.name, func(t *testing.T) {
			c, err := dial(t, fx.peer, auth.m)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for cmd, want := range map[string]string{
				peersim.ListSAsCommand:   "ESTABLISHED, IKEv2",
				"swanctl -l":             "ESTABLISHED, IKEv2",
				peersim.ListConnsCommand: "no reauthentication",
				peersim.LogCommand:       "vici client 1 connected",
			} {
				out, _, err := run(t, c, cmd)
				if err != nil {
					t.Fatalf("%s: %v", cmd, err)
				}
				if !strings.Contains(out, want) {
					t.Errorf("%s: output %q lacks %q", cmd, out, want)
				}
			}
		})
	}
	n := 0
	for _, c := range fx.peer.Commands() {
		if c == peersim.ListSAsCommand { // the alias is recorded under its long form
			n++
		}
	}
	if got := fx.peer.Commands(); len(got) != 8 || n != 4 {
		t.Errorf("Commands() = %q", got)
	}
}

// Ensure an unknown command fails like a shell would: stderr and status 127.
func TestPeer_UnknownCommand(t *testing.T) {
	fx := startPeer(t, peersim.Faults{})
	c, err := dial(t, fx.peer, ssh.Password("pw-peer"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, stderr, err := run(t, c, "rm -rf /")
	ee, ok := errors.AsType[*ssh.ExitError](err)
	if !ok || ee.ExitStatus() != 127 {
		t.Fatalf("err = %v, want exit status 127", err)
	}
	if stderr != "bash: rm: command not found\n" {
		t.Errorf("stderr = %q", stderr)
	}
}

// Ensure wrong credentials are refused.
func TestPeer_WrongPassword(t *testing.T) {
	fx := startPeer(t, peersim.Faults{})
	if c, err := dial(t, fx.peer, ssh.Password("nope")); err == nil {
		c.Close()
		t.Fatal("wrong password accepted")
	}
	if c, err := dial(t, fx.peer, ssh.PublicKeys(newSigner(t))); err == nil {
		c.Close()
		t.Fatal("unknown key accepted")
	}
}

// Ensure a hanging command delivers part of its output and then stalls until the client gives up.
func TestPeer_HangFault(t *testing.T) {
	fx := startPeer(t, peersim.Faults{HangAfterBytes: 100})
	c, err := dial(t, fx.peer, ssh.Password("pw-peer"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out := &countingWriter{want: 100, got: make(chan struct{})}
	s.Stdout = out
	done := make(chan error, 1)
	go func() { done <- s.Run(peersim.LogCommand) }()
	// Wait for the 100 bytes (however slow the machine), then a while longer: the command
	// must still not have returned.
	select {
	case err := <-done:
		t.Fatalf("command returned (%v) before its 100 bytes", err)
	case <-out.got:
	}
	select {
	case err := <-done:
		t.Fatalf("command returned (%v) instead of hanging", err)
	case <-time.After(300 * time.Millisecond):
	}
	c.Close() // what a client's timeout does
	<-done
	if n := out.len(); n != 100 {
		t.Errorf("got %d bytes before the hang, want 100", n)
	}
}

// countingWriter keeps what is written and closes got once it holds want bytes.
type countingWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want int
	got  chan struct{}
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	before := w.buf.Len()
	w.buf.Write(p)
	if before < w.want && w.buf.Len() >= w.want {
		close(w.got)
	}
	return len(p), nil
}

func (w *countingWriter) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Len()
}

// Ensure dropped connections fail the handshake, and clear once the fault is switched off.
func TestPeer_DropConnections(t *testing.T) {
	fx := startPeer(t, peersim.Faults{DropConnections: true})
	if c, err := dial(t, fx.peer, ssh.Password("pw-peer")); err == nil {
		c.Close()
		t.Fatal("connection not dropped")
	}
	fx.peer.SetFaults(peersim.Faults{})
	c, err := dial(t, fx.peer, ssh.Password("pw-peer"))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// Ensure latency delays the output, and that Close ends a server with an open client.
func TestPeer_LatencyAndClose(t *testing.T) {
	fx := startPeer(t, peersim.Faults{Latency: 50 * time.Millisecond})
	c, err := dial(t, fx.peer, ssh.Password("pw-peer"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, _, err := run(t, c, peersim.ListSAsCommand); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("answered after %v, before the 50ms latency", d)
	}
	fx.peer.Close()
	if _, err := net.DialTimeout("tcp", fx.peer.Addr(), time.Second); err == nil {
		t.Error("still listening after Close")
	}
}
