package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/robfig/cron/v3"

	"ipsecbot/config"
	"ipsecbot/diag/engine"
	"ipsecbot/handlers"
	"ipsecbot/incident"
	"ipsecbot/store"
)

// runServe is `bot serve --config FILE`: the bot in Slack (HTTP or Socket Mode), its cron
// jobs, /healthz and /metrics, until SIGTERM or interrupt.
func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags("serve", e)
	cfgPath := fs.String("config", "", "configuration file")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *cfgPath == "" {
		return usagef("--config FILE is required")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if err := cfg.Validate(config.NeedServe); err != nil {
		return err
	}
	return serve(ctx, e, cfg)
}

// serve wires config, store, engine, Slack and cron, and runs until ctx ends.
func serve(ctx context.Context, e *env, cfg *config.Config) error {
	lg := slog.New(slog.NewTextHandler(e.stderr, nil))
	botToken, err := cfg.BotToken()
	if err != nil {
		return err
	}
	socket := cfg.Slack.Mode == config.SlackSocket
	var appToken, secret string
	if socket {
		if appToken, err = cfg.AppToken(); err != nil {
			return err
		}
	} else if secret, err = cfg.SigningSecret(); err != nil {
		return err
	}
	// Every secret the inventory names is read now: one that cannot be read stops the start
	// with its key named, rather than failing (or worse) the first diagnosis that needs it.
	if err := cfg.CheckSecrets(); err != nil {
		return fmt.Errorf("cannot start: %w", err)
	}

	db, err := store.Open(cfg.Path(cfg.Store.Path), store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	hints := &hintRelay{}
	received, stopSyslog, err := startSyslog(ctx, cfg, reg, lg, hints.hint)
	if err != nil {
		return err
	}
	defer stopSyslog()
	artifacts := cfg.ArtifactsDir()
	// One lifecycle for the engine and the handlers: one run per edge, one order of writes.
	incidents := incident.New(db, incident.Options{})
	eng, err := engine.New(cfg, db, engine.Options{Logger: lg, ArtifactsDir: artifacts, Incidents: incidents, ReceivedLogs: received,
		Journal: journalFor(cfg)})
	if err != nil {
		return err
	}
	defer eng.Close()

	bot, err := handlers.New(handlers.Options{
		Config: cfg, Store: db, Incidents: incidents, Engine: eng, Status: tunnelStatus(eng), Registry: reg,
		Slack:         handlers.NewSlackClient(botToken, appToken, cfg.Slack.APIURL, 30*time.Second),
		SigningSecret: secret, Logger: lg, ArtifactsDir: artifacts,
	})
	if err != nil {
		return err
	}
	// Start marks the incidents a previous process left running as interrupted (with a note in
	// their threads) before the engine removes the captures they left on the edges.
	if err := bot.Start(ctx); err != nil {
		return err
	}
	if n, err := eng.CleanupCaptures(ctx); err != nil {
		lg.Warn("captures left by a previous run could not all be removed", "cleaned", n, "err", err)
	} else if n > 0 {
		lg.Info("removed captures left by a previous run", "count", n)
	}
	sched, err := startCron(ctx, cfg, db, eng, bot, lg)
	if err != nil {
		return err
	}
	stopWatch, err := startWatcher(ctx, cfg, db, reg, bot, lg, hints, eng)
	if err != nil {
		return err
	}
	defer stopWatch()

	srvErr := make(chan error, 2)
	var httpSrv *http.Server
	if cfg.Slack.Listen != "" {
		ln, err := net.Listen("tcp", cfg.Slack.Listen)
		if err != nil {
			return fmt.Errorf("slack.listen: %w", err)
		}
		httpSrv = &http.Server{Handler: bot.Handler(), ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
		fmt.Fprintf(e.stdout, "listening on http://%s (mode %s)\n", ln.Addr(), cfg.Slack.Mode)
		go func() {
			if err := httpSrv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				srvErr <- err
			}
		}()
	}
	sockCtx, stopSocket := context.WithCancel(ctx)
	defer stopSocket()
	sockDone := make(chan struct{})
	if socket {
		go func() {
			defer close(sockDone)
			if err := bot.RunSocketMode(sockCtx); err != nil {
				srvErr <- fmt.Errorf("socket mode: %w", err)
			}
		}()
	} else {
		close(sockDone)
	}

	var runErr error
	select {
	case <-ctx.Done():
		lg.Info("shutting down")
	case runErr = <-srvErr:
		lg.Error("stopping", "err", runErr)
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if httpSrv != nil {
		_ = httpSrv.Shutdown(shutCtx)
	}
	stopSocket()
	<-sockDone
	select {
	case <-sched.Stop().Done():
	case <-shutCtx.Done():
	}
	if err := bot.Shutdown(shutCtx); err != nil {
		lg.Warn("shutdown did not finish cleanly", "err", err)
	}
	return runErr
}

// tunnelStatus adapts the engine's tunnel states to what `/ipsec status` shows.
func tunnelStatus(eng *engine.Engine) handlers.StatusFunc {
	return func(ctx context.Context, edge string) ([]handlers.Tunnel, error) {
		states, err := eng.TunnelStatus(ctx, edge)
		if err != nil {
			return nil, err
		}
		out := make([]handlers.Tunnel, 0, len(states))
		for _, s := range states {
			site := s.PeerName
			if site == "" {
				site = s.Peer
			}
			out = append(out, handlers.Tunnel{Site: site, Tunnel: s.LocalSubnet + " <-> " + s.PeerSubnet, State: s.Tunnel, Detail: s.Failure})
		}
		return out, nil
	}
}

// cronLogger adapts slog to cron's logger.
type cronLogger struct{ lg *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.lg.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.lg.Error("cron: "+msg, append(kv, "err", err)...)
}

// newScheduler returns the cron that runs the bot's jobs: in UTC, each job's panic
// recovered and logged (cron's default chain would let it end the process), and no job
// overlapping itself. Recover sits inside SkipIfStillRunning: that wrapper hands its token
// back only when the job returns, so a panic passing through it would skip the job forever.
func newScheduler(lg *slog.Logger) *cron.Cron {
	cl := cronLogger{lg}
	return cron.New(cron.WithLocation(time.UTC), cron.WithLogger(cl),
		cron.WithChain(cron.SkipIfStillRunning(cl), cron.Recover(cl)))
}

// startCron schedules the health sweep (every edge's tunnels into the store, old samples
// pruned), the health post (a summary to slack.health_channel) and the store's backup when
// configured.
func startCron(ctx context.Context, cfg *config.Config, db *store.DB, eng *engine.Engine, bot *handlers.Server, lg *slog.Logger) (*cron.Cron, error) {
	c := newScheduler(lg)
	if b := cfg.Store.Backup; b != nil {
		if _, err := c.AddFunc(b.Schedule, func() { scheduledBackup(cfg, db, lg) }); err != nil {
			return nil, fmt.Errorf("store.backup.schedule: %w", err)
		}
	}
	if spec := cfg.Schedule.HealthSweep; spec != "" {
		if _, err := c.AddFunc(spec, func() { healthSweep(ctx, cfg, db, eng, lg) }); err != nil {
			return nil, fmt.Errorf("schedule.health_sweep: %w", err)
		}
	}
	if spec := cfg.Schedule.HealthPost; spec != "" && cfg.Slack.HealthChannel != "" {
		if _, err := c.AddFunc(spec, func() { healthPost(ctx, cfg, db, eng, bot, lg) }); err != nil {
			return nil, fmt.Errorf("schedule.health_post: %w", err)
		}
	}
	c.Start()
	return c, nil
}

func healthSweep(ctx context.Context, cfg *config.Config, db *store.DB, eng *engine.Engine, lg *slog.Logger) {
	now := time.Now().UTC()
	for _, name := range cfg.EdgeNames() {
		ectx, cancel := context.WithTimeout(ctx, time.Minute)
		states, err := eng.TunnelStatus(ectx, name)
		cancel()
		if err != nil {
			lg.Warn("health sweep", "edge", name, "err", err)
			continue
		}
		samples := make([]store.HealthSample, 0, len(states))
		for _, s := range states {
			samples = append(samples, store.HealthSample{Edge: name, Site: s.SiteID, Tunnel: s.LocalSubnet + "-" + s.PeerSubnet, State: s.Tunnel, Time: now})
		}
		if err := db.AppendHealth(samples...); err != nil {
			lg.Error("health samples not stored", "edge", name, "err", err)
		}
	}
	if _, err := db.PruneHealth(now.Add(-cfg.Store.Retention())); err != nil {
		lg.Error("health prune", "err", err)
	}
}

// scheduledBackup writes the store's backup into store.backup.dir and keeps the newest
// store.backup.keep there.
func scheduledBackup(cfg *config.Config, db *store.DB, lg *slog.Logger) {
	path, err := db.BackupTo(cfg.BackupDir(), cfg.BackupKeep(), time.Now())
	if err != nil {
		lg.Error("scheduled store backup", "dir", cfg.BackupDir(), "err", err)
		return
	}
	lg.Info("store backed up", "file", path)
}
