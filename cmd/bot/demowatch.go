package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/lab"
	"ipsecbot/store"
	"ipsecbot/watch"
)

// The watch demo's pace: a tunnel that drops every demoFlapEvery, swept every second, named
// unstable at its second drop.
const (
	demoFlapEvery  = 6 * time.Second
	demoSweepEvery = time.Second
	demoFlaps      = 2
)

// runDemoWatch is `bot demo --watch`: the lab's edge-01 with a tunnel that keeps dropping
// (authentication failed while down; the Edge itself reads healthy), the watcher sweeping it,
// and the automatic diagnosis it starts when the tunnel turns unstable, printed as it goes.
func runDemoWatch(ctx context.Context, e *env, dir string, secs int) error {
	labDir, err := os.MkdirTemp("", "bot-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(labDir)
	l, err := lab.Start(context.WithoutCancel(ctx), lab.Options{Scenario: "healthy", Dir: labDir, Edges: 1, FlapEvery: demoFlapEvery})
	if err != nil {
		return fmt.Errorf("start the lab: %w", err)
	}
	defer l.Close()
	cfg := l.Config()
	fmt.Fprintf(e.stderr, "demo: lab on loopback (NSX Manager %s, Edge SSH %s); %s's first tunnel drops every %s\n",
		cfg.Managers[0].URL, cfg.Edges[0].SSH.Address, cfg.Edges[0].Name, demoFlapEvery)
	db, err := store.Open(cfg.Path(cfg.Store.Path), store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	eng, err := engine.New(cfg, db, engine.Options{Logger: stderrLogger(e.stderr)})
	if err != nil {
		return err
	}
	defer eng.Close()
	targets, closeAll, err := watchTargets(cfg)
	if err != nil {
		return err
	}
	defer closeAll()

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	reports := make(chan *diag.Report, 1)
	auto := &watch.AutoDiagnose{Start: func(k watch.Key) error {
		fmt.Fprintf(e.stdout, "%s  automatic diagnosis of %s started (capture %ds)\n", diag.FormatTime(time.Now()), k.Edge, secs)
		rep, err := eng.Diagnose(ctx, diag.Request{Edge: k.Edge, Peer: peerOfSite(cfg, k.Edge, k.Site), CaptureSeconds: secs, OutDir: dir, Requester: "watch"})
		if rep != nil {
			reports <- rep
		}
		return err
	}}
	w, err := watch.New(watch.Config{Targets: targets, Store: db,
		Policy:   watch.Policy{DownAfter: time.Minute, Flaps: demoFlaps, FlapWindow: time.Minute, ClearAfter: time.Minute},
		Sweep:    watch.SweepOptions{Concurrency: 4, Timeout: 5 * time.Second},
		Next:     func(t time.Time) time.Time { return t.Add(demoSweepEvery) },
		Notifier: watch.Notifiers{printChanges(e.stdout), auto},
	})
	if err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	defer func() { stop(); <-done; auto.Wait() }()
	select {
	case rep := <-reports:
		stop()
		engine.WriteVerdict(e.stdout, rep, rep.Dir)
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
