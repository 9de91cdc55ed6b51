package main

import (
	"context"
	"log/slog"
	"time"

	"ipsecbot/config"
	"ipsecbot/diag/engine"
	"ipsecbot/handlers"
	"ipsecbot/store"
	"ipsecbot/watch"
)

// healthPost is the schedule.health_post job: the watcher's states from the store (with
// charts of the unstable tunnels) when the configuration has a watch section, else each
// edge's tunnels read now.
func healthPost(ctx context.Context, cfg *config.Config, db *store.DB, eng *engine.Engine, bot *handlers.Server, lg *slog.Logger) {
	now := time.Now().UTC()
	var rep watch.HealthReport
	if cfg.Watch.Enabled() {
		var err error
		if rep, err = watch.Health(db, "", watch.DefaultHealthWindow, now); err != nil {
			lg.Error("health post: watch states not read", "err", err)
			return
		}
	} else {
		rep = liveHealth(ctx, cfg, eng, now)
	}
	if err := bot.PostHealth(ctx, cfg.Slack.HealthChannel, rep, cfg.EdgeNames(), now); err != nil {
		lg.Error("health post", "err", err)
	}
}

// liveHealth reads every edge's tunnels now: up or down (no drops without the watcher); an edge
// that cannot be read is one unknown line with the reason.
func liveHealth(ctx context.Context, cfg *config.Config, eng *engine.Engine, now time.Time) watch.HealthReport {
	rep := watch.HealthReport{Tunnels: []watch.TunnelHealth{}}
	for _, name := range cfg.EdgeNames() {
		ectx, cancel := context.WithTimeout(ctx, time.Minute)
		states, err := eng.TunnelStatus(ectx, name)
		cancel()
		if err != nil {
			rep.Tunnels = append(rep.Tunnels, watch.TunnelHealth{Edge: name, State: watch.StateUnknown, Since: now, LastFailure: err.Error()})
			continue
		}
		for _, s := range states {
			state := watch.StateDown
			if s.Up() {
				state = watch.StateUp
			}
			site := s.SiteID
			if site == "" {
				site = s.Peer
			}
			rep.Tunnels = append(rep.Tunnels, watch.TunnelHealth{Edge: name, Site: site, State: state, Since: now,
				Tunnel: watch.TunnelName(s.LocalSubnet, s.PeerSubnet), LastFailure: s.Failure})
		}
	}
	return rep
}
