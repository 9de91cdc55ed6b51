package edge_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/crypto/ssh"

	"ipsecbot/diag/edge"
	"ipsecbot/lab/edgesim"
)

func TestHangEndsWithTimeoutNamingEdgeAndCommand(t *testing.T) {
	_, target := startEdge(t, func(c *edgesim.Config) {
		c.Faults = edgesim.Faults{HangAfterBytes: 120, HangCommand: edge.CmdServiceIPsecSA}
	})
	target.CommandTimeout = time.Second
	s := dial(t, target)
	start := time.Now()
	_, err := s.Run(t.Context(), edge.CmdServiceIPsecSA)
	elapsed := time.Since(start)
	te, ok := errors.AsType[*edge.TimeoutError](err)
	if !ok {
		t.Fatalf("got %v, want *edge.TimeoutError", err)
	}
	if te.Edge != "edge-01" || te.Command != edge.CmdServiceIPsecSA {
		t.Errorf("timeout names %q / %q", te.Edge, te.Command)
	}
	if !strings.Contains(err.Error(), "edge-01") || !strings.Contains(err.Error(), edge.CmdServiceIPsecSA) {
		t.Errorf("message %q does not name edge and command", err)
	}
	// The call is bounded by the command timeout (interrupt and resync included); the slack
	// only absorbs scheduling on a loaded machine.
	if elapsed > target.CommandTimeout+5*time.Second {
		t.Errorf("returned after %v, timeout %v", elapsed, target.CommandTimeout)
	}
	// This Edge ignores Ctrl-C while hung, so the session was closed rather than resynced.
	if _, err := s.Run(t.Context(), edge.CmdServiceIPsec); !errors.Is(err, edge.ErrClosed) {
		t.Errorf("after an unrecoverable hang: %v, want ErrClosed", err)
	}
}

func TestChangedHostKeyRefused(t *testing.T) {
	e, target := startEdge(t, func(c *edgesim.Config) { c.Faults.ChangedHostKey = true })
	_, err := edge.Dial(t.Context(), target)
	hk, ok := errors.AsType[*edge.HostKeyError](err)
	if !ok || !hk.Changed || !errors.Is(err, edge.ErrHostKeyChanged) {
		t.Fatalf("got %v, want a changed-host-key error", err)
	}
	if hk.Host != e.Addr() || !strings.HasPrefix(hk.Fingerprint, "SHA256:") || hk.Fingerprint == ssh.FingerprintSHA256(e.HostKey()) {
		t.Errorf("error names host %q fingerprint %q", hk.Host, hk.Fingerprint)
	}
	if !strings.Contains(err.Error(), e.Addr()) || !strings.Contains(err.Error(), hk.Fingerprint) {
		t.Errorf("message %q lacks host or fingerprint", err)
	}
}

func TestUnknownHostKeyRefused(t *testing.T) {
	_, target := startEdge(t, nil)
	target.KnownHosts = filepath.Join(t.TempDir(), "empty_known_hosts")
	if err := os.WriteFile(target.KnownHosts, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := edge.Dial(t.Context(), target)
	if !errors.Is(err, edge.ErrHostKeyUnknown) {
		t.Fatalf("got %v, want ErrHostKeyUnknown", err)
	}
}

func TestInsecureIgnoreHostKeyIsExplicit(t *testing.T) {
	_, target := startEdge(t, func(c *edgesim.Config) { c.Faults.ChangedHostKey = true })
	target.KnownHosts = ""
	if _, err := edge.Dial(t.Context(), target); err == nil {
		t.Fatal("dial without known_hosts and without the insecure flag succeeded")
	}
	target.InsecureIgnoreHostKey = true
	s, err := edge.Dial(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestWrongPasswordNamedPlainly(t *testing.T) {
	_, target := startEdge(t, nil)
	target.Password = "not-the-password"
	_, err := edge.Dial(t.Context(), target)
	if !errors.Is(err, edge.ErrAuth) {
		t.Fatalf("got %v, want ErrAuth", err)
	}
	if !strings.Contains(err.Error(), "wrong password") || !strings.Contains(err.Error(), "edge-01") {
		t.Errorf("message %q", err)
	}
}

func TestWrongEnablePassword(t *testing.T) {
	_, target := startEdge(t, nil)
	target.EnablePassword = "not-the-enable-password"
	s := dial(t, target)
	if _, err := s.Run(t.Context(), "debug show files"); !errors.Is(err, edge.ErrAuth) {
		t.Fatalf("got %v, want ErrAuth", err)
	}
	// Show commands still work at the > prompt.
	if _, err := s.Run(t.Context(), edge.CmdServiceIPsec); err != nil {
		t.Fatal(err)
	}
}

func TestKeyAuth(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	_, target := startEdge(t, func(c *edgesim.Config) { c.AuthorizedKeys = []ssh.PublicKey{signer.PublicKey()} })
	target.Password, target.KeyFile, target.EnablePassword = "", keyFile, labPassword
	s := dial(t, target)
	if _, err := s.Run(t.Context(), "debug show files"); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownCommandIsEdgeError(t *testing.T) {
	_, target := startEdge(t, nil)
	s := dial(t, target)
	out, err := s.Run(t.Context(), "show service ipsec cacerts")
	if !errors.Is(err, edge.ErrCommand) || !strings.HasPrefix(out, "% ") {
		t.Fatalf("got %q, %v; want the Edge's error text and ErrCommand", out, err)
	}
	if _, err := s.Run(t.Context(), "show service ipsec\rreboot"); !errors.Is(err, edge.ErrInvalidArgument) {
		t.Errorf("a command with a carriage return: %v", err)
	}
}

func TestPagerByRows(t *testing.T) {
	var log strings.Builder
	for i := range 95 {
		fmt.Fprintf(&log, "2026-11-27T04:%02d:%02d.000Z edge-01 charon[2211]: 07[IKE] <s2s|1> line %d\n", i/60, i%60, i)
	}
	_, target := startEdge(t, func(c *edgesim.Config) { c.Log = log.String() })
	target.TermRows = 10
	s := dial(t, target)
	out, err := s.Run(t.Context(), edge.CmdLog)
	if err != nil {
		t.Fatal(err)
	}
	if out != log.String() {
		t.Errorf("paged output differs from the log:\n%q", out)
	}
	lines, bad := edge.ParseLogText(out)
	if len(lines) != 95 || bad != 0 {
		t.Errorf("parsed %d lines, %d bad", len(lines), bad)
	}
}

func TestDroppedConnection(t *testing.T) {
	_, target := startEdge(t, func(c *edgesim.Config) { c.Faults.DropAfterCommands = 1 })
	s := dial(t, target)
	if _, err := s.Run(t.Context(), edge.CmdServiceIPsec); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(t.Context(), edge.CmdServiceIPsecSA); !errors.Is(err, edge.ErrClosed) {
		t.Fatalf("after the Edge dropped the connection: %v, want ErrClosed", err)
	}
}

func TestCancelClosesSessionWithoutLeaks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	e, target := startEdge(t, func(c *edgesim.Config) {
		c.Faults = edgesim.Faults{HangAfterBytes: 50, HangCommand: edge.CmdServiceIPsecSA}
	})
	target.CommandTimeout = time.Minute
	ctx, cancel := context.WithCancel(t.Context())
	s, err := edge.Dial(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = s.Run(ctx, edge.CmdServiceIPsecSA)
	if !errors.Is(err, edge.ErrClosed) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want ErrClosed and context.Canceled", err)
	}
	if _, err := s.Run(t.Context(), edge.CmdServiceIPsec); !errors.Is(err, edge.ErrClosed) {
		t.Errorf("session still usable after cancel: %v", err)
	}
	s.Close()
	e.Close()
}

func TestCancelDialContextClosesSession(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	e, target := startEdge(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	s, err := edge.Dial(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := s.Run(t.Context(), edge.CmdServiceIPsec)
		if errors.Is(err, edge.ErrClosed) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("session not closed after its context ended: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Close()
	e.Close()
}

// TestHostKeyAlgorithmFromKnownHosts: the Edge offers ECDSA and ed25519, known_hosts has only
// the ed25519 key. x/crypto would prefer ECDSA and report a mismatch; the session asks for the
// type on file instead (docs/libraries.md §2a).
func TestHostKeyAlgorithmFromKnownHosts(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecSigner, err := ssh.NewSignerFromKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	_, target := startEdge(t, func(c *edgesim.Config) { c.ExtraHostKeys = []ssh.Signer{ecSigner} })
	s, err := edge.Dial(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestKeepalivesKeepSessionUsable(t *testing.T) {
	_, target := startEdge(t, nil)
	target.Keepalive = 5 * time.Millisecond
	s := dial(t, target)
	time.Sleep(60 * time.Millisecond) // several keepalive round trips
	if _, err := s.Run(t.Context(), edge.CmdServiceIPsec); err != nil {
		t.Fatal(err)
	}
}
