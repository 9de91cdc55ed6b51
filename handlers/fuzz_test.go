package handlers

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"
)

// FuzzParseCommand: any text either parses to a known command with sane fields or is a
// usage error; nothing panics, and no edge name carries whitespace (edge names are later
// matched against the inventory only).
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"", "help", "diagnose edge-01", "diagnose edge-01 capture 120", "diagnose edge-01 capture 30s",
		"status", "status edge-01", "incident INC-7", "incidents", "reboot edge-01", "diagnose edge-01; rm -rf /",
		"DIAGNOSE  edge-01\tcapture\u00a090", "incident inc-99999999999999999999", "escalate INC-7 sev1",
		"commander INC-7 <@U12|ann>", "handoff inc-7 W9", "update INC-7 conditions: a actions: b needs: c", "resolve INC-7 re-keyed"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := parseCommand(text)
		if err != nil {
			if _, ok := err.(usageErr); !ok {
				t.Fatalf("non-usage error %T", err)
			}
			return
		}
		switch c.Name {
		case "help", "status", "incidents":
		case "diagnose":
			if c.Edge == "" || c.CaptureSeconds < 0 {
				t.Fatalf("diagnose %+v", c)
			}
		case "incident", "escalate", "resolve":
			if !incidentID.MatchString(c.Incident) {
				t.Fatalf("incident ID %q", c.Incident)
			}
		case "commander":
			if !incidentID.MatchString(c.Incident) || !userMention.MatchString(c.User) {
				t.Fatalf("commander %+v", c)
			}
		case "update":
			if !incidentID.MatchString(c.Incident) || c.Text == "" {
				t.Fatalf("update %+v", c)
			}
		default:
			t.Fatalf("unknown name %q", c.Name)
		}
		if strings.ContainsFunc(c.Edge, unicode.IsSpace) {
			t.Fatalf("edge %q has whitespace", c.Edge)
		}
	})
}

// FuzzInteractionPayload: any payload form field decodes to actions or to nothing; button
// values decode only to a non-empty edge and a non-negative window.
func FuzzInteractionPayload(f *testing.F) {
	f.Add(`{"type":"block_actions","user":{"id":"U1"},"channel":{"id":"C1"},"actions":[{"action_id":"rerun","block_id":"verdict_actions","value":"edge-01|60"}]}`)
	f.Add(`{"type":"block_actions","actions":[{"action_id":"resolve","value":"INC-7"}]}`)
	f.Add(`{"type":"view_submission"}`)
	f.Add(`{`)
	f.Fuzz(func(t *testing.T, payload string) {
		req := httptest.NewRequest(http.MethodPost, "/slack/interactive", strings.NewReader(url.Values{"payload": {payload}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		cb, err := slack.InteractionCallbackParse(req)
		if err != nil {
			return
		}
		for _, a := range actionsFromCallback(cb) {
			if edge, secs, ok := decodeTarget(a.Value); ok && (edge == "" || secs < 0) {
				t.Fatalf("decodeTarget(%q) = %q, %d", a.Value, edge, secs)
			}
		}
	})
}

// FuzzVerified: no body and header combination passes the signature check unless it carries
// the right HMAC; nothing panics. (A fuzzer cannot forge HMAC-SHA256, so every input that is
// not signed with the secret must be refused.)
func FuzzVerified(f *testing.F) {
	f.Add(docBody, "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", "1531420618")
	f.Add("", "", "")
	f.Add("text=diagnose+edge-01", "v0=zz", "99999999999999999999999")
	f.Add("x", "v0=", "-1")
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		f.Fatal(err)
	}
	s := &Server{secret: testSecret, maxBody: 4096, metrics: m, log: slog.New(slog.DiscardHandler)}
	h := s.verified(newReplayGuard(maxRemembered), func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	f.Fuzz(func(t *testing.T, body, sig, ts string) {
		req := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(body))
		req.Header.Set("Content-Type", formType)
		req.Header.Set("X-Slack-Signature", sig)
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == 299 {
			want := sign(testSecret, body, time.Now()).Get("X-Slack-Signature")
			if sig != want {
				t.Fatalf("accepted body %q with signature %q, timestamp %q", body, sig, ts)
			}
		}
		if len(body) > 4096 && rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("%d-byte body: HTTP %d", len(body), rec.Code)
		}
	})
}
