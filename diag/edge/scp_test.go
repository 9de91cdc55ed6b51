package edge_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"ipsecbot/diag/edge"
)

// push is a minimal legacy-SCP source: it logs in with user/password and sends one file.
// It returns the sink's refusal (if any) as an error.
func push(t *testing.T, addr, user, password, target, name string, data []byte, declared int64) error {
	t.Helper()
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // the test's own endpoint
	})
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	w, _ := s.StdinPipe()
	out, _ := s.StdoutPipe()
	r := bufio.NewReader(out)
	if err := s.Start("scp -t " + target); err != nil {
		return err
	}
	ack := func() error {
		b, err := r.ReadByte()
		if err != nil {
			return err
		}
		if b != 0 {
			msg, _ := r.ReadString('\n')
			return errors.New(strings.TrimSpace(msg))
		}
		return nil
	}
	if err := ack(); err != nil {
		return err
	}
	fmt.Fprintf(w, "C0600 %d %s\n", declared, name)
	if err := ack(); err != nil {
		return err
	}
	w.Write(append(data, 0))
	if err := ack(); err != nil {
		return err
	}
	w.Close()
	return s.Wait()
}

func newReceiver(t *testing.T) *edge.SCPReceiver {
	t.Helper()
	r, err := edge.NewSCPReceiver("127.0.0.1:0", newSigner(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestSCPReceiverWritesOneFile(t *testing.T) {
	r := newReceiver(t)
	dir := t.TempDir()
	user, pw, done := r.Expect(dir, 1024)
	data := []byte("pcap bytes")
	if err := push(t, r.Addr(), user, pw, "capture.pcap", "tcpdump_vNic_0.0", data, int64(len(data))); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.Err != nil || res.Path != filepath.Join(dir, "capture.pcap") || res.Size != int64(len(data)) {
		t.Fatalf("result %+v", res)
	}
	got, _ := os.ReadFile(res.Path)
	if string(got) != string(data) {
		t.Errorf("file holds %q", got)
	}
	// The credentials were for one login only.
	if err := push(t, r.Addr(), user, pw, "again.pcap", "x", data, int64(len(data))); err == nil {
		t.Error("second login with one-time credentials accepted")
	}
}

func TestSCPReceiverRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		target, file string
		declared     int64
		want         error
	}{
		"dotdot-target":   {"../escape.pcap", "x", 4, edge.ErrSCPPath},
		"absolute-target": {"/tmp/escape.pcap", "x", 4, edge.ErrSCPPath},
		"subdir-target":   {"sub/x.pcap", "x", 4, edge.ErrSCPPath},
		"dotdot-name":     {".", "../escape.pcap", 4, edge.ErrSCPPath},
		"over-cap":        {"big.pcap", "x", 1 << 20, edge.ErrSCPTooLarge},
	} {
		t.Run(name, func(t *testing.T) {
			r := newReceiver(t)
			dir := filepath.Join(t.TempDir(), "incident")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			user, pw, done := r.Expect(dir, 1024)
			if err := push(t, r.Addr(), user, pw, tc.target, tc.file, []byte("data"), tc.declared); err == nil {
				t.Fatal("push accepted")
			}
			if res := <-done; !errors.Is(res.Err, tc.want) {
				t.Errorf("result %+v, want %v", res, tc.want)
			}
			entries, _ := os.ReadDir(filepath.Dir(dir))
			inner, _ := os.ReadDir(dir)
			if len(entries) != 1 || len(inner) != 0 {
				t.Errorf("files written: %v %v", entries, inner)
			}
		})
	}
}

func TestSCPReceiverWrongPasswordAndCancel(t *testing.T) {
	r := newReceiver(t)
	user, _, done := r.Expect(t.TempDir(), 1024)
	if err := push(t, r.Addr(), user, "guess", "x.pcap", "x", []byte("data"), 4); err == nil {
		t.Fatal("wrong password accepted")
	}
	r.Cancel(user)
	if res := <-done; !errors.Is(res.Err, edge.ErrSCPCanceled) {
		t.Errorf("after cancel: %+v", res)
	}
}

func TestSCPReceiverTruncatedTransfer(t *testing.T) {
	r := newReceiver(t)
	dir := t.TempDir()
	user, pw, done := r.Expect(dir, 1024)
	c, err := ssh.Dial("tcp", r.Addr(), &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.Password(pw)}, HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := c.NewSession()
	w, _ := s.StdinPipe()
	out, _ := s.StdoutPipe()
	if err := s.Start("scp -t part.pcap"); err != nil {
		t.Fatal(err)
	}
	io.ReadFull(out, make([]byte, 1))
	fmt.Fprintf(w, "C0600 100 x\n")
	io.ReadFull(out, make([]byte, 1))
	w.Write([]byte("only ten b"))
	c.Close() // the Edge's connection dies mid-file
	if res := <-done; res.Err == nil {
		t.Fatalf("truncated transfer succeeded: %+v", res)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("partial file kept: %v", entries)
	}
}
