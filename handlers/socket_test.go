package handlers

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"ipsecbot/handlers/slacktestx"
	"ipsecbot/store"
)

// readAck waits for the next acknowledgement the bot sent over the WebSocket.
func readAck(t *testing.T, feed chan string) map[string]any {
	t.Helper()
	select {
	case raw := <-feed:
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatalf("ack %q: %v", raw, err)
		}
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no acknowledgement over the WebSocket")
	}
	return nil
}

// Ensure Socket Mode, connected through slacktest's apps.connections.open endpoint, feeds the
// same router: a slash command's acknowledgement carries the ephemeral reply, and a button
// envelope is acknowledged first, then handled.
func TestSocketMode_SameRouterAndAcks(t *testing.T) {
	// slacktest's WebSocket side keeps a writer goroutine per server for the process's life.
	checkLeaks(t, goleak.IgnoreTopFunction("github.com/slack-go/slack/slacktest.handlePendingMessages"),
		goleak.IgnoreAnyFunction("github.com/slack-go/slack/slacktest.(*Server).wsHandler.func1"))
	fake := slacktestx.New(t)
	// The first connection attempt fails: the bot must connect again by itself.
	fake.Fail("apps.connections.open", slacktestx.Fault{Status: 503})
	b := newTestBot(t, t.TempDir(), &fakeEngine{cause: "auth_failed"}, fake)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.srv.RunSocketMode(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunSocketMode: %v", err)
		}
	}()

	cmd := `{"type":"slash_commands","envelope_id":"env-1","accepts_response_payload":true,"payload":` +
		`{"command":"/ipsec","text":"diagnose edge-01","user_id":"UOPS","channel_id":"C1","response_url":"` + b.slack.ResponseURL("sock") + `"}}`
	b.slack.SendToWebsocket(cmd)
	ack := readAck(t, b.slack.SeenFeed)
	payload, _ := ack["payload"].(map[string]any)
	if ack["envelope_id"] != "env-1" || payload["response_type"] != "ephemeral" || !strings.Contains(payload["text"].(string), "Diagnosing edge-01 as INC-1") {
		t.Fatalf("ack = %v", ack)
	}
	inc := waitIncident(t, b, "INC-1", isFinal)

	press := `{"type":"interactive","envelope_id":"env-2","payload":{"type":"block_actions","user":{"id":"UOPS"},"channel":{"id":"C1"},` +
		`"response_url":"` + b.slack.ResponseURL("sock-action") + `","container":{"message_ts":"` + inc.ThreadTS + `"},` +
		`"actions":[{"action_id":"resolve","block_id":"verdict_actions","value":"INC-1","type":"button"}]}}`
	b.slack.SendToWebsocket(press)
	if ack := readAck(t, b.slack.SeenFeed); ack["envelope_id"] != "env-2" {
		t.Fatalf("ack = %v", ack)
	}
	waitIncident(t, b, "INC-1", func(i store.Incident) bool { return i.Status == "resolved" })
	if n := len(fake.Calls("apps.connections.open")); n < 2 {
		t.Errorf("%d connection attempts; the failed one was not retried", n)
	}
	recs := b.auditLog(2)
	if recs[0].Command != "/ipsec diagnose" || recs[1].Command != "button resolve" {
		t.Errorf("audit = %+v", recs)
	}
}
