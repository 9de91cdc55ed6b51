package lab_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/diag/edge"
	"ipsecbot/diag/nsx"
	"ipsecbot/lab"
	"ipsecbot/lab/peersim"
)

const authFailedMsg = "Version-IKEv2 Authentication Failed.Check the configured secret or local/peer ID configuration."

// startLab starts a scenario in t.TempDir, writes lab.yaml beside its files and loads it back.
func startLab(t *testing.T, opts lab.Options) (*lab.Lab, *config.Config) {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	l, err := lab.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, writeConfig(t, l, filepath.Join(opts.Dir, "lab.yaml"))
}

// writeConfig writes the lab's bot configuration to path and loads it back, valid for diagnose.
func writeConfig(t *testing.T, l *lab.Lab, path string) *config.Config {
	t.Helper()
	if err := l.WriteConfig(path); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(config.NeedDiagnose); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func nsxClient(t *testing.T, cfg *config.Config) *nsx.Client {
	t.Helper()
	m := cfg.Managers[0]
	pw, err := cfg.ManagerPassword(&m)
	if err != nil {
		t.Fatal(err)
	}
	c, err := nsx.New(nsx.Manager{Name: m.Name, URL: m.URL, User: m.User, Password: pw,
		CAFile: cfg.Path(m.CAFile), Timeout: 5 * time.Second, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// dialEdge opens a session to the lab's Edge, closed when the test ends.
func dialEdge(t *testing.T, target edge.Target) *edge.Session {
	t.Helper()
	s, err := edge.Dial(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func edgeTarget(t *testing.T, cfg *config.Config) edge.Target {
	t.Helper()
	e := cfg.Edges[0]
	pw, err := cfg.SSHPassword(e.SSH)
	if err != nil {
		t.Fatal(err)
	}
	return edge.Target{Name: e.Name, Address: e.SSH.Address, User: e.SSH.User, Password: pw,
		KnownHosts: cfg.Path(e.SSH.KnownHosts), ConnectTimeout: 5 * time.Second, CommandTimeout: 5 * time.Second}
}

// Ensure every scenario starts and its content is consistent across the Manager and the
// Edge: statistics decode and agree with `show service ipsec`, documented messages only,
// the Edge's log is non-empty syslog, the capture is a pcap.
func TestStart_EveryScenario(t *testing.T) {
	for _, sc := range lab.AllScenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			l, cfg := startLab(t, lab.Options{Scenario: sc.Name})
			if got := l.Scenario(); got != sc {
				t.Fatalf("Scenario() = %+v", got)
			}
			stats, raw, err := nsxClient(t, cfg).IPsecStatistics(t.Context(), lab.EdgeID)
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) == 0 || len(stats.Sites) != 1 {
				t.Fatalf("statistics: %d sites in %d bytes", len(stats.Sites), len(raw))
			}
			site := stats.Sites[0]
			for _, m := range stats.Messages() {
				if m.Kind == nsx.KindFailure && !strings.HasSuffix(m.Text, ".") {
					t.Errorf("failure message %q is not one of the procedure's", m.Text)
				}
			}
			wantUp := sc.Label == diag.CauseHealthy || sc.Label == diag.CauseESPBlocked ||
				sc.Label == diag.CauseMTUFragmentation || strings.HasSuffix(sc.Name, "flapping")
			if site.Up() != wantUp {
				t.Errorf("site up = %v, want %v", site.Up(), wantUp)
			}

			sess := dialEdge(t, edgeTarget(t, cfg))
			run := func(cmd string) string {
				out, err := sess.Run(t.Context(), cmd)
				if err != nil {
					t.Fatalf("%s: %v", cmd, err)
				}
				return out
			}
			out := run(edge.CmdServiceIPsec)
			st, err := edge.ParseServiceIPsec(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Sites) != 1 || st.Sites[0].Channel.Up() != strings.EqualFold(site.IKEStatus.ChannelStatus, "up") {
				t.Errorf("show service ipsec disagrees with the statistics:\n%s", out)
			}
			if _, err := edge.ParseSA(run(edge.CmdServiceIPsecSA)); err != nil {
				t.Errorf("show service ipsec sa: %v", err)
			}
			if _, err := edge.ParseSP(run(edge.CmdServiceIPsecSP)); err != nil {
				t.Errorf("show service ipsec sp: %v", err)
			}
			if lines, bad := edge.ParseLogText(run(edge.CmdLog)); len(lines) == 0 || bad != 0 {
				t.Errorf("show log: %d lines, %d unreadable", len(lines), bad)
			}
			if len(l.Capture()) < 24 {
				t.Errorf("capture of %d bytes", len(l.Capture()))
			}
		})
	}
}

// Ensure the user story: with only the written files, curl-like HTTPS with basic auth shows
// the authentication failure, ssh reaches the Edge's prompt and `show service ipsec`, and
// the peer answers swanctl over a key login.
func TestUserStory_AuthFailed(t *testing.T) {
	dir := t.TempDir()
	l, cfg := startLab(t, lab.Options{Scenario: "auth_failed", Dir: dir})

	// The Manager over plain net/http, trusting only the written CA.
	m := cfg.Managers[0]
	caPEM, err := os.ReadFile(filepath.Join(dir, m.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA file holds no certificate")
	}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer hc.CloseIdleConnections()
	pw, err := cfg.ManagerPassword(&m)
	if err != nil {
		t.Fatal(err)
	}
	get := func(user, pass string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", m.URL+"/api/4.0/edges/edge-1/ipsec/statistics", nil)
		req.SetBasicAuth(user, pass)
		req.Header.Set("Accept", "application/xml")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(m.User, pw); code != 200 || !strings.Contains(body, "<failureMessage>"+authFailedMsg+"</failureMessage>") {
		t.Errorf("statistics: %d\n%s", code, body)
	}
	if code, _ := get(m.User, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", code)
	}

	// The Edge over plain x/crypto/ssh with the written known_hosts: prompt, then the command.
	e := cfg.Edges[0]
	kh, err := knownhosts.New(cfg.Path(e.SSH.KnownHosts))
	if err != nil {
		t.Fatal(err)
	}
	epw, err := cfg.SSHPassword(e.SSH)
	if err != nil {
		t.Fatal(err)
	}
	out := edgeShell(t, e.SSH.Address, e.SSH.User, epw, kh, "show service ipsec")
	for _, want := range []string{"edge-01-0>", "vShield Edge IPSec Service Status:", "Status: DOWN", authFailedMsg} {
		if !strings.Contains(out, want) {
			t.Errorf("edge shell output lacks %q:\n%s", want, out)
		}
	}

	// The project's own clients.
	s := dialEdge(t, edgeTarget(t, cfg))
	text, err := s.Run(t.Context(), edge.CmdServiceIPsec)
	if err != nil {
		t.Fatal(err)
	}
	st, err := edge.ParseServiceIPsec(text)
	if err != nil {
		t.Fatal(err)
	}
	if ch := st.Sites[0].Channel; ch.Up() || ch.Reason != authFailedMsg || ch.PeerIP != lab.PeerIP {
		t.Errorf("channel = %+v", ch)
	}
	logText, err := s.Run(t.Context(), edge.CmdLog)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logText, "edge-01-0 charon: ") || !strings.Contains(logText, "AUTHENTICATION_FAILED") {
		t.Errorf("show log: %.300q", logText)
	}
	stats, _, err := nsxClient(t, cfg).IPsecStatistics(t.Context(), lab.EdgeID)
	if err != nil {
		t.Fatal(err)
	}
	if msgs := stats.Messages(); len(msgs) != 1 || msgs[0].Text != authFailedMsg ||
		msgs[0].Path != "siteStatistics[1]/tunnelStats[1]/failureMessage" {
		t.Errorf("messages = %+v", msgs)
	}

	// The peer over a key login.
	p := e.Peers[0]
	key, err := os.ReadFile(cfg.Path(p.SSH.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := ssh.Dial("tcp", p.SSH.Address, &ssh.ClientConfig{User: p.SSH.User,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: kh, Timeout: 5 * time.Second,
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ps, err := pc.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	conns, err := ps.Output(peersim.ListConnsCommand)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(conns), "local:  203.0.113.2") || !strings.Contains(string(conns), "remote: 198.51.100.1") {
		t.Errorf("peer list-conns:\n%s", conns)
	}
	_ = l
}

// edgeShell logs in with a PTY, waits for the prompt, runs one command and returns what it saw.
func edgeShell(t *testing.T, addr, user, pw string, kh ssh.HostKeyCallback, cmd string) string {
	t.Helper()
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.Password(pw)},
		HostKeyCallback: kh, HostKeyAlgorithms: []string{ssh.KeyAlgoED25519}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPty("vt100", 1000, 200, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	in, _ := s.StdinPipe()
	r, _ := s.StdoutPipe()
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	var seen strings.Builder
	readUntil := func(prompts int) {
		buf := make([]byte, 4096)
		deadline := time.Now().Add(5 * time.Second)
		for strings.Count(seen.String(), "edge-01-0>") < prompts && time.Now().Before(deadline) {
			n, err := r.Read(buf)
			seen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}
	readUntil(1)
	io.WriteString(in, cmd+"\r")
	readUntil(2)
	return seen.String()
}

// Ensure WriteConfig names the lab's files relative to a config beside them and absolute
// elsewhere, and that both load with every secret readable.
func TestWriteConfig_FileReferences(t *testing.T) {
	l, _ := startLab(t, lab.Options{Scenario: "healthy"})
	for name, dir := range map[string]string{"beside": l.Dir(), "elsewhere": t.TempDir()} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, "bot.yaml")
			cfg := writeConfig(t, l, path)
			e := cfg.Edges[0]
			if filepath.IsAbs(e.SSH.PasswordFile) != (name == "elsewhere") {
				t.Errorf("password_file %q", e.SSH.PasswordFile)
			}
			if _, err := cfg.SSHPassword(e.SSH); err != nil {
				t.Error(err)
			}
			if _, err := cfg.ManagerPassword(&cfg.Managers[0]); err != nil {
				t.Error(err)
			}
			if cfg.Lab == nil || cfg.Lab.Scenario != "healthy" || e.Name != "edge-01" || e.Peers[0].Address != "203.0.113.2" {
				t.Errorf("config = %+v", cfg)
			}
			if _, err := os.Stat(cfg.Path(cfg.Store.Path)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("store file exists (%v): the lab must never open it", err)
			}
			raw, _ := os.ReadFile(path)
			for _, secret := range []string{mustRead(t, cfg.Path(e.SSH.PasswordFile)), mustRead(t, cfg.Path(cfg.Managers[0].PasswordFile))} {
				if strings.Contains(string(raw), strings.TrimSpace(secret)) {
					t.Error("a secret is in the configuration file itself")
				}
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Ensure Listen takes a host or a host:port for the Manager, and refuses nonsense.
func TestStart_Listen(t *testing.T) {
	l, err := lab.Start(t.Context(), lab.Options{Scenario: "healthy", Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if cfg := l.Config(); !strings.HasPrefix(cfg.Managers[0].URL, "https://127.0.0.1:") {
		t.Errorf("manager URL %s", cfg.Managers[0].URL)
	}
	if _, err := lab.Start(t.Context(), lab.Options{Listen: "[bad"}); err == nil {
		t.Error("bad listen address accepted")
	}
}

// Ensure an unknown scenario is refused with the names that exist, and Close removes a
// temporary directory.
func TestStart_Errors(t *testing.T) {
	if _, err := lab.Start(t.Context(), lab.Options{Scenario: "nope"}); err == nil || !strings.Contains(err.Error(), "auth_failed") {
		t.Errorf("err = %v", err)
	}
	l, err := lab.Start(t.Context(), lab.Options{Scenario: "unknown"})
	if err != nil {
		t.Fatal(err)
	}
	dir := l.Dir()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary dir left behind: %v", err)
	}
}

// Ensure Scenarios lists every cause label once (flapping besides), sorted.
func TestScenarios(t *testing.T) {
	seen := map[diag.Cause]bool{}
	var names []string
	for _, s := range lab.Scenarios() {
		names = append(names, s.Name)
		if s.Name != "flapping" {
			if s.Name != string(s.Label) {
				t.Errorf("%s has label %s", s.Name, s.Label)
			}
			seen[s.Label] = true
		}
	}
	for _, c := range diag.Causes {
		if !seen[c] {
			t.Errorf("no scenario for %s", c)
		}
	}
	if len(names) != len(diag.Causes)+1 || !sorted(names) {
		t.Errorf("Scenarios() = %v", names)
	}
	if s, ok := lab.LookupScenario("ikev1-auth_failed"); !ok || s.IKEVersion != 1 || s.Label != diag.CauseAuthFailed {
		t.Errorf("ikev1-auth_failed = %+v, %v", s, ok)
	}
}

func sorted(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}

// BenchmarkStart measures staging a whole lab: content, keys, CA, three listeners, files.
func BenchmarkStart(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		l, err := lab.Start(b.Context(), lab.Options{Scenario: "auth_failed", Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		l.Close()
	}
}
