package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// socketServer is a loopback Slack for Socket Mode: apps.connections.open hands out its own
// WebSocket URL, and each connection is given to the test's serve func.
type socketServer struct {
	srv   *httptest.Server
	opens atomic.Int32
	conns chan *websocket.Conn
}

func newSocketServer(t *testing.T) *socketServer {
	s := &socketServer{conns: make(chan *websocket.Conn, 4)}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }} // the bot sends Slack's origin
	mux := http.NewServeMux()
	mux.HandleFunc("/apps.connections.open", func(w http.ResponseWriter, r *http.Request) {
		s.opens.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/ws"})
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Logf("upgrade: %v", err)
			return
		}
		s.conns <- c
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// next waits for the bot's next WebSocket connection and greets it as Slack does.
func (s *socketServer) next(t *testing.T) *websocket.Conn {
	t.Helper()
	select {
	case c := <-s.conns:
		if err := c.WriteJSON(map[string]any{"type": "hello", "num_connections": 1}); err != nil {
			t.Fatal(err)
		}
		return c
	case <-time.After(20 * time.Second):
		t.Fatalf("the bot did not connect (%d opens)", s.opens.Load())
	}
	return nil
}

// Ensure Socket Mode connects again after a live connection drops, and serves commands over
// the new connection.
func TestSocketMode_ReconnectsAfterDrop(t *testing.T) {
	checkLeaks(t)
	fake := newSocketServer(t)
	b := newTestBot(t, t.TempDir(), &fakeEngine{cause: "auth_failed"}, nil)
	b.srv.api.client = NewSlackClient("xoxb-test", "xapp-test", fake.srv.URL, 10*time.Second)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.srv.RunSocketMode(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunSocketMode: %v", err)
		}
	}()

	first := fake.next(t)
	// Slack asks for a reconnect, then the live connection drops.
	if err := first.WriteJSON(map[string]any{"type": "disconnect", "reason": "refresh_requested"}); err != nil {
		t.Fatal(err)
	}
	first.Close()

	second := fake.next(t)
	defer second.Close()
	cmd := `{"type":"slash_commands","envelope_id":"env-after-drop","accepts_response_payload":true,"payload":` +
		`{"command":"/ipsec","text":"help","user_id":"UOPS","channel_id":"C1"}}`
	if err := second.WriteMessage(websocket.TextMessage, []byte(cmd)); err != nil {
		t.Fatal(err)
	}
	second.SetReadDeadline(time.Now().Add(20 * time.Second))
	var ack struct {
		EnvelopeID string `json:"envelope_id"`
		Payload    struct {
			Text string `json:"text"`
		} `json:"payload"`
	}
	if err := second.ReadJSON(&ack); err != nil {
		t.Fatalf("no acknowledgement on the new connection: %v", err)
	}
	if ack.EnvelopeID != "env-after-drop" || !strings.Contains(ack.Payload.Text, "diagnose") {
		t.Errorf("ack = %+v", ack)
	}
	if n := fake.opens.Load(); n < 2 {
		t.Errorf("apps.connections.open called %d times", n)
	}
}
