package handlers

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"ipsecbot/store"
	"ipsecbot/watch"
)

// Ensure a running bot answers GET /health from its store as watch.Health reads it (all edges
// and one), refuses a bad query with 400, and refuses a proxied request.
func TestHealth_ServedWhileBotHoldsStore(t *testing.T) {
	b := newTestBot(t, t.TempDir(), &fakeEngine{cause: "auth_failed"}, nil)
	now := time.Now().UTC()
	tunnels := []store.WatchTunnel{
		{Edge: "edge-01", Site: "ipsecsite-1", Tunnel: "10.0.0.0/24-10.1.0.0/24", State: watch.StateUnstable, Since: now.Add(-time.Minute),
			LastFailure: "Version-IKEv2 Authentication Failed.Check the configured secret or local/peer ID configuration."},
		{Edge: "edge-02", Site: "ipsecsite-1", Tunnel: "10.2.0.0/24-10.3.0.0/24", State: watch.StateUp, Since: now.Add(-time.Hour),
			UnknownSince: now.Add(-time.Second), UnknownReason: "api: timeout"},
	}
	drops := map[[3]string][]store.WatchEvent{{"edge-01", "ipsecsite-1", "10.0.0.0/24-10.1.0.0/24"}: {
		{Time: now.Add(-3 * time.Minute), Kind: store.WatchDrop}, {Time: now.Add(-2 * time.Minute), Kind: store.WatchDrop},
		{Time: now.Add(-48 * time.Hour), Kind: store.WatchDrop}, // outside the day
	}}
	if err := b.db.SaveWatch(tunnels, drops); err != nil {
		t.Fatal(err)
	}
	c, err := NewIncidentsClient(b.http.Listener.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, edge := range []string{"", "edge-02"} {
		got, err := c.Health(t.Context(), edge, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		want, err := watch.Health(b.db, edge, 24*time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("edge %q: the bot says %+v, the store %+v", edge, got, want)
		}
	}
	all, _ := c.Health(t.Context(), "", 24*time.Hour)
	if len(all.Tunnels) != 2 || all.Tunnels[0].Drops != 2 || all.Tunnels[0].State != watch.StateUnstable || all.Tunnels[1].State != watch.StateUnknown {
		t.Errorf("health %+v", all)
	}
	if code, body := b.getIncidents(HealthPath+"?since=forever", nil); code != http.StatusBadRequest || !strings.Contains(body, `since \"forever\"`) {
		t.Errorf("bad since: HTTP %d %s", code, body)
	}
	if code, _ := b.getIncidents(HealthPath, http.Header{"X-Forwarded-For": {"198.51.100.7"}}); code != http.StatusForbidden {
		t.Errorf("proxied: HTTP %d, want 403", code)
	}
}
