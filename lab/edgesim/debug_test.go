package edgesim_test

import (
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"ipsecbot/lab/edgesim"
	"ipsecbot/lab/sshserver"
)

const enabledPrompt = "vShield-edge-3-0# "

// enabledShell opens a new session and enters enable mode.
func enabledShell(t *testing.T, e *edgesim.Edge) *terminal {
	t.Helper()
	tm := shell(t, dial(t, e), 24)
	tm.waitFor(t, "vShield-edge-3-0> ")
	io.WriteString(tm.in, "enable\r")
	tm.waitFor(t, "Password: ")
	io.WriteString(tm.in, "pw\r")
	tm.waitFor(t, enabledPrompt)
	return tm
}

// answers runs one command line and checks that the Edge printed want and came back to the
// enable prompt.
func (tm *terminal) answers(t *testing.T, line, want string) {
	t.Helper()
	io.WriteString(tm.in, line+"\r")
	if got := tm.waitFor(t, enabledPrompt); !strings.Contains(got, want) {
		t.Errorf("%s: want %q in %q", line, want, got)
	}
}

// Ensure every debug command's error path answers with the Edge's error text and leaves the
// Edge serving: the same session takes the next command and new sessions log in (QA found
// `debug remove nosuch.0` deadlocking the whole Edge).
func TestDebugErrorsKeepEdgeServing(t *testing.T) {
	e := start(t)
	tm := enabledShell(t, e)
	tm.answers(t, "debug remove nosuch.0", "% File not found: nosuch.0")
	tm.answers(t, "no debug packet capture interface vNic_0", "% No packet capture is running on vNic_0")
	tm.answers(t, "debug packet capture interface eth0 host 192.0.2.1", "% Invalid interface eth0")
	tm.answers(t, "debug packet capture interface vNic_0 host 192.0.2.1", "tcpdump: listening on vNic_0")
	tm.answers(t, "debug packet capture interface vNic_0 host 192.0.2.1", "% A packet capture is already running on vNic_0")
	tm.answers(t, "no debug packet capture interface vNic_0", "")
	tm.answers(t, "no debug packet capture interface vNic_0", "% No packet capture is running on vNic_0")
	tm.answers(t, "debug packet display interface eth0 port 500", "% Invalid interface eth0")
	tm.answers(t, "debug copy scp nohost tcpdump_vNic_0.0", "% Invalid destination nohost")
	tm.answers(t, "debug copy scp bot@192.0.2.9:/tmp/ nosuch.0", "nosuch.0: No such file or directory")
	tm.answers(t, "debug frobnicate", "% Unrecognized command")
	tm.answers(t, "debug show files", "tcpdump_vNic_0.0")

	// The same commands from a second session, while the first stays open.
	tm2 := enabledShell(t, e)
	tm2.answers(t, "debug remove nosuch.0", "% File not found: nosuch.0")
	tm2.answers(t, "debug remove tcpdump_vNic_0.0", "")
	tm2.answers(t, "debug remove tcpdump_vNic_0.0", "% File not found: tcpdump_vNic_0.0")
	tm.answers(t, "debug show files", "total 0.0K")
	if files := e.Files(); len(files) != 0 {
		t.Errorf("files left: %q", files)
	}
	if c := e.Captures(); len(c) != 1 || !c[0].Stopped || !c[0].Removed || c[0].Running {
		t.Errorf("captures %+v", c)
	}
}

// Ensure `debug copy scp` failures (unreachable host, refused or changed host key, wrong
// password, Ctrl-C at the password prompt, the receiver refusing the file) are answered on the
// terminal and leave the Edge serving.
func TestDebugCopySCPErrorsKeepEdgeServing(t *testing.T) {
	t.Run("unreachable", func(t *testing.T) {
		// The kernel refuses every connection to port 0 and nothing can listen there: unlike
		// a port found free and closed, no other test can take it meanwhile.
		const closed = "127.0.0.1:0"
		e := startWith(t, func(c *edgesim.Config) { c.SCPDialOverride = closed })
		tm := enabledShell(t, e)
		tm.answers(t, "debug packet capture interface vNic_0", "listening")
		tm.answers(t, "no debug packet capture interface vNic_0", "")
		tm.answers(t, "debug copy scp bot@192.0.2.9:/tmp/ tcpdump_vNic_0.0", "lost connection")
		enabledShell(t, e).answers(t, "debug remove nosuch.0", "% File not found")
	})

	t.Run("receiver", func(t *testing.T) {
		first, second := signer(t), signer(t)
		var changed atomic.Bool
		recv := sshserver.New(sshserver.Config{User: "bot", Password: "botpw",
			HostKeys: func() []ssh.Signer {
				if changed.Load() {
					return []ssh.Signer{second}
				}
				return []ssh.Signer{first}
			}}, refuseSCP)
		if err := recv.Start(t.Context(), "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { recv.Close() })
		e := startWith(t, func(c *edgesim.Config) { c.SCPDialOverride = recv.Addr() })
		tm := enabledShell(t, e)
		tm.answers(t, "debug packet capture interface vNic_0", "listening")
		tm.answers(t, "no debug packet capture interface vNic_0", "")
		const copyCmd = "debug copy scp bot@192.0.2.9:/tmp/ tcpdump_vNic_0.0"

		io.WriteString(tm.in, copyCmd+"\r")
		tm.waitFor(t, "(yes/no)? ")
		tm.answers(t, "no", "Host key verification failed.")

		io.WriteString(tm.in, copyCmd+"\r")
		tm.waitFor(t, "(yes/no)? ")
		io.WriteString(tm.in, "yes\r")
		for range 2 {
			tm.waitFor(t, "Password: ")
			io.WriteString(tm.in, "wrong\r")
		}
		tm.waitFor(t, "Password: ")
		tm.answers(t, "wrong", "bot@192.0.2.9: Permission denied (password).")

		io.WriteString(tm.in, copyCmd+"\r")
		tm.waitFor(t, "Password: ")
		io.WriteString(tm.in, "\x03")
		if got := tm.waitFor(t, enabledPrompt); strings.Contains(got, "lost connection") {
			t.Errorf("Ctrl-C at the password prompt: %q", got)
		}

		io.WriteString(tm.in, copyCmd+"\r")
		tm.waitFor(t, "Password: ")
		tm.answers(t, "botpw", "/tmp/: Permission denied")

		changed.Store(true)
		tm.answers(t, copyCmd, "REMOTE HOST IDENTIFICATION HAS CHANGED")

		enabledShell(t, e).answers(t, "debug show files", "tcpdump_vNic_0.0")
		if c := e.Captures(); len(c) != 1 || c[0].Copied != 0 {
			t.Errorf("captures %+v", c)
		}
	})
}

// refuseSCP is an SCP receiver that refuses every file, as a sink without write permission does.
func refuseSCP(s sshserver.Session) {
	defer s.Channel.Close()
	for req := range s.Requests {
		if req.Type != "exec" {
			_ = req.Reply(false, nil)
			continue
		}
		_ = req.Reply(true, nil)
		_, _ = io.WriteString(s.Channel, "\x01/tmp/: Permission denied\n")
		sshserver.SendExitStatus(s.Channel, 1)
		return
	}
}

// Ensure Close returns while a session is blocked writing to a client that reads nothing: the
// client's SSH window fills up and the Edge's write waits for it.
func TestCloseWithSessionStuckInWrite(t *testing.T) {
	e := startWith(t, func(c *edgesim.Config) {
		c.Outputs = map[string]string{"show big": strings.Repeat(strings.Repeat("x", 99)+"\n", 160000)} // 16 MB
	})
	c := dial(t, e)
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPty("vt100", 100000, 80, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	in, _ := s.StdinPipe()
	_, _ = s.StdoutPipe() // never read: the window stays shut once full
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(in, "show big\r")
	waitCommand(t, e, "show big")
	closeWithin(t, e, closeLimit)
}

// Ensure Close returns after a session ended with input still unread: the rest of what the
// client typed must not keep the session's reader waiting for a shell that is gone.
func TestCloseAfterExitWithUnreadInput(t *testing.T) {
	e := start(t)
	tm := shell(t, dial(t, e), 24)
	tm.waitFor(t, "-0> ")
	io.WriteString(tm.in, "exit\r"+strings.Repeat("show nothing\r", 1000))
	for range tm.out.ch { // the session ends
	}
	closeWithin(t, e, closeLimit)
}

// waitCommand waits until the Edge has received line.
func waitCommand(t *testing.T, e *edgesim.Edge, line string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, c := range e.Commands() {
			if c == line {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the Edge never received %q; commands %q", line, e.Commands())
}

// Ensure Close returns while `debug copy scp` waits on a receiver that accepts the TCP
// connection and never says a word (the SSH handshake would wait for ever).
func TestCloseWhileCopyStalls(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range accepted {
			c.Close()
		}
	})
	e := startWith(t, func(c *edgesim.Config) { c.SCPDialOverride = ln.Addr().String() })
	tm := enabledShell(t, e)
	tm.answers(t, "debug packet capture interface vNic_0", "listening")
	tm.answers(t, "no debug packet capture interface vNic_0", "")
	io.WriteString(tm.in, "debug copy scp bot@192.0.2.9:/tmp/ tcpdump_vNic_0.0\r")
	waitCommand(t, e, "debug copy scp bot@192.0.2.9:/tmp/ tcpdump_vNic_0.0")
	closeWithin(t, e, closeLimit)
}

// Ensure Close returns while a session waits out the Latency fault.
func TestCloseDuringLatency(t *testing.T) {
	e := startWith(t, func(c *edgesim.Config) { c.Faults.Latency = time.Hour })
	tm := shell(t, dial(t, e), 24)
	tm.waitFor(t, "-0> ")
	io.WriteString(tm.in, "show lines\r")
	waitCommand(t, e, "show lines")
	closeWithin(t, e, closeLimit)
}
