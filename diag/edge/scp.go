package edge

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"ipsecbot/diag/sshserve"
)

// SCPReceiver is the bot's receive-only SCP endpoint: the Edge pushes capture files to it with
// `debug copy scp`. Each transfer gets one-time credentials (Expect), may write exactly one
// file of at most maxBytes, and only into its own directory. Nothing else is served: no shell,
// no source mode (`scp -f`), no SFTP.
type SCPReceiver struct {
	srv     *sshserve.Server
	hostKey ssh.Signer
	// Timeout bounds one connection from accept to the end of its transfer (default 5 min).
	Timeout time.Duration

	mu      sync.Mutex
	pending map[string]*transfer // by user, until the Edge logs in
	claimed map[string]*transfer // by user, logged in, until its connection serves it
	closed  bool
}

// Result is the outcome of one expected transfer.
type Result struct {
	Path string // the file written, inside the transfer's directory
	Size int64
	Err  error
}

type transfer struct {
	user     string
	password string
	dir      string
	maxBytes int64
	done     chan Result
	once     sync.Once
}

func (t *transfer) finish(r Result) {
	t.once.Do(func() { t.done <- r; close(t.done) })
}

// Errors of a transfer.
var (
	ErrSCPTooLarge = errors.New("file larger than the transfer's size cap")
	ErrSCPPath     = errors.New("path escapes the transfer's directory")
	ErrSCPCanceled = errors.New("transfer canceled")
)

// NewSCPReceiver listens on listen (host:port) with the given host key, on the listener
// handed over for that address if there is one (HandOver).
func NewSCPReceiver(listen string, hostKey ssh.Signer) (*SCPReceiver, error) {
	ln, err := listenSCP(listen)
	if err != nil {
		return nil, fmt.Errorf("scp endpoint: %w", err)
	}
	r := &SCPReceiver{hostKey: hostKey, Timeout: 5 * time.Minute,
		pending: map[string]*transfer{}, claimed: map[string]*transfer{}}
	r.srv = sshserve.Serve(context.Background(), ln, sshserve.Config{
		ServerConfig: r.serverConfig,
		ConnTimeout:  func() time.Duration { return r.Timeout },
		Ended:        r.ended,
	}, r.serve)
	return r, nil
}

// Addr is the address the endpoint listens on.
func (r *SCPReceiver) Addr() string { return r.srv.Addr() }

// HostKey is the endpoint's public host key (the Edge is shown its fingerprint).
func (r *SCPReceiver) HostKey() ssh.PublicKey { return r.hostKey.PublicKey() }

// Expect registers one transfer into dir of at most maxBytes and returns the one-time
// credentials to give the Edge; done yields one Result and is then closed.
func (r *SCPReceiver) Expect(dir string, maxBytes int64) (user, password string, done <-chan Result) {
	t := &transfer{user: "cap-" + randomHex(6), password: randomHex(16), dir: dir, maxBytes: maxBytes, done: make(chan Result, 1)}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		t.finish(Result{Err: ErrClosed})
		return t.user, t.password, t.done
	}
	r.pending[t.user] = t
	r.mu.Unlock()
	return t.user, t.password, t.done
}

// Cancel drops an expected transfer that has not logged in yet; its done yields ErrSCPCanceled.
func (r *SCPReceiver) Cancel(user string) {
	r.mu.Lock()
	t := r.pending[user]
	delete(r.pending, user)
	r.mu.Unlock()
	if t != nil {
		t.finish(Result{Err: ErrSCPCanceled})
	}
}

// Close stops listening, ends open transfers and cancels the pending ones.
func (r *SCPReceiver) Close() error {
	r.mu.Lock()
	r.closed = true
	pending := r.pending
	r.pending = map[string]*transfer{}
	r.mu.Unlock()
	err := r.srv.Close()
	for _, t := range pending {
		t.finish(Result{Err: ErrSCPCanceled})
	}
	return err
}

// serverConfig lets in only a pending transfer's one-time credentials, once each.
func (r *SCPReceiver) serverConfig() *ssh.ServerConfig {
	cfg := &ssh.ServerConfig{
		PasswordCallback: func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if r.claim(c.User(), pw) {
				return nil, nil
			}
			return nil, errors.New("denied")
		},
		MaxAuthTries: 3,
	}
	cfg.AddHostKey(r.hostKey)
	return cfg
}

// claim moves a pending transfer to claimed, once, on the right password.
func (r *SCPReceiver) claim(user string, pw []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.pending[user]
	if t == nil || subtle.ConstantTimeCompare(pw, []byte(t.password)) != 1 {
		return false
	}
	delete(r.pending, user) // one login per credential
	r.claimed[user] = t
	return true
}

// take hands the connection of user its transfer, once; nil for a second session.
func (r *SCPReceiver) take(user string) *transfer {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.claimed[user]
	delete(r.claimed, user)
	return t
}

var noFile = Result{Err: errors.New("connection closed before a file arrived")}

// ended fails the transfer of a connection that logged in and ended without a session.
func (r *SCPReceiver) ended(c *ssh.ServerConn) {
	if t := r.take(c.User()); t != nil {
		t.finish(noFile)
	}
}

// serve runs the one session of a logged-in transfer: an `scp -t` exec, nothing else. The
// connection ends with it.
func (r *SCPReceiver) serve(s sshserve.Session) {
	defer s.SSH.Close()
	defer s.Channel.Close()
	t := r.take(s.SSH.User())
	if t == nil {
		return
	}
	defer t.finish(noFile)
	for req := range s.Requests {
		if req.Type != "exec" {
			_ = req.Reply(false, nil) // no shell, pty, sftp
			continue
		}
		var cmd struct{ Command string }
		if ssh.Unmarshal(req.Payload, &cmd) != nil {
			_ = req.Reply(false, nil)
			continue
		}
		target, ok := sinkTarget(cmd.Command)
		if !ok {
			_ = req.Reply(false, nil)
			continue
		}
		_ = req.Reply(true, nil)
		res := receive(s.Channel, t, target)
		status := uint32(0)
		if res.Err != nil {
			status = 1
		}
		_, _ = s.Channel.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
		t.finish(res)
		return
	}
}

// sinkTarget accepts "scp -t PATH" (with -v, -p, -d, -- among the options) and returns PATH.
// Words are split as the remote shell would split them: on spaces, tabs and newlines only.
func sinkTarget(command string) (string, bool) {
	f := shellWords(command)
	if len(f) < 3 || filepath.Base(f[0]) != "scp" {
		return "", false
	}
	sink := false
	for _, o := range f[1 : len(f)-1] {
		switch o {
		case "-t":
			sink = true
		case "-v", "-p", "-d", "--", "-r":
		default:
			return "", false
		}
	}
	return f[len(f)-1], sink
}

// shellWords splits s on the default IFS of a POSIX shell (space, tab, newline).
func shellWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' })
}

// receive runs the legacy SCP sink protocol for one file.
func receive(ch ssh.Channel, t *transfer, target string) Result {
	fail := func(err error) Result {
		_, _ = ch.Write([]byte("\x02" + err.Error() + "\n"))
		return Result{Err: err}
	}
	ack := func() { _, _ = ch.Write([]byte{0}) }
	br := bufio.NewReader(io.LimitReader(ch, t.maxBytes+4096))
	ack()
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return Result{Err: fmt.Errorf("scp: %w", err)}
		}
		switch line[0] {
		case 'T': // modification times: accepted, not kept
			ack()
			continue
		case 'C':
		default:
			return fail(fmt.Errorf("scp: unsupported message %q", truncate(strings.TrimSpace(line), 40)))
		}
		f := strings.SplitN(strings.TrimSpace(line[1:]), " ", 3)
		if len(f) != 3 {
			return fail(errors.New("scp: bad C line"))
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || size < 0 {
			return fail(errors.New("scp: bad size"))
		}
		if size > t.maxBytes {
			return fail(fmt.Errorf("%w (%d > %d bytes)", ErrSCPTooLarge, size, t.maxBytes))
		}
		path, err := sinkPath(t.dir, target, f[2])
		if err != nil {
			return fail(err)
		}
		out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fail(fmt.Errorf("scp: %w", err))
		}
		ack()
		_, err = io.CopyN(out, br, size)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			var b byte
			if b, err = br.ReadByte(); err == nil && b != 0 {
				err = errors.New("missing end-of-file mark")
			}
		}
		if err != nil {
			os.Remove(path)
			return fail(fmt.Errorf("scp: %w", err))
		}
		ack()
		return Result{Path: path, Size: size}
	}
}

// sinkPath decides where a file lands: the target, or the sent name inside the target
// directory. Either must stay inside dir.
func sinkPath(dir, target, name string) (string, error) {
	if !filepath.IsLocal(name) || name == "." || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("%w: file name %q", ErrSCPPath, name)
	}
	if target == "." || target == "" || strings.HasSuffix(target, "/") {
		target = filepath.Join(target, name)
	}
	// Only a plain file name directly in dir: no subdirectories a symlink could redirect.
	if clean := filepath.Clean(target); !filepath.IsLocal(target) || clean == "." || strings.ContainsAny(clean, `/\`) {
		return "", fmt.Errorf("%w: %q", ErrSCPPath, target)
	}
	return filepath.Join(dir, filepath.Clean(target)), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// waitResult waits for a transfer's result or the end of ctx.
func waitResult(ctx context.Context, done <-chan Result) (Result, error) {
	select {
	case r := <-done:
		return r, r.Err
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}
