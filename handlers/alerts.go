package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"

	"ipsecbot/store"
	"ipsecbot/watch"
)

// AlertOptions configure the watcher's Slack alerts.
type AlertOptions struct {
	Channel string // slack.alert_channel (an ID)
	// ClearAfter is how long a tunnel must stay up before its alert clears (watch.clear_after).
	ClearAfter time.Duration
	// Context bounds the Slack calls made after a sweep that are not a change's (clearing,
	// sending what is owed): bot serve passes its own, so stopping cuts them short. Default:
	// context.Background.
	Context context.Context
	// CallBudget bounds those calls at each sweep (default 2 minutes).
	CallBudget time.Duration
}

// Alerts posts the watcher's state changes to the alert channel: a tunnel going down or
// unstable opens one alert message; its later changes go into that message's thread and edit
// it; once the tunnel has stayed up for ClearAfter the message is edited to say it cleared. The
// open alert lives in the store, so a restart edits the same message. What Slack refused
// (after the retry policy) stays in the store and is sent again at the next sweep.
//
// It is the watcher's Notifier (the changes) and an Observer (each sweep: clearing and
// sending what is still owed).
type Alerts struct {
	srv  *Server // runs the automatic diagnoses (Diagnose)
	api  *slackAPI
	db   *store.DB
	log  *slog.Logger
	opts AlertOptions

	posted *prometheus.CounterVec // Slack calls that went through, by kind
	failed *prometheus.CounterVec // Slack calls given up on (after retries), by kind

	mu sync.Mutex // one change or sweep at a time: each reads, sends and writes an alert
}

// Alert call kinds, the label of the alert counters.
const (
	alertOpen   = "open"   // the alert message
	alertReply  = "reply"  // a reply in its thread
	alertUpdate = "update" // an edit of the message
)

// NewAlerts makes the alert notifier on the server's Slack client, store and registry. Call
// it once per Server (its counters are registered on the server's registry).
func (s *Server) NewAlerts(o AlertOptions) (*Alerts, error) {
	if o.Channel == "" {
		return nil, errors.New("alerts: no channel")
	}
	if o.ClearAfter <= 0 {
		o.ClearAfter = watch.DefaultClearAfter
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
	if o.CallBudget <= 0 {
		o.CallBudget = 2 * time.Minute
	}
	a := &Alerts{srv: s, api: s.api, db: s.db, log: s.log, opts: o,
		posted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ipsecbot_watch_alert_posts_total", Help: "Watch alert messages, thread replies and edits that reached Slack, by kind.",
		}, []string{"kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ipsecbot_watch_alert_post_failures_total", Help: "Watch alert posts Slack refused after retries, by kind (kept and sent again at the next sweep).",
		}, []string{"kind"}),
	}
	for _, c := range []prometheus.Collector{a.posted, a.failed} {
		if err := s.registry.Register(c); err != nil {
			return nil, fmt.Errorf("alerts: %w", err)
		}
	}
	return a, nil
}

// Notify implements watch.Notifier.
func (a *Alerts) Notify(ctx context.Context, t watch.Transition) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rec, err := a.db.WatchAlert(t.Edge, t.Site, t.Tunnel)
	open := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.log.Error("watch alert not read; the change is not alerted", "tunnel", t.Key.String(), "to", t.To, "err", err)
		return
	}
	if !open && t.To != watch.StateDown && t.To != watch.StateUnstable {
		return // only down and unstable open an alert
	}
	drops, err := watch.CountEvents(a.db, t.Key, store.WatchDrop, t.At.Add(-watch.DefaultHealthWindow), t.At)
	if err != nil {
		a.log.Warn("watch alert: drops not counted", "tunnel", t.Key.String(), "err", err)
	}
	if !open {
		rec = store.WatchAlert{Edge: t.Edge, Site: t.Site, Tunnel: t.Tunnel, Channel: a.opts.Channel, Opened: t.At}
	} else {
		rec.Pending = append(rec.Pending, changeLine(t, a.opts.ClearAfter))
		rec.Stale = true
		rec.Cleared = time.Time{} // a change before the clearing reached Slack reopens it
	}
	rec.State, rec.Since, rec.Reason, rec.Drops = t.To, t.At, t.Reason, drops
	if t.LastFailure != "" {
		rec.LastFailure = t.LastFailure
	}
	a.flush(ctx, &rec)
}

// Swept implements watch.Observer: it clears the alerts of tunnels that stayed up for
// ClearAfter, settles the automatic diagnoses that ended unseen, and sends what earlier
// changes could not.
func (a *Alerts) Swept(sw watch.Swept) {
	ctx, cancel := context.WithTimeout(a.opts.Context, a.opts.CallBudget)
	defer cancel()
	a.Sweep(ctx, sw.Tunnels, sw.At)
}

// Sweep is Swept with a context: tunnels are every tunnel's state at now.
func (a *Alerts) Sweep(ctx context.Context, tunnels []store.WatchTunnel, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	alerts, err := a.db.WatchAlerts()
	if err != nil {
		a.log.Error("watch alerts not read", "err", err)
		return
	}
	byKey := make(map[[3]string]*store.WatchTunnel, len(tunnels))
	for i := range tunnels {
		t := &tunnels[i]
		byKey[[3]string{t.Edge, t.Site, t.Tunnel}] = t
	}
	for i := range alerts {
		rec := &alerts[i]
		if t := byKey[[3]string{rec.Edge, rec.Site, rec.Tunnel}]; t != nil && rec.Cleared.IsZero() {
			if shown, _ := t.Shown(); shown == watch.StateUp && !t.StableSince.IsZero() && now.Sub(t.StableSince) >= a.opts.ClearAfter {
				rec.Cleared, rec.State, rec.Since, rec.Stale = now, watch.StateUp, t.StableSince, true
				rec.Pending = append(rec.Pending, fmt.Sprintf(":white_check_mark: Cleared at %s: up and stable since %s (%s), open for %s.",
					slackTime(now), slackTime(t.StableSince), now.Sub(t.StableSince).Round(time.Second), now.Sub(rec.Opened).Round(time.Second)))
			}
		}
		a.diagnosisOver(rec)
		if rec.TS == "" || rec.Stale || len(rec.Pending) > 0 || !rec.Cleared.IsZero() {
			a.flush(ctx, rec)
		}
	}
}

// flush brings Slack up to the record: the alert message posted (or edited when stale), then
// the pending thread replies in order; the record is saved with what is still owed, or removed
// once a cleared alert is all in Slack.
func (a *Alerts) flush(ctx context.Context, rec *store.WatchAlert) {
	text, blocks := alertMessage(rec, a.opts.ClearAfter)
	if rec.TS != "" && rec.Stale {
		err := a.api.update(ctx, rec.Channel, rec.TS, text, blocks)
		switch {
		case err == nil:
			rec.Stale = false
			a.posted.WithLabelValues(alertUpdate).Inc()
		case isGoneMessage(err):
			// Someone deleted the alert: post it again rather than edit nothing forever.
			a.log.Warn("watch alert message gone; posting it again", "tunnel", alertKey(rec), "ts", rec.TS, "err", err)
			rec.TS = ""
		default:
			a.failed.WithLabelValues(alertUpdate).Inc()
			a.log.Error("watch alert not edited; trying again at the next sweep", "tunnel", alertKey(rec), "ts", rec.TS, "err", err)
		}
	}
	if rec.TS == "" {
		ts, err := a.api.post(ctx, rec.Channel, "", text, blocks)
		if err != nil {
			a.failed.WithLabelValues(alertOpen).Inc()
			a.log.Error("watch alert not posted; trying again at the next sweep", "tunnel", alertKey(rec), "state", rec.State, "err", err)
		} else {
			rec.TS, rec.Stale = ts, false
			a.posted.WithLabelValues(alertOpen).Inc()
		}
	}
	for rec.TS != "" && len(rec.Pending) > 0 {
		if _, err := a.api.post(ctx, rec.Channel, rec.TS, rec.Pending[0], nil); err != nil {
			a.failed.WithLabelValues(alertReply).Inc()
			a.log.Error("watch alert reply not posted; trying again at the next sweep", "tunnel", alertKey(rec), "ts", rec.TS, "err", err)
			break
		}
		rec.Pending = rec.Pending[1:]
		a.posted.WithLabelValues(alertReply).Inc()
	}
	var err error
	if !rec.Cleared.IsZero() && rec.TS != "" && !rec.Stale && len(rec.Pending) == 0 {
		err = a.db.DeleteWatchAlert(rec.Edge, rec.Site, rec.Tunnel)
	} else {
		err = a.db.PutWatchAlert(*rec)
	}
	if err != nil {
		a.log.Error("watch alert not stored", "tunnel", alertKey(rec), "ts", rec.TS, "err", err)
	}
}

// isGoneMessage says an edit failed because the message or its channel is gone.
func isGoneMessage(err error) bool {
	if e, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		return e.Err == "message_not_found" || e.Err == "cant_update_message"
	}
	return false
}

func alertKey(rec *store.WatchAlert) string {
	return watch.Key{Edge: rec.Edge, Site: rec.Site, Tunnel: rec.Tunnel}.String()
}
