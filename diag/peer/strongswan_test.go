package peer

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"ipsecbot/diag/edge"
	"ipsecbot/lab/peersim"
	"ipsecbot/lab/sshserver"
)

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	s, err := sshserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startPeer runs the lab's strongSwan peer with fixture content and returns a target for it
// whose known_hosts file holds knownKey (the peer's own key unless a test says otherwise).
func startPeer(t *testing.T, faults peersim.Faults, knownKey ssh.PublicKey) (*peersim.Peer, SSHTarget) {
	t.Helper()
	hostKey := newSigner(t)
	p, err := peersim.Start(t.Context(), "127.0.0.1:0", peersim.Config{
		User: "ops", Password: "lab-pass", HostKey: hostKey,
		ListConns: readTestdata(t, "list-conns-ikev2-healthy.txt"),
		ListSAs:   readTestdata(t, "list-sas-ikev2-healthy.txt"),
		Log:       readTestdata(t, "peerB-charon-ikev2-healthy.log"),
		Faults:    faults,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if knownKey == nil {
		knownKey = hostKey.PublicKey()
	}
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(p.Addr())}, knownKey)
	if err := os.WriteFile(kh, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p, SSHTarget{Name: "branch-fw", Address: p.Addr(), User: "ops", Password: "lab-pass", KnownHosts: kh,
		ConnectTimeout: 5 * time.Second, CommandTimeout: 5 * time.Second}
}

func TestStrongSwan_OverSSH(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // runs last, after the peer is closed
	_, target := startPeer(t, peersim.Faults{}, nil)
	d := &StrongSwan{Exec: NewSSHExec(target), EdgeAddr: netip.MustParseAddr("192.0.2.2")}
	defer d.Close()
	ctx := t.Context()

	var logs bytes.Buffer
	if err := d.Logs(ctx, &logs); err != nil {
		t.Fatal(err)
	}
	if logs.String() != readTestdata(t, "peerB-charon-ikev2-healthy.log") {
		t.Errorf("logs differ from what the peer holds (%d bytes)", logs.Len())
	}
	s, err := d.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.IKEVersion != "ikev2" || s.AuthMode != "psk" || s.LocalID != "192.0.2.1" ||
		!slices.Equal(s.Encryption, []string{"aes256"}) || !slices.Equal(s.DHGroup, []string{"dh14"}) ||
		!strings.Contains(s.Source, "swanctl --list-sas") {
		t.Errorf("settings = %+v", s)
	}
	sas, err := d.SAs(ctx)
	if err != nil || !strings.Contains(sas, "ESTABLISHED") {
		t.Errorf("SAs = %q, %v", sas, err)
	}
}

func TestStrongSwan_UnknownHostKeyRefused(t *testing.T) {
	_, target := startPeer(t, peersim.Faults{}, newSigner(t).PublicKey())
	d := &StrongSwan{Exec: NewSSHExec(target)}
	defer d.Close()
	_, err := d.SAs(t.Context())
	if !errors.Is(err, edge.ErrHostKeyChanged) {
		t.Fatalf("err = %v, want a changed host key refused", err)
	}
}

func TestStrongSwan_HangTimesOut(t *testing.T) {
	_, target := startPeer(t, peersim.Faults{HangAfterBytes: 10}, nil)
	target.CommandTimeout = 300 * time.Millisecond
	d := &StrongSwan{Exec: NewSSHExec(target)}
	defer d.Close()
	var buf bytes.Buffer
	err := d.Logs(t.Context(), &buf)
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") || !strings.Contains(err.Error(), "branch-fw") {
		t.Fatalf("err = %v, want a timeout naming the peer", err)
	}
}

func TestStatic(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "peer.log")
	os.WriteFile(log, []byte("Jun  8 00:59:20 fw charon: 07[IKE] DPD check timed out, enforcing DPD action\n"), 0o600)
	s := &Static{LogPath: log}
	var buf bytes.Buffer
	if err := s.Logs(t.Context(), &buf); err != nil || !strings.Contains(buf.String(), "DPD check") {
		t.Fatalf("Logs = %q, %v", buf.String(), err)
	}
	if _, err := s.Settings(t.Context()); !errors.Is(err, ErrNotSupported) {
		t.Errorf("Settings err = %v", err)
	}
	if _, err := s.SAs(t.Context()); !errors.Is(err, ErrNotSupported) {
		t.Errorf("SAs err = %v", err)
	}
	if err := (&Static{}).Logs(t.Context(), &buf); !errors.Is(err, ErrNotSupported) {
		t.Errorf("Logs without file err = %v", err)
	}
}
