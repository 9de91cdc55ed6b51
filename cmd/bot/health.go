package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"text/tabwriter"
	"time"

	"ipsecbot/config"
	"ipsecbot/handlers"
	"ipsecbot/store"
	"ipsecbot/watch"
)

// runHealth is `bot health --config FILE [--edge E] [--since DUR] [--json]`: every tunnel's
// watch state, its drops within --since and its last failure message, from the store (or from
// the running bot when it holds the store).
func runHealth(ctx context.Context, e *env, args []string) error {
	flags := newFlags("health", e)
	cfgPath := flags.String("config", "", "configuration file")
	edge := flags.String("edge", "", "only this edge's tunnels")
	since := flags.Duration("since", watch.DefaultHealthWindow, "count drops within this window (drops_24h)")
	asJSON := flags.Bool("json", false, `print {"tunnels": [...]}`)
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
func readHealth(ctx context.Context, cfg *config.Config, edge string, since time.Duration) (watch.HealthReport, error) {
	path := cfg.Path(cfg.Store.Path)
	db, err := store.Open(path, store.Options{ReadOnly: true, LockTimeout: incidentsLockTimeout})
	switch {
	case errors.Is(err, store.ErrInUse):
		inUse := fmt.Sprintf("the store %s is in use by another process (`bot serve` or `bot watch`)", path)
		if cfg.Slack.Listen == "" {
			return watch.HealthReport{}, fmt.Errorf("%s, and the configuration has no slack.listen to ask the bot on", inUse)
		}
		c, err := handlers.NewIncidentsClient(cfg.Slack.Listen, incidentsBotTimeout)
		if err != nil {
			return watch.HealthReport{}, fmt.Errorf("%s, and the bot cannot be asked: %w", inUse, err)
		}
		rep, err := c.Health(ctx, edge, since)
		if err != nil {
			return watch.HealthReport{}, fmt.Errorf("%s, and asking the bot at %s%s failed: %w", inUse, c.URL(), handlers.HealthPath, err)
		}
		return rep, nil
	case errors.Is(err, fs.ErrNotExist):
		return watch.HealthReport{}, fmt.Errorf("no store at %s yet: run `bot watch` with this configuration first", path)
	case err != nil:
		return watch.HealthReport{}, err
	}
	defer db.Close()
	return watch.Health(db, edge, since, time.Now())
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
