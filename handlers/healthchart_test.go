package handlers

import (
	"bytes"
	"errors"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"ipsecbot/chart"
	"ipsecbot/store"
	"ipsecbot/watch"
)

// Ensure the running bot draws the watched tunnels' chart from its store for `bot health
// --png` (all edges, or one), says plainly when there is nothing to draw, and refuses a bad
// query or a proxied request.
func TestHealthChart_ServedWhileBotHoldsStore(t *testing.T) {
	b := newTestBot(t, t.TempDir(), &fakeEngine{}, nil)
	c, err := NewIncidentsClient(b.http.Listener.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var be *BotError
	if _, err := c.HealthChart(t.Context(), "", 24*time.Hour); !errors.As(err, &be) || be.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(be.Message, "no tunnels watched yet") {
		t.Errorf("empty store: %v", err)
	}
	now := time.Now()
	tunnels := []store.WatchTunnel{
		{Edge: "edge-01", Site: "ipsecsite-1", Tunnel: "10.0.0.0/24-10.1.0.0/24", State: watch.StateDown, Since: now.Add(-time.Hour)},
		{Edge: "edge-02", Site: "ipsecsite-1", Tunnel: "10.2.0.0/24-10.3.0.0/24", State: watch.StateUp, Since: now.Add(-time.Hour)},
	}
	evs := map[[3]string][]store.WatchEvent{{"edge-01", "ipsecsite-1", "10.0.0.0/24-10.1.0.0/24"}: {
		{Time: now.Add(-time.Hour), Kind: store.WatchState, State: watch.StateDown},
	}}
	if err := b.db.SaveWatch(tunnels, evs); err != nil {
		t.Fatal(err)
	}
	for edge, rows := range map[string]int{"": 2, "edge-01": 1} {
		ch, err := c.HealthChart(t.Context(), edge, 24*time.Hour)
		if err != nil {
			t.Fatalf("edge %q: %v", edge, err)
		}
		img, err := png.Decode(bytes.NewReader(ch.PNG))
		if err != nil || ch.Tunnels != rows || img.Bounds().Dy() != chart.Height(rows) {
			t.Errorf("edge %q: %d tunnels, %v", edge, ch.Tunnels, err)
		}
	}
	if _, err := c.HealthChart(t.Context(), "edge-03", 24*time.Hour); err == nil || !strings.Contains(err.Error(), "no tunnels of edge-03 watched yet") {
		t.Errorf("an edge without tunnels: %v", err)
	}
	if code, body := b.getIncidents(HealthChartPath+"?since=-1h", nil); code != http.StatusBadRequest || !strings.Contains(body, "not a positive duration") {
		t.Errorf("bad since: HTTP %d %s", code, body)
	}
	if code, _ := b.getIncidents(HealthChartPath, http.Header{"X-Forwarded-For": {"198.51.100.7"}}); code != http.StatusForbidden {
		t.Errorf("proxied: HTTP %d, want 403", code)
	}
}
