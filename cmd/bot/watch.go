package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ipsecbot/config"
	"ipsecbot/diag/engine"
	"ipsecbot/diag/nsx"
	"ipsecbot/handlers"
	"ipsecbot/store"
	"ipsecbot/watch"
)

// runWatch is `bot watch --config FILE`: the tunnel watcher in the foreground, one line per
// state change on stdout, until interrupted.
func runWatch(ctx context.Context, e *env, args []string) error {
	fs := newFlags("watch", e)
	cfgPath := fs.String("config", "", "configuration file")
	cfg, err := loadFlagsAndConfig(fs, args, cfgPath, config.NeedWatch)
	if err != nil {
		return err
	}
	targets, closeAll, err := watchTargets(cfg)
	if err != nil {
		return err
	}
	defer closeAll()
	path := cfg.Path(cfg.Store.Path)
	db, err := store.Open(path, store.Options{})
	if errors.Is(err, store.ErrInUse) {
		return fmt.Errorf("the store %s is in use by another process (is `bot serve` running with this configuration?)", path)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	lg := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	w, err := watch.New(watchConfig(cfg, db, targets, printChanges(e.stdout), lg))
	if err != nil {
		return err
	}
	hints := &hintRelay{}
	hints.w.Store(w)
	_, stopSyslog, err := startSyslog(ctx, cfg, nil, lg, hints.hint)
	if err != nil {
		return err
	}
	defer stopSyslog()
	fmt.Fprintf(e.stdout, "watching %d edges (interval %s, store %s); state changes follow\n", len(targets), orDefault(cfg.Watch.Interval, config.DefaultWatchInterval.String()), path)
	return w.Run(ctx)
}

// loadFlagsAndConfig parses a command that takes flags only, one of them --config, and loads
// and validates the configuration for need.
func loadFlagsAndConfig(fs *flagSet, args []string, cfgPath *string, need config.Needs) (*config.Config, error) {
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usagef("unexpected argument %q", pos[0])
	}
	if *cfgPath == "" {
		return nil, usagef("--config FILE is required")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(need); err != nil {
		return nil, err
	}
	return cfg, nil
}

// watchConfig is the watcher's configuration from the file.
func watchConfig(cfg *config.Config, db *store.DB, targets []watch.Target, n watch.Notifier, lg *slog.Logger) watch.Config {
	next, now := cfg.Watch.Next(), time.Now()
	// Jitter spreads the requests over a tenth of the interval, at most a second.
	jitter := min(time.Second, next(now).Sub(now)/10)
	return watch.Config{
		Targets: targets,
		Store:   db,
		Policy: watch.Policy{DownAfter: cfg.Watch.DownHold(), Flaps: cfg.Watch.FlapCount(),
			FlapWindow: cfg.Watch.FlapPeriod(), ClearAfter: cfg.Watch.ClearHold()},
		Sweep:     watch.SweepOptions{Concurrency: cfg.Watch.Workers(), Timeout: watch.DefaultTimeout, Jitter: jitter},
		Next:      next,
		Retention: cfg.Store.Retention(),
		Notifier:  n,
		Logger:    lg,
	}
}

// watchTargets makes one NSX client per manager and a target per edge.
func watchTargets(cfg *config.Config) ([]watch.Target, func(), error) {
	clients := map[string]*nsx.Client{}
	closeAll := func() {
		for _, c := range clients {
			c.Close()
		}
	}
	var targets []watch.Target
	for i := range cfg.Edges {
		ed := &cfg.Edges[i]
		c, ok := clients[ed.Manager]
		if !ok {
			m, _ := cfg.Manager(ed.Manager)
			pw, err := cfg.ManagerPassword(m)
			if err != nil {
				closeAll()
				return nil, nil, fmt.Errorf("manager %s: %w", m.Name, err)
			}
			c, err = nsx.New(nsx.Manager{Name: m.Name, URL: m.URL, User: m.User, Password: pw,
				CAFile: cfg.Path(m.CAFile), Timeout: m.RequestTimeout(), IdleConns: cfg.Watch.Workers()})
			if err != nil {
				closeAll()
				return nil, nil, err
			}
			clients[ed.Manager] = c
		}
		targets = append(targets, watch.Target{Edge: ed.Name, EdgeID: ed.EdgeID, Source: c})
	}
	return targets, closeAll, nil
}

// startWatcher runs the watcher inside `bot serve` when the configuration has a watch
// section: its series go on the bot's /metrics, its state changes to the log, with
// slack.alert_channel set to Slack as alerts (bot's), and to the automatic diagnosis on eng
// (said in the alert's thread when there are alerts, else only recorded); the syslog's flap
// lines reach it through hints (may be nil). stop waits for the sweep in progress, and the
// diagnoses it started, to end.
func startWatcher(ctx context.Context, cfg *config.Config, db *store.DB, reg prometheus.Registerer, bot *handlers.Server, lg *slog.Logger,
	hints *hintRelay, eng *engine.Engine) (stop func(), err error) {
	if !cfg.Watch.Enabled() {
		return func() {}, nil
	}
	targets, closeAll, err := watchTargets(cfg)
	if err != nil {
		return nil, err
	}
	metrics, err := watch.NewMetrics(reg)
	if err != nil {
		closeAll()
		return nil, err
	}
	notifiers := watch.Notifiers{watch.NotifierFunc(func(_ context.Context, t watch.Transition) {
		lg.Info("tunnel state", "edge", t.Edge, "site", t.Site, "tunnel", t.Tunnel, "from", t.From, "to", t.To, "reason", t.Reason)
	})}
	observers := watch.Observers{metrics}
	diagnose := diagnoseQuietly(ctx, eng)
	if ch := cfg.Slack.AlertChannel; ch != "" {
		alerts, err := bot.NewAlerts(handlers.AlertOptions{Channel: ch, ClearAfter: cfg.Watch.ClearHold(), Context: ctx})
		if err != nil {
			closeAll()
			return nil, err
		}
		notifiers, observers = append(notifiers, alerts), append(observers, alerts)
		diagnose = func(k watch.Key, peer string) error { return alerts.Diagnose(ctx, k, peer) }
	}
	// After the alerts: a change's alert is in Slack before its diagnosis asks for the thread.
	auto := autoDiagnose(cfg, lg, diagnose)
	wc := watchConfig(cfg, db, targets, append(notifiers, auto), lg)
	wc.Observer = observers
	w, err := watch.New(wc)
	if err != nil {
		closeAll()
		return nil, err
	}
	if hints != nil {
		hints.w.Store(w)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(wctx)
	}()
	return func() {
		cancel()
		<-done
		auto.Wait()
		closeAll()
	}, nil
}

// printChanges prints one line per state change, with its time and zone.
func printChanges(w io.Writer) watch.Notifier {
	return watch.NotifierFunc(func(_ context.Context, t watch.Transition) {
		from := t.From
		if from == "" {
			from = "new"
		}
		line := fmt.Sprintf("%s  %s %s %s  %s -> %s", t.At.Local().Format("2006-01-02 15:04:05 MST"), t.Edge, t.Site, t.Tunnel, from, t.To)
		if t.Reason != "" {
			line += "  (" + singleLine(t.Reason) + ")"
		}
		fmt.Fprintln(w, line)
	})
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
