package handlers

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"time"

	"ipsecbot/chart"
)

// HealthChartPath is the watched tunnels' timeline for `bot health --png` while the bot holds
// the store: GET /health/chart?edge=E&since=24h answers a HealthChart (loopback clients only).
const HealthChartPath = "/health/chart"

// HealthChart is the chart as the bot sends it: the PNG (base64 in JSON) and its row count.
type HealthChart struct {
	Tunnels int    `json:"tunnels"`
	PNG     []byte `json:"png"`
}

func (s *Server) serveHealthChart(w http.ResponseWriter, r *http.Request) {
	edge, since, err := ParseHealthQuery(r.URL.Query())
	if err != nil {
		writeIncidentsError(w, http.StatusBadRequest, err.Error())
		return
	}
	var buf bytes.Buffer
	n, err := chart.Health(&buf, s.db, edge, since, time.Now())
	if err != nil {
		writeIncidentsError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	writeIncidentsJSON(w, http.StatusOK, HealthChart{Tunnels: n, PNG: buf.Bytes()})
}

// HealthChart asks the running bot for the watched tunnels' timeline.
func (c *IncidentsClient) HealthChart(ctx context.Context, edge string, since time.Duration) (HealthChart, error) {
	var ch HealthChart
	err := c.get(ctx, HealthChartPath+"?"+healthQuery(edge, since), &ch)
	return ch, err
}

// healthQuery is the query ParseHealthQuery reads.
func healthQuery(edge string, since time.Duration) string {
	q := url.Values{"since": {since.String()}}
	if edge != "" {
		q.Set("edge", edge)
	}
	return q.Encode()
}
