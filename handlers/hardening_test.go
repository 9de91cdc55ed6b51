package handlers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"ipsecbot/diag"
	"ipsecbot/incident"
	"ipsecbot/store"
)

// Ensure a validly signed command sent three times makes one incident and one engine call:
// the repeats are refused (409), and Slack's retry of it is answered 200 without acting.
func TestHTTP_ReplayedCommandActsOnce(t *testing.T) {
	checkLeaks(t)
	eng := &fakeEngine{cause: "auth_failed"}
	b := newTestBot(t, t.TempDir(), eng, nil)
	body := commandForm(b.slack, "UOPS", "C1", "diagnose edge-01")
	h := sign(testSecret, body, time.Now())
	if code, resp := b.post("/slack/commands", body, h); code != http.StatusOK || !strings.Contains(resp, "INC-1") {
		t.Fatalf("first: HTTP %d %s", code, resp)
	}
	waitIncident(t, b, "INC-1", isFinal)
	for range 2 {
		if code, _ := b.post("/slack/commands", body, h); code != http.StatusConflict {
			t.Errorf("replay: HTTP %d, want 409", code)
		}
	}
	retry := sign(testSecret, body, time.Now().Add(time.Second))
	retry.Set("X-Slack-Retry-Num", "1")
	retry.Set("X-Slack-Retry-Reason", "http_timeout")
	if code, resp := b.post("/slack/commands", body, retry); code != http.StatusOK || resp != "" {
		t.Errorf("retry: HTTP %d %q, want 200 and no body", code, resp)
	}
	b.stop()
	if n := len(eng.calls); n != 1 {
		t.Errorf("engine ran %d times, want 1", n)
	}
	db := reopen(t, b)
	if incs, _ := db.Incidents(storeAll); len(incs) != 1 {
		t.Errorf("%d incidents, want 1", len(incs))
	}
}

// Ensure a signed body that is not a form (JSON, text, multipart) is answered 415 and does
// nothing: no audit record, no Slack call.
func TestHTTP_NonFormBodyRefused(t *testing.T) {
	checkLeaks(t)
	b := newTestBot(t, t.TempDir(), &fakeEngine{cause: "auth_failed"}, nil)
	for _, ct := range []string{"application/json", "text/plain", "multipart/form-data; boundary=x", ""} {
		body := `{"command":"/ipsec","text":"diagnose edge-01","user_id":"UOPS"}`
		h := sign(testSecret, body, time.Now())
		h.Set("Content-Type", ct)
		for _, path := range []string{"/slack/commands", "/slack/interactive"} {
			if code, _ := b.post(path, body, h); code != http.StatusUnsupportedMediaType {
				t.Errorf("%s %q: HTTP %d, want 415", path, ct, code)
			}
		}
	}
	b.stop()
	if n := len(b.slack.Calls("")); n != 0 {
		t.Errorf("%d Slack calls", n)
	}
	db := reopen(t, b)
	if recs, _ := db.AuditLog(time.Time{}, time.Now().Add(time.Hour)); len(recs) != 0 {
		t.Errorf("audited: %+v", recs)
	}
}

// Ensure a response_url outside Slack (and outside slack.api_url's host) is never posted to:
// the command is refused (400) and audited, and the foreign host gets no request.
func TestHTTP_ForeignResponseURLRefused(t *testing.T) {
	checkLeaks(t)
	var hits atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer evil.Close()
	eng := &fakeEngine{cause: "auth_failed"}
	b := newTestBot(t, t.TempDir(), eng, nil)
	for _, target := range []string{evil.URL + "/commands/T1/1/x", "http://hooks.slack.com/commands/T1/1/x", "https://hooks.slack.com.evil.example/x"} {
		body := url.Values{"command": {"/ipsec"}, "text": {"status"}, "user_id": {"UOPS"}, "channel_id": {"C1"},
			"response_url": {target}, "trigger_id": {target}}.Encode()
		if code, _ := b.post("/slack/commands", body, sign(testSecret, body, time.Now())); code != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d, want 400", target, code)
		}
	}
	b.stop()
	if hits.Load() != 0 || len(eng.calls) != 0 {
		t.Errorf("foreign host got %d requests, engine %d calls", hits.Load(), len(eng.calls))
	}
	db := reopen(t, b)
	recs, _ := db.AuditLog(time.Time{}, time.Now().Add(time.Hour))
	if len(recs) != 3 || !strings.HasPrefix(recs[0].Outcome, "refused: response_url host 127.0.0.1:") {
		t.Errorf("audit = %+v", recs)
	}
	s := &Server{cfg: b.cfg}
	if !s.slackURL("https://hooks.slack.com/commands/T1/2/y") || !s.slackURL("") {
		t.Error("Slack's own response_url refused")
	}
}

// Ensure a 250 KB command is audited with at most about 1 KiB of its text, marked truncated,
// and a cut never splits a character.
func TestCapArgs_RuneBoundary(t *testing.T) {
	got := capArgs(strings.Repeat("é", maxAuditArgs))
	if !utf8.ValidString(got) || !strings.HasSuffix(got, fmt.Sprintf("[truncated: %d bytes]", 2*maxAuditArgs)) {
		t.Errorf("capArgs = ...%q", got[max(0, len(got)-40):])
	}
}

// Ensure a 250 KB command is audited with at most about 1 KiB of its text, marked truncated.
func TestHTTP_AuditCapsCommandText(t *testing.T) {
	checkLeaks(t)
	b := newTestBot(t, t.TempDir(), &fakeEngine{cause: "auth_failed"}, nil)
	text := "incident " + strings.Repeat("x", 250_000)
	body := commandForm(b.slack, "UOPS", "C1", text)
	if code, _ := b.post("/slack/commands", body, sign(testSecret, body, time.Now())); code != http.StatusOK {
		t.Fatalf("HTTP %d", code)
	}
	recs := b.auditLog(1)
	if got := recs[0].Args; len(got) > maxAuditArgs+64 || !strings.HasSuffix(got, "[truncated: 250009 bytes]") || !strings.HasPrefix(got, "incident xx") {
		t.Errorf("audited %d bytes: ...%q", len(got), got[max(0, len(got)-60):])
	}
}

// panickyEngine panics inside Execute on its first call and then behaves.
type panickyEngine struct {
	fakeEngine
	panicked atomic.Bool
}

func (p *panickyEngine) Execute(ctx context.Context, claimed *incident.Run, req diag.Request, ls ...diag.Listener) (*diag.Report, error) {
	if p.panicked.CompareAndSwap(false, true) {
		var m map[string]int
		//lint:ignore SA5000 the nil map write is the bug this test panics with
		m["boom"]++
	}
	return p.fakeEngine.Execute(ctx, claimed, req, ls...)
}

// Ensure a panic in one diagnosis's goroutine ends that diagnosis alone: its incident records
// the failure (not left diagnosing), Slack is told, and the next command is served.
func TestDiagnose_PanicEndsThatRunOnly(t *testing.T) {
	checkLeaks(t)
	eng := &panickyEngine{fakeEngine: fakeEngine{cause: "auth_failed"}}
	b := newTestBot(t, t.TempDir(), eng, nil)
	b.command("UOPS", "C1", "diagnose edge-01")
	inc := waitIncident(t, b, "INC-1", func(i store.Incident) bool { return i.Status != store.StatusDiagnosing })
	if !strings.Contains(inc.Summary, "internal error: assignment to entry in nil map") {
		t.Errorf("INC-1 = %+v", inc)
	}
	waitFor(t, "the failure posted", func() bool {
		for _, c := range b.slack.Calls("") {
			if strings.Contains(c.Form.Get("text")+string(c.Body), "the diagnosis failed. An internal error stopped the work.") {
				return true
			}
		}
		return false
	})
	b.command("UOPS", "C1", "diagnose edge-02")
	waitIncident(t, b, "INC-2", isFinal)
}

// Ensure a handler that panics is answered 500 and the server goes on with the next request.
func TestHTTP_HandlerPanicContained(t *testing.T) {
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{metrics: m, log: slog.New(slog.DiscardHandler)}
	var n atomic.Int32
	srv := httptest.NewServer(s.recovered(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			panic("handler bug")
		}
		io.WriteString(w, "fine")
	})))
	defer srv.Close()
	for i, want := range []int{http.StatusInternalServerError, http.StatusOK} {
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("request %d: HTTP %d, want %d", i+1, resp.StatusCode, want)
		}
	}
}

// Ensure the replay guard forgets a signature once it could no longer pass, and refuses
// rather than forgets when full.
func TestReplayGuard_WindowAndBound(t *testing.T) {
	g := newReplayGuard(2)
	t0 := time.Unix(1_800_000_000, 0)
	if g.admit("a", t0) != replayFirst || g.admit("a", t0.Add(time.Minute)) != replaySeen {
		t.Fatal("a repeat within the window was not refused")
	}
	if g.admit("b", t0) != replayFirst || g.admit("c", t0) != replayFull {
		t.Fatal("a full guard did not refuse")
	}
	if g.admit("a", t0.Add(replayWindow)) != replayFirst || len(g.seen) != 1 {
		t.Errorf("expired signatures kept: %v", g.seen)
	}
}

// Ensure a panic in `/ipsec status`'s background work is audited as an error and answered
// through the response_url in the operator's words (the panic itself only in the audit and the
// log), and the next command is served.
func TestStatus_PanicAnswered(t *testing.T) {
	checkLeaks(t)
	b := newTestBot(t, t.TempDir(), &fakeEngine{cause: "auth_failed"}, nil)
	b.srv.status = func(context.Context, string) ([]Tunnel, error) { panic("status bug") }
	if ack := b.command("UOPS", "C1", "status edge-01"); !strings.Contains(ack.Text, "Reading tunnel status") {
		t.Fatalf("ack = %+v", ack)
	}
	waitFor(t, "the failure answer", func() bool {
		for _, c := range b.slack.Calls("response") {
			if strings.Contains(string(c.Body), "failed. An internal error stopped the work.") && !strings.Contains(string(c.Body), "status bug") {
				return true
			}
		}
		return false
	})
	recs := b.auditLog(2)
	if recs[1].Command != "/ipsec status" || recs[1].Outcome != "error: internal error: status bug" {
		t.Errorf("audit = %+v", recs)
	}
	b.command("UOPS", "C1", "help")
}
