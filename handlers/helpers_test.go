package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/handlers/slacktestx"
	"ipsecbot/incident"
	"ipsecbot/store"
)

const testSecret = "test-signing-secret"

// checkLeaks fails the test if goroutines outlive it. Registered first, it runs after every
// other cleanup (servers closed, bot shut down).
func checkLeaks(t *testing.T, opts ...goleak.Option) {
	// Goroutines from earlier tests (slacktest's WebSocket writer never ends) are not this test's.
	opts = append(opts, goleak.IgnoreCurrent())
	t.Cleanup(func() {
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		goleak.VerifyNone(t, opts...)
	})
}

// testBot is a Server on a real bbolt file, talking to a fake Slack, behind a real HTTP server.
type testBot struct {
	t     testing.TB
	slack *slacktestx.Server
	srv   *Server
	http  *httptest.Server
	db    *store.DB
	cfg   *config.Config
	dir   string
	down  bool
}

func testConfig(dir string) *config.Config {
	return &config.Config{
		Dir:   dir,
		Store: config.Store{Path: filepath.Join(dir, "bot.db")},
		Slack: config.Slack{Mode: "http", Listen: "127.0.0.1:0", Oncall: []string{"SONCALL", "UPAGER"}},
		Access: config.Access{
			Diagnose: []string{"UOPS", "SNETOPS", "CWARROOM"}, Capture: []string{"UOPS"},
			Resolve: []string{"UOPS"}, Escalate: []string{"UOPS"},
		},
		Edges: []config.Edge{{Name: "edge-01"}, {Name: "edge-02"}, {Name: "branch-edge"}},
	}
}

// newTestBot starts a bot on testConfig(dir) with engine; the store file may be reused
// across bots in one test by passing the same dir.
func newTestBot(t testing.TB, dir string, engine Diagnoser, fake *slacktestx.Server) *testBot {
	t.Helper()
	cfg := testConfig(dir)
	db, err := store.Open(cfg.Store.Path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return startBot(t, cfg, incident.New(db, incident.Options{}), engine, fake)
}

// startBot serves cfg with the incidents (and their store) and engine against fake (a new fake
// Slack when nil).
// opts change the server's options before it starts.
func startBot(t testing.TB, cfg *config.Config, incidents *incident.Lifecycle, engine Diagnoser, fake *slacktestx.Server, opts ...func(*Options)) *testBot {
	t.Helper()
	if fake == nil {
		fake = slacktestx.New(t)
	}
	db := incidents.Store()
	if f, ok := engine.(interface{ useIncidents(*incident.Lifecycle) }); ok {
		f.useIncidents(incidents)
	}
	if cfg.Slack.APIURL == "" {
		cfg.Slack.APIURL = fake.APIURL() // its response_urls are on the fake, as a deployment's are on its api_url
	}
	o := Options{
		Config: cfg, Store: db, Incidents: incidents, Engine: engine, Slack: NewSlackClient("xoxb-test", "xapp-test", fake.APIURL(), 10*time.Second),
		SigningSecret: testSecret, Retry: RetryPolicy{MaxAttempts: 3, MaxRetryAfter: 5 * time.Second, Backoff: 10 * time.Millisecond},
		Status: func(ctx context.Context, edge string) ([]Tunnel, error) {
			return []Tunnel{{Site: "branch-fw", Tunnel: "10.0.1.0/24 <-> 10.0.2.0/24", State: "down", Detail: "Authentication Failed"}}, nil
		},
		ShutdownGrace: 50 * time.Millisecond,
	}
	for _, opt := range opts {
		opt(&o)
	}
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	b := &testBot{t: t, slack: fake, srv: srv, http: httptest.NewServer(srv.Handler()), db: db, cfg: cfg, dir: cfg.Dir}
	t.Cleanup(b.stop)
	return b
}

// stop shuts the bot down the way SIGTERM does and closes its store.
func (b *testBot) stop() {
	if b.down {
		return
	}
	b.down = true
	b.http.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.srv.Shutdown(ctx); err != nil {
		b.t.Errorf("shutdown: %v", err)
	}
	if err := b.db.Close(); err != nil {
		b.t.Errorf("close store: %v", err)
	}
}

// sign returns Slack's signature headers for body at time ts with secret.
func sign(secret, body string, ts time.Time) http.Header { return slacktestx.Sign(secret, body, ts) }

// triggers numbers the test requests: like Slack's trigger_id, it makes every request's body
// (and so its signature) unique, so the replay guard tells a repeat from a new command.
var triggers atomic.Int64

func commandForm(fake *slacktestx.Server, user, channel, text string) string {
	return url.Values{
		"command": {"/ipsec"}, "text": {text}, "user_id": {user}, "channel_id": {channel},
		"team_id": {"T1"}, "response_url": {fake.ResponseURL("cmd")}, "trigger_id": {fmt.Sprintf("1.2.%d", triggers.Add(1))},
	}.Encode()
}

// post sends body to path with the given headers and returns status and response body.
func (b *testBot) post(path, body string, h http.Header) (int, string) {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodPost, b.http.URL+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// command sends a correctly signed /ipsec command and decodes the acknowledgement.
// ackBody is an acknowledgement as a test reads it.
type ackBody struct {
	ResponseType string          `json:"response_type"`
	Text         string          `json:"text"`
	Blocks       json.RawMessage `json:"blocks"`
}

func (b *testBot) command(user, channel, text string) ackBody {
	b.t.Helper()
	body := commandForm(b.slack, user, channel, text)
	code, resp := b.post("/slack/commands", body, sign(testSecret, body, time.Now()))
	if code != http.StatusOK {
		b.t.Fatalf("/ipsec %s: HTTP %d %s", text, code, resp)
	}
	var r ackBody
	if err := json.Unmarshal([]byte(resp), &r); err != nil {
		b.t.Fatalf("/ipsec %s: reply %q: %v", text, resp, err)
	}
	return r
}

// press sends a signed block_actions payload for one button.
func (b *testBot) press(user, channel, actionID, value, messageTS string) int {
	b.t.Helper()
	payload := map[string]any{
		"type": "block_actions", "user": map[string]string{"id": user}, "channel": map[string]string{"id": channel},
		"response_url": b.slack.ResponseURL("action"), "container": map[string]string{"message_ts": messageTS},
		"trigger_id": fmt.Sprintf("1.2.%d", triggers.Add(1)),
		"actions":    []map[string]string{{"action_id": actionID, "block_id": "verdict_actions", "value": value, "type": "button"}},
	}
	js, _ := json.Marshal(payload)
	body := url.Values{"payload": {string(js)}}.Encode()
	code, _ := b.post("/slack/interactive", body, sign(testSecret, body, time.Now()))
	return code
}

// auditLog flushes nothing itself: it polls until want records exist or the deadline passes.
func (b *testBot) auditLog(want int) []store.AuditRecord {
	b.t.Helper()
	var recs []store.AuditRecord
	waitFor(b.t, "audit records", func() bool {
		var err error
		recs, err = b.db.AuditLog(time.Time{}, time.Now().Add(time.Hour))
		return err == nil && len(recs) >= want
	})
	return recs
}

// waitFor polls cond until it holds, failing after 20 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fakeEngine writes a report's artifacts, reports steps and records the verdict, like the
// real engine does, without a lab: for tests where the procedure is not the point.
type fakeEngine struct {
	cause     diag.Cause
	err       error               // when set, Execute fails with it after the first step
	gate      chan struct{}       // when set, Execute waits for it (or ctx) before finishing
	incidents *incident.Lifecycle // the bot's (startBot sets it)

	mu    sync.Mutex
	calls []diag.Request
}

func (f *fakeEngine) useIncidents(l *incident.Lifecycle) { f.incidents = l }

func (f *fakeEngine) Execute(ctx context.Context, claimed *incident.Run, req diag.Request, listeners ...diag.Listener) (*diag.Report, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	f.mu.Unlock()
	claimed.Listen(listeners...)
	emit := func(ev diag.Event) {
		ev.Edge, ev.Incident, ev.Time = req.Edge, req.Incident, time.Now()
		claimed.Emit(ev)
	}
	started := time.Now()
	emit(diag.Event{Kind: diag.EventStarted, Total: 2})
	emit(diag.Event{Kind: diag.EventStepStarted, Step: "show_ipsec", Title: "show service ipsec", Index: 1, Total: 2})
	emit(diag.Event{Kind: diag.EventStepFinished, Step: "show_ipsec", Title: "show service ipsec", Index: 1, Total: 2, Summary: "tunnel down",
		Result: &diag.StepResult{Name: "show_ipsec", Status: diag.StepOK, Duration: 400 * time.Millisecond}})
	if f.err != nil {
		return nil, f.err
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	pcap, err := os.ReadFile("testdata/psk_mismatch.pcap")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(req.OutDir, 0o755); err != nil {
		return nil, err
	}
	files := map[string][]byte{"capture.pcap": pcap, "report.md": []byte("# report\n"), "show/ipsec.txt": []byte("show service ipsec\n")}
	var arts []diag.Artifact
	for name, data := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(req.OutDir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(req.OutDir, name), data, 0o644); err != nil {
			return nil, err
		}
		kind := map[string]string{"capture.pcap": "pcap", "report.md": "report", "show/ipsec.txt": "show"}[name]
		arts = append(arts, diag.Artifact{Name: name, Kind: kind, Size: int64(len(data))})
	}
	emit(diag.Event{Kind: diag.EventStepFinished, Step: "capture", Title: "IKE capture", Index: 2, Total: 2, Summary: "26 packets"})
	rep := &diag.Report{
		Verdict: diag.Verdict{Cause: f.cause, IKEVersion: 2, Confidence: 0.95, Summary: "IKEv2 authentication failed: pre-shared key or ID mismatch",
			Evidence:    []diag.Evidence{{Source: "log", Ref: "logs/edge.log:171", Text: "received AUTHENTICATION_FAILED notify error"}},
			Remediation: []string{"Compare the PSK on both gateways"}},
		Edge: req.Edge, Incident: req.Incident, Started: started, Finished: time.Now(), Artifacts: arts,
	}
	if _, err := f.incidents.EndDiagnosis(req.Incident, store.StatusOpen, incident.Bot, "", incident.Finding(string(rep.Cause), rep.Summary)); err != nil {
		return nil, err
	}
	emit(diag.Event{Kind: diag.EventFinished, Report: rep})
	return rep, nil
}

var storeAll = store.IncidentFilter{}

// reopen opens a stopped bot's store again for inspection.
func reopen(t *testing.T, b *testBot) *store.DB {
	t.Helper()
	db, err := store.Open(b.db.Path(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// waitIdle waits until no diagnosis is running in the bot (its Slack side included).
func (b *testBot) waitIdle() {
	b.t.Helper()
	waitFor(b.t, "runs to finish", func() bool { return b.srv.incidents.Idle() })
}
