package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ipsecbot/config"
	"ipsecbot/diag/edge"
	"ipsecbot/diag/nsx"
)

const labAuthFailed = "Version-IKEv2 Authentication Failed.Check the configured secret or local/peer ID configuration."

// lockedBuffer is a bytes.Buffer safe to read while the command still writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitForFile polls until path exists: `bot lab` writes its config only once it listens.
func waitForFile(t *testing.T, path string, exited <-chan struct{}) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case <-exited:
			t.Fatal("bot lab exited before writing its configuration")
		case <-deadline:
			t.Fatalf("%s not written", path)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// checkLabConfig loads the written configuration and, with nothing else, reaches the lab's
// Manager (statistics show the authentication failure) and its Edge (show service ipsec).
// Every listener must already be up: no retries.
func checkLabConfig(t *testing.T, path string) {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(config.NeedDiagnose); err != nil {
		t.Fatal(err)
	}
	m := cfg.Managers[0]
	pw, err := cfg.ManagerPassword(&m)
	if err != nil {
		t.Fatal(err)
	}
	c, err := nsx.New(nsx.Manager{Name: m.Name, URL: m.URL, User: m.User, Password: pw, CAFile: cfg.Path(m.CAFile),
		Timeout: 10 * time.Second, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stats, _, err := c.IPsecStatistics(t.Context(), cfg.Edges[0].EdgeID)
	if err != nil {
		t.Fatal(err)
	}
	if msgs := stats.Messages(); len(msgs) == 0 || msgs[0].Text != labAuthFailed {
		t.Errorf("statistics messages = %+v", msgs)
	}
	e := cfg.Edges[0]
	epw, err := cfg.SSHPassword(e.SSH)
	if err != nil {
		t.Fatal(err)
	}
	s, err := edge.Dial(t.Context(), edge.Target{Name: e.Name, Address: e.SSH.Address, User: e.SSH.User, Password: epw,
		KnownHosts: cfg.Path(e.SSH.KnownHosts), ConnectTimeout: 10 * time.Second, CommandTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Run(t.Context(), edge.CmdServiceIPsec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Status: DOWN Reason: "+labAuthFailed) {
		t.Errorf("show service ipsec:\n%s", out)
	}
}

// Ensure `bot lab --write-config` in-process writes a working configuration, prints where the
// lab listens, and stops cleanly (exit 0) when interrupted.
func TestLab_WriteConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lab.yaml")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr lockedBuffer
	exited := make(chan struct{})
	var code int
	go func() {
		defer close(exited)
		code = run(ctx, &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }},
			[]string{"lab", "--scenario", "auth_failed", "--write-config", path})
	}()
	waitForFile(t, path, exited)
	checkLabConfig(t, path)
	for _, want := range []string{"NSX Manager API: https://127.0.0.1:", "Edge edge-01 SSH: 127.0.0.1:", "known_hosts: ", "config: " + path} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	cancel()
	<-exited
	if code != 0 {
		t.Errorf("exit status %d, stderr %q", code, stderr.String())
	}
}

// Ensure bad invocations are usage errors (exit 2) with one clear line.
func TestLab_UsageErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"unknown-scenario": {"lab", "--scenario", "nope"},
		"positional":       {"lab", "extra"},
		"unknown-flag":     {"lab", "--nope"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runBot(t, args...)
			if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "bot lab: ") {
				t.Errorf("code %d, stderr %q", code, stderr)
			}
		})
	}
}

// labProcess is `bot lab` running as a separate process.
type labProcess struct {
	cmd            *exec.Cmd
	config         string // the configuration it wrote
	stdout, stderr *lockedBuffer
	exited         chan struct{}
	waitErr        error // cmd.Wait's, once exited is closed
}

// startLabProcess builds the bot, starts `bot lab` on scenario and waits for its
// configuration. Cleanup interrupts it (killing it after 20s) if the test has not. Skips in
// -short mode and without the go command.
func startLabProcess(t *testing.T, scenario string) *labProcess {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bot")
	if out, err := exec.CommandContext(t.Context(), gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	p := &labProcess{config: filepath.Join(dir, "lab", "lab.yaml"), stdout: &lockedBuffer{}, stderr: &lockedBuffer{},
		exited: make(chan struct{})}
	if err := os.Mkdir(filepath.Dir(p.config), 0o700); err != nil {
		t.Fatal(err)
	}
	// The capture endpoint's socket is bound here and handed to the bot this test runs in
	// process, so no port is freed for a later bind.
	scp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	edge.HandOver(scp)
	t.Cleanup(func() {
		if edge.Withdraw(scp) {
			scp.Close()
		}
	})
	p.cmd = exec.Command(bin, "lab", "--scenario", scenario, "--write-config", p.config, "--scp-listen", scp.Addr().String())
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.waitErr = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
			return
		default:
		}
		p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.exited:
		case <-time.After(20 * time.Second):
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	waitForFile(t, p.config, p.exited)
	return p
}

// Ensure the lab works as a separate process: build the binary, start `bot lab`, wait for
// the configuration, talk to the lab over HTTPS and SSH, interrupt it.
func TestLab_SeparateProcess(t *testing.T) {
	p := startLabProcess(t, "auth_failed")
	checkLabConfig(t, p.config)
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("bot lab did not stop on interrupt")
	}
	if p.waitErr != nil {
		t.Errorf("bot lab after interrupt: %v, stderr %q", p.waitErr, p.stderr.String())
	}
	if !strings.Contains(p.stdout.String(), "running until interrupted") {
		t.Errorf("stdout:\n%s", p.stdout.String())
	}
}
