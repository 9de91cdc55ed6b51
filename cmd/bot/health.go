package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"text/tabwriter"
	"time"

	"ipsecbot/chart"
	"ipsecbot/config"
	"ipsecbot/handlers"
	"ipsecbot/store"
	"ipsecbot/watch"
)

// runHealth is `bot health --config FILE [--edge E] [--since DUR] [--png FILE] [--json]`: every
// tunnel's watch state, its drops within --since and its last failure message, from the store
// (or from the running bot when it holds the store); --png draws their timeline into FILE.
func runHealth(ctx context.Context, e *env, args []string) error {
	flags := newFlags("health", e)
	cfgPath := flags.String("config", "", "configuration file")
	edge := flags.String("edge", "", "only this edge's tunnels")
	since := flags.Duration("since", watch.DefaultHealthWindow, "count drops within this window (drops_24h)")
	asJSON := flags.Bool("json", false, `print {"tunnels": [...]}`)
	pngPath := flags.String("png", "", "draw the tunnels' states, drops and failure messages over --since as a PNG timeline into FILE (all tunnels of --edge)")
	cfg, err := loadFlagsAndConfig(flags, args, cfgPath, config.NeedHealth)
	if err != nil {
		return err
	}
	if *since <= 0 {
		return usagef("--since must be a positive duration")
	}
	if _, ok := cfg.Edge(*edge); *edge != "" && !ok {
		return usagef("no edge %q in the configuration", *edge)
	}
	if *pngPath != "" {
		return writeHealthChart(ctx, e, cfg, *edge, *since, *pngPath)
	}
	rep, err := readHealth(ctx, cfg, *edge, *since)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, rep)
	}
	return printHealth(e.stdout, rep)
}

// readHealth reads the store read-only, or asks the running bot when it holds the file.
func readHealth(ctx context.Context, cfg *config.Config, edge string, since time.Duration) (rep watch.HealthReport, err error) {
	err = fromStoreOrBot(ctx, cfg, handlers.HealthPath, incidentsBotTimeout,
		func(db *store.DB) (err error) { rep, err = watch.Health(db, edge, since, time.Now()); return err },
		func(c *handlers.IncidentsClient) (err error) { rep, err = c.Health(ctx, edge, since); return err })
	return rep, err
}

// writeHealthChart draws the tunnels' timeline (from the store or the running bot) into path.
func writeHealthChart(ctx context.Context, e *env, cfg *config.Config, edge string, since time.Duration, path string) error {
	var ch handlers.HealthChart
	err := fromStoreOrBot(ctx, cfg, handlers.HealthChartPath, chartBotTimeout,
		func(db *store.DB) error {
			var buf bytes.Buffer
			n, err := chart.Health(&buf, db, edge, since, time.Now())
			ch = handlers.HealthChart{Tunnels: n, PNG: buf.Bytes()}
			return err
		},
		func(c *handlers.IncidentsClient) (err error) { ch, err = c.HealthChart(ctx, edge, since); return err })
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, ch.PNG, 0o644); err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "wrote %s: %d tunnels over the last %s\n", path, ch.Tunnels, since)
	return err
}

// chartBotTimeout is how long the running bot may take to draw a chart (under a second of CPU
// for fifty flapping tunnels, chart's BenchmarkWritePNG; more on a loaded host).
const chartBotTimeout = 30 * time.Second

// fromStoreOrBot runs local on the store opened read-only, or remote against the running bot
// when it holds the file (asking it on endpoint, waiting at most timeout).
func fromStoreOrBot(ctx context.Context, cfg *config.Config, endpoint string, timeout time.Duration, local func(*store.DB) error, remote func(*handlers.IncidentsClient) error) error {
	path := cfg.Path(cfg.Store.Path)
	db, err := store.Open(path, store.Options{ReadOnly: true, LockTimeout: incidentsLockTimeout})
	switch {
	case errors.Is(err, store.ErrInUse):
		inUse := fmt.Sprintf("the store %s is in use by another process (`bot serve` or `bot watch`)", path)
		if cfg.Slack.Listen == "" {
			return fmt.Errorf("%s, and the configuration has no slack.listen to ask the bot on", inUse)
		}
		c, err := handlers.NewIncidentsClient(cfg.Slack.Listen, timeout)
		if err != nil {
			return fmt.Errorf("%s, and the bot cannot be asked: %w", inUse, err)
		}
		if err := remote(c); err != nil {
			return fmt.Errorf("%s, and asking the bot at %s%s failed: %w", inUse, c.URL(), endpoint, err)
		}
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("no store at %s yet: run `bot watch` with this configuration first", path)
	case err != nil:
		return err
	}
	defer db.Close()
	return local(db)
}

func printHealth(w io.Writer, rep watch.HealthReport) error {
	if len(rep.Tunnels) == 0 {
		_, err := fmt.Fprintln(w, "no tunnels watched yet")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EDGE\tSITE\tTUNNEL\tSTATE\tSINCE\tDROPS\tLAST FAILURE")
	for _, t := range rep.Tunnels {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", t.Edge, t.Site, t.Tunnel, t.State,
			t.Since.Local().Format("2006-01-02 15:04:05 MST"), t.Drops, orDash(singleLine(t.LastFailure)))
	}
	return tw.Flush()
}
