package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"ipsecbot/config"
	"ipsecbot/handlers/slacktestx"
	"ipsecbot/lab"
	"ipsecbot/store"
)

// syncBuffer is an io.Writer safe to read while the bot writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func signedRequest(t *testing.T, base, secret, body string, ts time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/slack/commands", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = slacktestx.Sign(secret, body, ts)
	return req
}

// Ensure `bot serve --config` with the lab's configuration (plus the Slack keys) answers a
// signed `/ipsec diagnose edge-01` within Slack's deadline, posts the verdict and uploads the
// pcap into its thread on the Slack API it is pointed at, refuses forged and stale requests,
// and stops cleanly on cancel.
func TestServe_DiagnoseAgainstLab(t *testing.T) {
	l, err := lab.Start(t.Context(), lab.Options{Scenario: "auth_failed", Dir: t.TempDir(), CaptureSeconds: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	fake := slacktestx.New(t)

	const secret = "serve-test-signing-secret"
	cfg := l.Config()
	cfg.Slack.Listen = "127.0.0.1:0"
	cfg.Slack.APIURL = fake.APIURL()
	cfg.Slack.BotTokenEnv, cfg.Slack.BotTokenFile = "", "slack-bot-token"
	cfg.Slack.SigningSecretEnv, cfg.Slack.SigningSecretFile = "", "slack-signing-secret"
	cfg.Slack.HealthChannel = "CHEALTH"
	cfg.Schedule = config.Schedule{HealthSweep: "@every 1s", HealthPost: "@every 1s"}
	for name, value := range map[string]string{"slack-bot-token": "xoxb-lab", "slack-signing-secret": secret} {
		if err := os.WriteFile(filepath.Join(l.Dir(), name), []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(l.Dir(), "bot.yaml")
	if err := config.Write(path, cfg); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, &env{stdout: stdout, stderr: stderr, getenv: func(string) string { return "" }}, []string{"serve", "--config", path})
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-exit:
			if code != 0 {
				t.Errorf("bot serve exited %d: %s", code, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("bot serve did not stop within 30 s of cancel")
		}
	}
	t.Cleanup(stop)

	listening := regexp.MustCompile(`listening on (http://\S+)`)
	var base string
	deadline := time.Now().Add(20 * time.Second)
	for base == "" {
		if m := listening.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("bot serve did not start: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	body := url.Values{"command": {"/ipsec"}, "text": {"diagnose edge-01"}, "user_id": {"UOPS"}, "channel_id": {"C1"},
		"response_url": {fake.ResponseURL("serve")}}.Encode()
	for name, req := range map[string]*http.Request{
		"forged": signedRequest(t, base, "wrong-secret", body, time.Now()),
		"stale":  signedRequest(t, base, secret, body, time.Now().Add(-10*time.Minute)),
	} {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s request: HTTP %d, want 401", name, resp.StatusCode)
		}
	}

	start := time.Now()
	resp, err := http.DefaultClient.Do(signedRequest(t, base, secret, body, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	ack, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if took := time.Since(start); resp.StatusCode != http.StatusOK || took > 3*time.Second || !strings.Contains(string(ack), "Diagnosing edge-01 as INC-1") {
		t.Fatalf("ack: HTTP %d after %v: %s", resp.StatusCode, took, ack)
	}

	var root slacktestx.Message
	waitUntil(t, 90*time.Second, "verdict and pcap upload", func() bool {
		found := false
		for _, m := range fake.Messages() {
			if m.Channel == "C1" && m.ThreadTS == "" && strings.Contains(m.Blocks, `"header"`) {
				root, found = m, true
			}
		}
		if !found {
			return false
		}
		for _, u := range fake.Uploads() {
			if u.Filename == "capture.pcap" && u.Completed {
				return true
			}
		}
		return false
	})
	waitUntil(t, 30*time.Second, "the scheduled health post", func() bool {
		for _, m := range fake.Messages() {
			if m.Channel == "CHEALTH" && strings.Contains(m.Blocks, "edge-01: 0 of 1 tunnels up") {
				return true
			}
		}
		return false
	})
	stop() // lets the run finish its uploads (shutdown grace), then stops
	if !strings.Contains(root.Blocks, "auth_failed") {
		t.Errorf("verdict does not name auth_failed: %s", root.Blocks)
	}
	for _, u := range fake.Uploads() {
		if !u.Completed || u.ThreadTS != root.TS || u.Channel != "C1" {
			t.Errorf("upload %s went to %s/%s, want the verdict's thread C1/%s", u.Filename, u.Channel, u.ThreadTS, root.TS)
		}
		if u.Filename == "capture.pcap" && !bytes.HasPrefix(u.Data, []byte{0xd4, 0xc3, 0xb2, 0xa1}) && !bytes.HasPrefix(u.Data, []byte{0xa1, 0xb2, 0xc3, 0xd4}) {
			t.Errorf("capture.pcap is not a pcap: % x", u.Data[:min(8, len(u.Data))])
		}
	}
	db, err := store.Open(filepath.Join(l.Dir(), lab.FileStore), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if audit, _ := db.AuditLog(time.Time{}, time.Now().Add(time.Hour)); len(audit) != 1 || audit[0].Command != "/ipsec diagnose" {
		t.Errorf("audit log = %+v", audit)
	}
}

func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Ensure `bot serve` in Socket Mode connects through the Slack API it is pointed at and
// acknowledges a slash command envelope with the router's reply.
func TestServe_SocketMode(t *testing.T) {
	l, err := lab.Start(t.Context(), lab.Options{Scenario: "healthy", Dir: t.TempDir(), CaptureSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	fake := slacktestx.New(t)
	cfg := l.Config()
	cfg.Slack = config.Slack{Mode: config.SlackSocket, APIURL: fake.APIURL(), BotTokenFile: "slack-bot-token", AppTokenFile: "slack-app-token"}
	for name, value := range map[string]string{"slack-bot-token": "xoxb-lab", "slack-app-token": "xapp-lab"} {
		if err := os.WriteFile(filepath.Join(l.Dir(), name), []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(l.Dir(), "bot.yaml")
	if err := config.Write(path, cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	stderr := &syncBuffer{}
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, &env{stdout: io.Discard, stderr: stderr, getenv: func(string) string { return "" }}, []string{"serve", "--config", path})
	}()
	fake.SendToWebsocket(`{"type":"slash_commands","envelope_id":"env-1","payload":{"command":"/ipsec","text":"help","user_id":"UOPS","channel_id":"C1"}}`)
	select {
	case ack := <-fake.SeenFeed:
		if !strings.Contains(ack, `"envelope_id":"env-1"`) || !strings.Contains(ack, "/ipsec diagnose EDGE") {
			t.Errorf("ack = %s", ack)
		}
	case code := <-exit:
		t.Fatalf("bot serve exited %d: %s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("no acknowledgement: %s", stderr.String())
	}
	cancel()
	if code := <-exit; code != 0 {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}

func TestServe_Usage(t *testing.T) {
	for name, args := range map[string][]string{"no_config": {"serve"}, "extra_argument": {"serve", "--config", "x.yaml", "edge-01"}} {
		t.Run(name, func(t *testing.T) {
			stderr := &syncBuffer{}
			if code := run(t.Context(), &env{stdout: io.Discard, stderr: stderr, getenv: os.Getenv}, args); code != 2 {
				t.Errorf("exit %d, want 2: %s", code, stderr.String())
			}
		})
	}
}
