package edgesim_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"ipsecbot/lab/edgesim"
	"ipsecbot/lab/sshserver"
)

func signer(t *testing.T) ssh.Signer {
	t.Helper()
	s, err := sshserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func start(t *testing.T) *edgesim.Edge {
	t.Helper()
	return startWith(t, func(*edgesim.Config) {})
}

// startWith starts an Edge with the tests' identity and whatever adjust changes. Its cleanup
// fails the test if Close does not return: a stuck session must never hold Close up.
func startWith(t *testing.T, adjust func(*edgesim.Config)) *edgesim.Edge {
	t.Helper()
	cfg := edgesim.Config{
		Hostname: "vShield-edge-3", User: "admin", Password: "pw", HostKey: signer(t),
		Outputs: map[string]string{"show lines": strings.Repeat("a line\n", 30)},
	}
	adjust(&cfg)
	e, err := edgesim.Start(t.Context(), "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeWithin(t, e, closeLimit) })
	return e
}

// closeLimit is far beyond what Close needs; reaching it means Close is stuck for good.
const closeLimit = 10 * time.Second

// closeWithin closes e and fails the test if Close has not returned within limit.
func closeWithin(t *testing.T, e *edgesim.Edge, limit time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Close()
	}()
	select {
	case <-done:
	case <-time.After(limit):
		t.Errorf("Edge.Close still blocked after %v", limit)
	}
}

func dial(t *testing.T, e *edgesim.Edge) *ssh.Client {
	t.Helper()
	c, err := ssh.Dial("tcp", e.Addr(), &ssh.ClientConfig{User: "admin", Auth: []ssh.AuthMethod{ssh.Password("pw")},
		HostKeyCallback: ssh.FixedHostKey(e.HostKey())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// terminal is a PTY shell with everything it printed.
type terminal struct {
	in  io.Writer
	out *syncBuffer
}

type syncBuffer struct {
	ch chan []byte
	b  bytes.Buffer
}

// waitFor reads until s appears, or fails after 5 s.
func (tm *terminal) waitFor(t *testing.T, s string) string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for !strings.Contains(tm.out.b.String(), s) {
		select {
		case p, ok := <-tm.out.ch:
			if !ok {
				t.Fatalf("session ended waiting for %q; got %q", s, tm.out.b.String())
			}
			tm.out.b.Write(p)
		case <-deadline:
			t.Fatalf("waiting for %q; got %q", s, tm.out.b.String())
		}
	}
	got := tm.out.b.String()
	tm.out.b.Reset()
	return got
}

func shell(t *testing.T, c *ssh.Client, rows int) *terminal {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPty("vt100", rows, 80, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	in, _ := s.StdinPipe()
	out, _ := s.StdoutPipe()
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	tm := &terminal{in: in, out: &syncBuffer{ch: make(chan []byte, 64)}}
	go func() {
		defer close(tm.out.ch)
		for {
			b := make([]byte, 1024)
			n, err := out.Read(b)
			if n > 0 {
				tm.out.ch <- b[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	return tm
}

func TestPromptEnableAndErrors(t *testing.T) {
	e := start(t)
	tm := shell(t, dial(t, e), 24)
	tm.waitFor(t, "vShield-edge-3-0> ")
	io.WriteString(tm.in, "show nothing\r")
	if got := tm.waitFor(t, "vShield-edge-3-0> "); !strings.Contains(got, "% Unrecognized command") {
		t.Errorf("unknown command: %q", got)
	}
	io.WriteString(tm.in, "debug show files\r")
	if got := tm.waitFor(t, "vShield-edge-3-0> "); !strings.Contains(got, "enable mode") {
		t.Errorf("debug without enable: %q", got)
	}
	io.WriteString(tm.in, "enable\r")
	tm.waitFor(t, "Password: ")
	io.WriteString(tm.in, "pw\r")
	tm.waitFor(t, "vShield-edge-3-0# ")
	io.WriteString(tm.in, "debug show files\r")
	if got := tm.waitFor(t, "vShield-edge-3-0# "); !strings.Contains(got, "total 0.0K") {
		t.Errorf("debug show files: %q", got)
	}
	if cmds := e.Commands(); len(cmds) != 4 || cmds[2] != "enable" {
		t.Errorf("commands %q (the password must not be recorded)", cmds)
	}
}

func TestPagerPagesByRows(t *testing.T) {
	e := start(t)
	tm := shell(t, dial(t, e), 11)
	tm.waitFor(t, "> ")
	io.WriteString(tm.in, "show lines\r")
	first := tm.waitFor(t, "byte 70")
	if n := strings.Count(first, "a line"); n != 10 {
		t.Errorf("first page has %d lines, want rows-1 = 10", n)
	}
	io.WriteString(tm.in, "\r") // Enter: one more line
	tm.waitFor(t, "byte 77")
	io.WriteString(tm.in, " ")
	tm.waitFor(t, "byte 147")
	io.WriteString(tm.in, "q")
	tm.waitFor(t, "-0> ")
}

func TestExecAndSFTPRefused(t *testing.T) {
	e := start(t)
	c := dial(t, e)
	s, _ := c.NewSession()
	if err := s.Run("show service ipsec"); err == nil {
		t.Error("exec accepted: the Edge CLI is interactive only")
	}
	s2, _ := c.NewSession()
	if err := s2.RequestSubsystem("sftp"); err == nil {
		t.Error("sftp subsystem accepted")
	}
}
