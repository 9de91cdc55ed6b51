package handlers

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Slack's documented signing example (api.slack.com/authentication/verifying-requests-from-slack).
const (
	docSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	docTimestamp = 1531420618
	docSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	docBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)

// Ensure the signature middleware accepts Slack's documented vector at its own time, and
// refuses it tampered, or six minutes later. synctest's clock travels to 2018 instantly.
func TestVerified_SlackDocumentedVector(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := newMetrics(prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		s := &Server{secret: docSecret, maxBody: DefaultMaxBody, metrics: m, log: slog.New(slog.DiscardHandler)}
		var got string
		h := s.verified(newReplayGuard(maxRemembered), func(w http.ResponseWriter, r *http.Request) {
			if err := r.ParseForm(); err != nil {
				t.Error(err)
			}
			got = r.PostForm.Get("command")
		})
		do := func(body string) int {
			req := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(body))
			req.Header.Set("X-Slack-Request-Timestamp", "1531420618")
			req.Header.Set("X-Slack-Signature", docSignature)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec.Code
		}
		time.Sleep(time.Until(time.Unix(docTimestamp, 0)))
		if code := do(docBody); code != http.StatusOK || got != "/webhook-collect" {
			t.Fatalf("documented vector: HTTP %d, command %q; want 200 and /webhook-collect", code, got)
		}
		got = ""
		if code := do(strings.Replace(docBody, "roadrunner", "coyote", 1)); code != http.StatusUnauthorized || got != "" {
			t.Errorf("tampered body: HTTP %d (handler ran: %v); want 401", code, got != "")
		}
		time.Sleep(6 * time.Minute)
		if code := do(docBody); code != http.StatusUnauthorized || got != "" {
			t.Errorf("six minutes later: HTTP %d; want 401", code)
		}
	})
}

// Ensure forged, stale, unsigned and oversize requests are refused before any work: no
// incident, no audit, no engine call and no Slack call.
func TestHTTP_RefusesBadRequestsBeforeAnyWork(t *testing.T) {
	checkLeaks(t)
	eng := &fakeEngine{cause: "auth_failed"}
	b := newTestBot(t, t.TempDir(), eng, nil)
	body := commandForm(b.slack, "UOPS", "C1", "diagnose edge-01")
	big := body + "&pad=" + strings.Repeat("x", DefaultMaxBody)
	unsigned := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	cases := []struct {
		name string
		path string
		body string
		h    http.Header
		want int
	}{
		{"forged_signature", "/slack/commands", body, sign("not-the-secret", body, time.Now()), http.StatusUnauthorized},
		{"stale_timestamp", "/slack/commands", body, sign(testSecret, body, time.Now().Add(-6*time.Minute)), http.StatusUnauthorized},
		{"future_timestamp", "/slack/commands", body, sign(testSecret, body, time.Now().Add(6*time.Minute)), http.StatusUnauthorized},
		{"unsigned", "/slack/commands", body, unsigned, http.StatusUnauthorized},
		{"body_changed_after_signing", "/slack/commands", strings.Replace(body, "edge-01", "edge-02", 1), sign(testSecret, body, time.Now()), http.StatusUnauthorized},
		{"oversize", "/slack/commands", big, sign(testSecret, big, time.Now()), http.StatusRequestEntityTooLarge},
		{"forged_interactive", "/slack/interactive", "payload=%7B%7D", sign("nope", "payload=%7B%7D", time.Now()), http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if code, _ := b.post(tc.path, tc.body, tc.h); code != tc.want {
				t.Errorf("HTTP %d, want %d", code, tc.want)
			}
		})
	}
	b.stop()
	if n := len(b.slack.Calls("")); n != 0 {
		t.Errorf("%d Slack calls were made for refused requests: %+v", n, b.slack.Calls(""))
	}
	if len(eng.calls) != 0 {
		t.Errorf("engine ran %d times", len(eng.calls))
	}
	db := reopen(t, b)
	if incs, _ := db.Incidents(storeAll); len(incs) != 0 {
		t.Errorf("incidents were opened: %+v", incs)
	}
	if recs, _ := db.AuditLog(time.Time{}, time.Now().Add(time.Hour)); len(recs) != 0 {
		t.Errorf("refused requests reached the audit log: %+v", recs)
	}
}

// Ensure /healthz answers and /metrics exposes the bot's series.
func TestHTTP_HealthAndMetrics(t *testing.T) {
	checkLeaks(t)
	b := newTestBot(t, t.TempDir(), &fakeEngine{cause: "healthy"}, nil)
	b.command("UOPS", "C1", "help")
	for path, want := range map[string]string{"/healthz": "ok", "/metrics": "ipsecbot_ack_latency_seconds"} {
		resp, err := http.Get(b.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), want) {
			t.Errorf("GET %s: %d, body lacks %q", path, resp.StatusCode, want)
		}
	}
	if code, _ := b.post("/healthz", "", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz: %d, want 405", code)
	}
}
