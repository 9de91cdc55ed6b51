package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"ipsecbot/incident"
	"ipsecbot/store"
)

// getIncidents sends a GET to the bot's listener with extra headers and returns status and body.
func (b *testBot) getIncidents(path string, h http.Header) (int, string) {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodGet, b.http.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// Ensure a running bot serves its incidents to a loopback client exactly as its store holds
// them: a diagnosis run through Slack, then the list (filtered) and one incident with its
// timeline and artifacts; and that neither the signing secret nor the bot token is in them.
func TestIncidents_ServedWhileBotHoldsStore(t *testing.T) {
	checkLeaks(t)
	b := newTestBot(t, t.TempDir(), &fakeEngine{cause: "auth_failed"}, nil)
	b.command("UOPS", "C1", "diagnose edge-01")
	waitIncident(t, b, "INC-1", isFinal)
	b.waitIdle()
	// The real engine records the files it collected; the fake one leaves that to the test.
	if err := b.srv.incidents.RecordArtifact("INC-1", store.Artifact{Path: "INC-1/capture.pcap", Kind: "pcap", Size: 2048, SHA256: strings.Repeat("0f", 32)}); err != nil {
		t.Fatal(err)
	}
	second, err := b.srv.incidents.Open(incident.Opening{Edge: "edge-02"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.srv.incidents.Transition(second.ID, store.StatusEscalated, "UOPS", "escalated to channel C2"); err != nil {
		t.Fatal(err)
	}

	c, err := NewIncidentsClient(b.http.Listener.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []store.IncidentFilter{
		{Limit: 0}, {Limit: 1}, {Statuses: []store.Status{store.StatusEscalated}}, {Edge: "edge-01"}, {Edge: "edge-09"},
	} {
		got, err := c.Incidents(t.Context(), f)
		if err != nil {
			t.Fatalf("list %+v: %v", f, err)
		}
		want, err := b.db.Incidents(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
			t.Errorf("list %+v from the bot = %+v; store holds %+v", f, got, want)
		}
	}

	got, err := c.IncidentDetail(t.Context(), "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	want, err := b.db.IncidentDetail("INC-1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("INC-1 from the bot = %+v\nstore holds %+v", got, want)
	}
	if len(got.Timeline) == 0 || len(got.Artifacts) == 0 || got.Incident.Cause != "auth_failed" {
		t.Errorf("INC-1 lacks its cause, timeline or artifact: %+v", got)
	}

	if _, err := c.IncidentDetail(t.Context(), "INC-7"); !errors.Is(err, store.ErrNotFound) || err.Error() != "incident INC-7: not found" {
		t.Errorf("missing incident: %v; want the store's not-found error", err)
	}

	for _, path := range []string{"/incidents?limit=0", "/incidents/INC-1", "/incidents/INC-2"} {
		code, body := b.getIncidents(path, nil)
		if code != http.StatusOK {
			t.Errorf("GET %s: HTTP %d %s", path, code, body)
		}
		for _, secret := range []string{testSecret, "xoxb-test", "xapp-test"} {
			if strings.Contains(body, secret) {
				t.Errorf("GET %s reveals a secret: %s", path, body)
			}
		}
	}
}

// Ensure a malformed list query is refused with 400 and says what is wrong.
func TestIncidents_BadQuery(t *testing.T) {
	checkLeaks(t)
	b := newTestBot(t, t.TempDir(), &fakeEngine{}, nil)
	for query, want := range map[string]string{
		"status=closed":     `unknown status \"closed\"`,
		"limit=-1":          "limit must be one number",
		"limit=ten":         "limit must be one number",
		"edge=a&edge=b":     "edge given more than once",
		"stauts=resolved":   `unknown parameter \"stauts\"`,
		"status=open,bogus": `unknown status \"bogus\"`,
	} {
		code, body := b.getIncidents("/incidents?"+query, nil)
		if code != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("?%s: HTTP %d %s; want 400 with %q", query, code, body, want)
		}
	}
}

// Ensure incident queries are refused (403) unless they come straight from loopback: remote
// addresses, and requests a reverse proxy forwarded (over loopback, too).
func TestIncidents_RefusesRemoteAndProxied(t *testing.T) {
	checkLeaks(t)
	b := newTestBot(t, t.TempDir(), &fakeEngine{}, nil)
	if _, err := b.srv.incidents.Open(incident.Opening{Edge: "edge-01", Why: "PSK mismatch suspected"}); err != nil {
		t.Fatal(err)
	}
	forbidden := func(what string, code int, body string) {
		t.Helper()
		if code != http.StatusForbidden || strings.Contains(body, "edge-01") ||
			!strings.Contains(body, `"error":"incidents are served to loopback clients only`) {
			t.Errorf("%s: HTTP %d %s; want 403 with the reason and no incident", what, code, body)
		}
	}
	for _, h := range []http.Header{
		{"X-Forwarded-For": {"203.0.113.7"}},
		{"Forwarded": {"for=203.0.113.7;proto=https"}},
		{"X-Real-Ip": {"203.0.113.7"}},
		{"X-Forwarded-Host": {"bot.example.com"}},
		{"X-Forwarded-For": {""}}, // present, even empty
	} {
		for _, path := range []string{"/incidents", "/incidents/INC-1"} {
			code, body := b.getIncidents(path, h)
			forbidden(path+" with "+strings.Join(slices.Collect(func(yield func(string) bool) {
				for k := range h {
					yield(k)
				}
			}), ","), code, body)
		}
	}

	// Remote addresses cannot be made on loopback; the same handler sees them set on the request.
	h := b.srv.Handler()
	for remote, allowed := range map[string]bool{
		"203.0.113.7:4444":     false,
		"[2001:db8::1]:443":    false,
		"10.0.0.5:50000":       false,
		"[fe80::1%eth0]:80":    false,
		"not-an-address":       false,
		"127.0.0.1:5555":       true,
		"127.8.9.10:5555":      true,
		"[::1]:5555":           true,
		"[::ffff:127.0.0.1]:1": true,
	} {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/incidents/INC-1", nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if allowed {
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "edge-01") {
				t.Errorf("from %s: HTTP %d %s; want 200", remote, rec.Code, rec.Body)
			}
			continue
		}
		forbidden("from "+remote, rec.Code, rec.Body.String())
	}
}

// Ensure the client names what went wrong when no bot answers, or something else does.
func TestIncidentsClient_NoBot(t *testing.T) {
	checkLeaks(t)
	// The kernel refuses every connection to port 0 and nothing can listen there: unlike a
	// port found free and closed, no other test can take it meanwhile.
	const closed = "127.0.0.1:0"
	c, err := NewIncidentsClient(closed, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Incidents(t.Context(), store.IncidentFilter{})
	if err == nil || !strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "http://") {
		t.Errorf("closed port: %v; want the refusal without the URL", err)
	}

	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	c, err = NewIncidentsClient(other.Listener.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.IncidentDetail(t.Context(), "INC-1")
	if err == nil || errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "HTTP 404 without the bot's error document") {
		t.Errorf("another server's 404: %v; want it not taken for a missing incident", err)
	}

	// A listener that accepts but never answers: the client gives up after its timeout.
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if conn, err := hang.Accept(); err == nil {
			accepted <- conn
		}
		close(accepted)
	}()
	c, err = NewIncidentsClient(hang.Addr().String(), 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Incidents(t.Context(), store.IncidentFilter{})
	if err == nil || !strings.Contains(err.Error(), "Client.Timeout exceeded") {
		t.Errorf("silent listener: %v; want a timeout", err)
	}
	hang.Close()
	for conn := range accepted {
		conn.Close()
	}
}

// Ensure the client asks a wildcard listen address on 127.0.0.1 and keeps a named host.
func TestNewIncidentsClient_ListenAddress(t *testing.T) {
	for listen, want := range map[string]string{
		"0.0.0.0:8080":   "http://127.0.0.1:8080",
		"[::]:8080":      "http://127.0.0.1:8080",
		":8080":          "http://127.0.0.1:8080",
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		"[::1]:9000":     "http://[::1]:9000",
		"localhost:8080": "http://localhost:8080",
	} {
		c, err := NewIncidentsClient(listen, time.Second)
		if err != nil || c.URL() != want {
			t.Errorf("listen %q: %v, %v; want %s", listen, c, err, want)
		}
	}
	if _, err := NewIncidentsClient("8080", time.Second); err == nil || !strings.Contains(err.Error(), `slack.listen "8080"`) {
		t.Errorf("listen without a port: %v", err)
	}
}

// FuzzParseIncidentFilter checks that any query is refused or read into a filter that
// IncidentQuery writes back to the same filter, and that it never panics.
func FuzzParseIncidentFilter(f *testing.F) {
	for _, seed := range []string{
		"status=resolved&edge=edge-01&limit=10", "status=open,diagnosing&status=open", "limit=0", "",
		"edge=", "limit=-3", "status=", "edge=a%26b&limit=99999999999999999999", "x=1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		fl, err := ParseIncidentFilter(q)
		if err != nil {
			return
		}
		if fl.Limit < 0 {
			t.Fatalf("%q: negative limit %d", raw, fl.Limit)
		}
		again, err := ParseIncidentFilter(IncidentQuery(fl))
		if err != nil || !reflect.DeepEqual(again, fl) {
			js, _ := json.Marshal(fl)
			t.Fatalf("%q: filter %s reads back as %+v, %v", raw, js, again, err)
		}
	})
}
