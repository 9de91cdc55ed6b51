package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"ipsecbot/watch"
)

// HealthPath is the watcher's tunnel states, for `bot health` while the bot holds the store:
// GET /health?edge=E&since=24h answers a watch.HealthReport (loopback clients only).
const HealthPath = "/health"

// ParseHealthQuery reads edge and since (a Go duration, default 24h); other parameters are refused.
func ParseHealthQuery(q url.Values) (edge string, since time.Duration, err error) {
	since = watch.DefaultHealthWindow
	for k := range q {
		if k != "edge" && k != "since" {
			return "", 0, fmt.Errorf("unknown parameter %q (known: edge, since)", k)
		}
	}
	if s := q.Get("since"); s != "" {
		if since, err = time.ParseDuration(s); err != nil || since <= 0 {
			return "", 0, fmt.Errorf("since %q is not a positive duration", s)
		}
	}
	return q.Get("edge"), since, nil
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	edge, since, err := ParseHealthQuery(r.URL.Query())
	if err != nil {
		writeIncidentsError(w, http.StatusBadRequest, err.Error())
		return
	}
	rep, err := watch.Health(s.db, edge, since, time.Now())
	if err != nil {
		s.log.Error("health", "err", err)
		writeIncidentsError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeIncidentsJSON(w, http.StatusOK, rep)
}

// Health asks the running bot for the tunnels' watch states.
func (c *IncidentsClient) Health(ctx context.Context, edge string, since time.Duration) (watch.HealthReport, error) {
	var rep watch.HealthReport
	err := c.get(ctx, HealthPath+"?"+healthQuery(edge, since), &rep)
	return rep, err
}
