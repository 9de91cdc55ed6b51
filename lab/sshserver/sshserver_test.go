package sshserver_test

import (
	"bytes"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/crypto/ssh"

	"ipsecbot/lab/sshserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newKey(t *testing.T) ssh.Signer {
	t.Helper()
	k, err := sshserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// echoExec answers an exec request with the command's text and exit status 0.
func echoExec(s sshserver.Session) {
	defer s.Channel.Close()
	for req := range s.Requests {
		if req.Type != "exec" {
			_ = req.Reply(false, nil)
			continue
		}
		var exec struct{ Command string }
		if ssh.Unmarshal(req.Payload, &exec) != nil {
			_ = req.Reply(false, nil)
			continue
		}
		_ = req.Reply(true, nil)
		_, _ = io.WriteString(s.Channel, exec.Command)
		sshserver.SendExitStatus(s.Channel, 0)
		return
	}
}

func start(t *testing.T, cfg sshserver.Config, serve func(sshserver.Session)) *sshserver.Server {
	t.Helper()
	s := sshserver.New(cfg, serve)
	if err := s.Start(t.Context(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dial(s *sshserver.Server, user string, hostKey ssh.PublicKey, auth ssh.AuthMethod) (*ssh.Client, error) {
	return ssh.Dial("tcp", s.Addr(), &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{auth},
		HostKeyCallback: ssh.FixedHostKey(hostKey), Timeout: 5 * time.Second,
	})
}

func run(t *testing.T, c *ssh.Client, cmd string) string {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var out bytes.Buffer
	sess.Stdout = &out
	if err := sess.Run(cmd); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return out.String()
}

// Ensure the configured user gets in by password and by key, and nobody else does.
func TestLogin(t *testing.T) {
	host, userKey, otherKey := newKey(t), newKey(t), newKey(t)
	s := start(t, sshserver.Config{
		User: "ops", Password: "pw", AuthorizedKeys: []ssh.PublicKey{userKey.PublicKey()},
		HostKeys: func() []ssh.Signer { return []ssh.Signer{host} },
	}, echoExec)

	for name, auth := range map[string]ssh.AuthMethod{
		"password": ssh.Password("pw"),
		"key":      ssh.PublicKeys(userKey),
	} {
		c, err := dial(s, "ops", host.PublicKey(), auth)
		if err != nil {
			t.Fatalf("%s login: %v", name, err)
		}
		if got := run(t, c, "swanctl --list-sas"); got != "swanctl --list-sas" {
			t.Errorf("%s login: session said %q", name, got)
		}
		c.Close()
	}

	refused := map[string]struct {
		user string
		auth ssh.AuthMethod
	}{
		"wrong password": {"ops", ssh.Password("nope")},
		"unknown key":    {"ops", ssh.PublicKeys(otherKey)},
		"other user":     {"root", ssh.Password("pw")},
	}
	for name, tc := range refused {
		c, err := dial(s, tc.user, host.PublicKey(), tc.auth)
		if err == nil {
			c.Close()
			t.Errorf("%s: logged in", name)
		}
	}
}

// Ensure an empty password refuses password login rather than accepting an empty one.
func TestLogin_NoPasswordConfigured(t *testing.T) {
	host := newKey(t)
	s := start(t, sshserver.Config{User: "ops", HostKeys: func() []ssh.Signer { return []ssh.Signer{host} }}, echoExec)
	if c, err := dial(s, "ops", host.PublicKey(), ssh.Password("")); err == nil {
		c.Close()
		t.Fatal("empty password logged in")
	}
}

// Ensure the host keys are asked per connection, so a fault can swap them between logins.
func TestHostKeysPerConnection(t *testing.T) {
	first, second := newKey(t), newKey(t)
	var swapped atomic.Bool
	s := start(t, sshserver.Config{User: "ops", Password: "pw", HostKeys: func() []ssh.Signer {
		if swapped.Load() {
			return []ssh.Signer{second}
		}
		return []ssh.Signer{first}
	}}, echoExec)
	c, err := dial(s, "ops", first.PublicKey(), ssh.Password("pw"))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	swapped.Store(true)
	if c, err := dial(s, "ops", first.PublicKey(), ssh.Password("pw")); err == nil {
		c.Close()
		t.Fatal("old host key still accepted after the swap")
	}
	c, err = dial(s, "ops", second.PublicKey(), ssh.Password("pw"))
	if err != nil {
		t.Fatalf("new host key: %v", err)
	}
	c.Close()
}

// Ensure Refuse drops connections before the handshake.
func TestRefuse(t *testing.T) {
	host := newKey(t)
	s := start(t, sshserver.Config{User: "ops", Password: "pw",
		HostKeys: func() []ssh.Signer { return []ssh.Signer{host} },
		Refuse:   func() bool { return true },
	}, echoExec)
	c, err := dial(s, "ops", host.PublicKey(), ssh.Password("pw"))
	if err == nil {
		c.Close()
		t.Fatal("refused connection logged in")
	}
}

// Ensure only session channels are opened.
func TestRejectsOtherChannels(t *testing.T) {
	host := newKey(t)
	s := start(t, sshserver.Config{User: "ops", Password: "pw", HostKeys: func() []ssh.Signer { return []ssh.Signer{host} }}, echoExec)
	c, err := dial(s, "ops", host.PublicKey(), ssh.Password("pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _, err = c.OpenChannel("direct-tcpip", nil)
	if oce, ok := errors.AsType[*ssh.OpenChannelError](err); !ok || oce.Reason != ssh.UnknownChannelType {
		t.Fatalf("direct-tcpip channel: %v", err)
	}
}

// Ensure Close cuts a connection whose session is stalled and waits for that session to end.
func TestCloseCutsStalledSessions(t *testing.T) {
	host := newKey(t)
	entered := make(chan struct{})
	var ended atomic.Bool
	s := start(t, sshserver.Config{User: "ops", Password: "pw", HostKeys: func() []ssh.Signer { return []ssh.Signer{host} }},
		func(sess sshserver.Session) {
			defer sess.Channel.Close()
			close(entered)
			<-sess.ConnDone // stall like a hung device until the connection ends
			ended.Store(true)
		})
	c, err := dial(s, "ops", host.PublicKey(), ssh.Password("pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.NewSession(); err != nil {
		t.Fatal(err)
	}
	<-entered
	s.Close()
	if !ended.Load() {
		t.Fatal("Close returned before the stalled session ended")
	}
	if err := c.Wait(); err == nil {
		t.Fatal("client connection still open after Close")
	}
}

// Ensure a server without a user or host keys is refused rather than open to anyone.
func TestStart_Incomplete(t *testing.T) {
	host := newKey(t)
	for name, cfg := range map[string]sshserver.Config{
		"no user":      {HostKeys: func() []ssh.Signer { return []ssh.Signer{host} }},
		"no host keys": {User: "ops"},
	} {
		if err := sshserver.New(cfg, echoExec).Start(t.Context(), "127.0.0.1:0"); err == nil {
			t.Errorf("%s: started", name)
		}
	}
}
