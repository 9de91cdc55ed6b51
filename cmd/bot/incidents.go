package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/handlers"
	"ipsecbot/incident"
	"ipsecbot/store"
)

// incidentsLockTimeout is short: the terminal should hear at once that the bot holds the store.
const incidentsLockTimeout = 500 * time.Millisecond

// incidentsBotTimeout bounds the question to the running bot when it holds the store.
const incidentsBotTimeout = 3 * time.Second

// runIncidents reads incident state: `incidents list`, `incidents show ID` (the handoff
// brief, then the whole record) and `incidents export ID` (a postmortem skeleton in
// Markdown). It reads the store file; while the running bot holds the file it asks the bot
// on slack.listen instead, and prints the same.
func runIncidents(ctx context.Context, e *env, args []string) error {
	flags := newFlags("incidents", e)
	cfgPath := flags.String("config", "", "configuration file")
	asJSON := flags.Bool("json", false, "print one JSON document")
	edge := flags.String("edge", "", "list: only this edge's incidents")
	limit := flags.Int("limit", handlers.DefaultIncidentLimit, "list: at most this many, newest first (0: all)")
	outPath := flags.String("out", "", "export: write the Markdown to this file (default: standard output)")
	var statuses multiFlag
	flags.Var(&statuses, "status", "list: only incidents with this status (repeatable)")
	pos, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("want list, show ID or export ID")
	}
	if pos[0] != "list" && pos[0] != "show" && pos[0] != "export" {
		return usagef("unknown incidents command %q: want list, show ID or export ID", pos[0])
	}
	if *cfgPath == "" {
		return usagef("--config FILE is required")
	}
	switch sub := pos[0]; {
	case sub == "list" && len(pos) == 1:
		var filter []store.Status
		for _, s := range statuses {
			st, err := store.ParseStatus(s)
			if err != nil {
				return usagef("unknown --status %q (one of %s)", s, store.StatusNames())
			}
			filter = append(filter, st)
		}
		if *limit < 0 {
			return usagef("--limit must not be negative")
		}
		src, err := openIncidents(*cfgPath)
		if err != nil {
			return err
		}
		defer src.Close()
		list, err := src.Incidents(ctx, store.IncidentFilter{Statuses: filter, Edge: *edge, Limit: *limit})
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(e.stdout, emptyIfNil(list))
		}
		return printIncidentList(e.stdout, list)
	case (sub == "show" || sub == "export") && len(pos) == 2:
		src, err := openIncidents(*cfgPath)
		if err != nil {
			return err
		}
		defer src.Close()
		d, err := src.IncidentDetail(ctx, pos[1])
		if err != nil {
			return err
		}
		if sub == "show" && *asJSON {
			return writeJSON(e.stdout, d)
		}
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		v, err := incident.NewView(d, cfg.ArtifactsDir(), cfg.Slack.Cadence)
		if err != nil {
			return err
		}
		if sub == "export" {
			return writeExport(e, *outPath, v.Postmortem())
		}
		if _, err := fmt.Fprintln(e.stdout, v.Brief(incident.Style{})); err != nil {
			return err
		}
		return printIncidentDetail(e.stdout, d)
	case sub == "show" || sub == "export":
		return usagef("%s takes one incident ID, e.g. %s INC-12", sub, sub)
	default:
		return usagef("unknown incidents command %q: want list, show ID or export ID", strings.Join(pos, " "))
	}
}

// writeExport writes the postmortem to path, or standard output when path is empty.
func writeExport(e *env, path, md string) error {
	if path == "" {
		_, err := io.WriteString(e.stdout, md)
		return err
	}
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// incidentSource is where `bot incidents` reads: the store file, or the bot that holds it.
type incidentSource interface {
	Incidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error)
	IncidentDetail(ctx context.Context, id string) (store.IncidentDetail, error)
	Close() error
}

// openIncidents opens the configuration's store read-only or, when the running bot holds it
// (bbolt lets one process have the file), returns a source that asks the bot.
func openIncidents(cfgPath string) (incidentSource, error) {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(config.NeedIncidents); err != nil {
		return nil, err
	}
	path := cfg.Path(cfg.Store.Path)
	db, err := store.Open(path, store.Options{ReadOnly: true, LockTimeout: incidentsLockTimeout})
	switch {
	case errors.Is(err, store.ErrInUse):
		inUse := fmt.Sprintf("the store %s is in use by another process (is `bot serve` running with this configuration?)", path)
		if cfg.Slack.Listen == "" {
			return nil, fmt.Errorf("%s, and the configuration has no slack.listen to ask the bot on; incidents can be read from the terminal once it stops", inUse)
		}
		c, err := handlers.NewIncidentsClient(cfg.Slack.Listen, incidentsBotTimeout)
		if err != nil {
			return nil, fmt.Errorf("%s, and the bot cannot be asked: %w", inUse, err)
		}
		return botIncidents{c, inUse}, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("no store at %s yet: nothing has been recorded with this configuration", path)
	case err != nil:
		return nil, err
	}
	return fileIncidents{db}, nil
}

// fileIncidents reads the store file.
type fileIncidents struct{ db *store.DB }

func (f fileIncidents) Incidents(_ context.Context, fl store.IncidentFilter) ([]store.Incident, error) {
	return f.db.Incidents(fl)
}

func (f fileIncidents) IncidentDetail(_ context.Context, id string) (store.IncidentDetail, error) {
	return f.db.IncidentDetail(id)
}

func (f fileIncidents) Close() error { return f.db.Close() }

// botIncidents asks the running bot. Its answers read as the file's; when it cannot answer,
// the one error line says that the store is held and what the bot said.
type botIncidents struct {
	client *handlers.IncidentsClient
	inUse  string // why the file was not read
}

func (b botIncidents) Incidents(ctx context.Context, fl store.IncidentFilter) ([]store.Incident, error) {
	list, err := b.client.Incidents(ctx, fl)
	return list, b.explain(err)
}

func (b botIncidents) IncidentDetail(ctx context.Context, id string) (store.IncidentDetail, error) {
	d, err := b.client.IncidentDetail(ctx, id)
	return d, b.explain(err)
}

func (b botIncidents) Close() error { return nil }

// explain keeps the bot's "incident INC-7: not found" as the file would say it, and puts any
// other failure after the reason the file was not read.
func (b botIncidents) explain(err error) error {
	if err == nil || errors.Is(err, store.ErrNotFound) {
		return err
	}
	return fmt.Errorf("%s, and asking the bot at %s%s failed: %w", b.inUse, b.client.URL(), handlers.IncidentsPath, err)
}

func printIncidentList(w io.Writer, list []store.Incident) error {
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "no incidents")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tEDGE\tSITE\tCAUSE\tUPDATED\tSUMMARY")
	for _, inc := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", inc.ID, inc.Status, inc.Edge, orDash(inc.Site),
			orDash(inc.Cause), diag.FormatTime(inc.Updated), orDash(singleLine(inc.Summary)))
	}
	return tw.Flush()
}

func printIncidentDetail(w io.Writer, d store.IncidentDetail) error {
	inc := d.Incident
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range [][2]string{
		{"incident", inc.ID}, {"status", string(inc.Status)}, {"edge", inc.Edge}, {"site", orDash(inc.Site)},
		{"cause", orDash(inc.Cause)}, {"summary", orDash(singleLine(inc.Summary))}, {"owner", orDash(inc.Owner)},
		{"requester", orDash(inc.Requester)}, {"channel", orDash(inc.Channel)}, {"thread", orDash(inc.ThreadTS)},
		{"created", diag.FormatTime(inc.Created)}, {"updated", diag.FormatTime(inc.Updated)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], f[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ntimeline (%d):\n", len(d.Timeline))
	for _, ev := range d.Timeline {
		fmt.Fprintf(w, "  %s  %-10s %s  %s\n", diag.FormatTime(ev.Time), ev.Kind, orDash(ev.Actor), singleLine(ev.Text))
	}
	fmt.Fprintf(w, "\nartifacts (%d):\n", len(d.Artifacts))
	for _, a := range d.Artifacts {
		fmt.Fprintf(w, "  %-7s %10d  %s  sha256:%s\n", a.Kind, a.Size, a.Path, a.SHA256)
	}
	return nil
}

// emptyIfNil makes an empty list print as [] rather than null in JSON.
func emptyIfNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// singleLine keeps a table row on one line.
func singleLine(s string) string { return strings.Join(strings.Fields(s), " ") }
