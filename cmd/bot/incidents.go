package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"ipsecbot/config"
	"ipsecbot/store"
)

// incidentsLockTimeout is short: the terminal should hear at once that the bot holds the store.
const incidentsLockTimeout = 500 * time.Millisecond

// runIncidents reads incident state: `incidents list` and `incidents show ID`.
func runIncidents(_ context.Context, e *env, args []string) error {
	flags := newFlags("incidents", e)
	cfgPath := flags.String("config", "", "configuration file")
	asJSON := flags.Bool("json", false, "print one JSON document")
	edge := flags.String("edge", "", "list: only this edge's incidents")
	limit := flags.Int("limit", 50, "list: at most this many, newest first (0: all)")
	var statuses multiFlag
	flags.Var(&statuses, "status", "list: only incidents with this status (repeatable)")
	pos, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("want list or show ID")
	}
	if *cfgPath == "" {
		return usagef("--config FILE is required")
	}
	switch sub := pos[0]; {
	case sub == "list" && len(pos) == 1:
		for _, s := range statuses {
			if !slices.Contains(store.Statuses, s) {
				return usagef("unknown --status %q (one of %s)", s, strings.Join(store.Statuses, ", "))
			}
		}
		if *limit < 0 {
			return usagef("--limit must not be negative")
		}
		db, err := openIncidentStore(*cfgPath)
		if err != nil {
			return err
		}
		defer db.Close()
		list, err := db.Incidents(store.IncidentFilter{Statuses: statuses, Edge: *edge, Limit: *limit})
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(e.stdout, emptyIfNil(list))
		}
		return printIncidentList(e.stdout, list)
	case sub == "show" && len(pos) == 2:
		db, err := openIncidentStore(*cfgPath)
		if err != nil {
			return err
		}
		defer db.Close()
		d, err := loadIncidentDetail(db, pos[1])
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(e.stdout, d)
		}
		return printIncidentDetail(e.stdout, d)
	case sub == "show":
		return usagef("show takes one incident ID, e.g. show INC-12")
	default:
		return usagef("unknown incidents command %q: want list or show ID", strings.Join(pos, " "))
	}
}

// openIncidentStore opens the configuration's store read-only, and says plainly when the
// running bot holds it.
func openIncidentStore(cfgPath string) (*store.DB, error) {
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
		return nil, fmt.Errorf("the store %s is in use by another process (is `bot serve` running with this configuration?); incidents can be read from the terminal once it stops", path)
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("no store at %s yet: nothing has been recorded with this configuration", path)
	}
	return db, err
}

// incidentDetail is what `incidents show` prints.
type incidentDetail struct {
	Incident  store.Incident   `json:"incident"`
	Timeline  []store.Event    `json:"timeline"`
	Artifacts []store.Artifact `json:"artifacts"`
}

func loadIncidentDetail(db *store.DB, id string) (incidentDetail, error) {
	inc, err := db.Incident(id)
	if err != nil {
		return incidentDetail{}, err
	}
	d := incidentDetail{Incident: inc}
	if d.Timeline, err = db.Timeline(inc.ID); err != nil {
		return incidentDetail{}, err
	}
	if d.Artifacts, err = db.Artifacts(inc.ID); err != nil {
		return incidentDetail{}, err
	}
	d.Timeline, d.Artifacts = emptyIfNil(d.Timeline), emptyIfNil(d.Artifacts)
	return d, nil
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
			orDash(inc.Cause), inc.Updated.UTC().Format(time.RFC3339), orDash(singleLine(inc.Summary)))
	}
	return tw.Flush()
}

func printIncidentDetail(w io.Writer, d incidentDetail) error {
	inc := d.Incident
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range [][2]string{
		{"incident", inc.ID}, {"status", inc.Status}, {"edge", inc.Edge}, {"site", orDash(inc.Site)},
		{"cause", orDash(inc.Cause)}, {"summary", orDash(singleLine(inc.Summary))}, {"owner", orDash(inc.Owner)},
		{"requester", orDash(inc.Requester)}, {"channel", orDash(inc.Channel)}, {"thread", orDash(inc.ThreadTS)},
		{"created", inc.Created.UTC().Format(time.RFC3339)}, {"updated", inc.Updated.UTC().Format(time.RFC3339)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], f[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ntimeline (%d):\n", len(d.Timeline))
	for _, ev := range d.Timeline {
		fmt.Fprintf(w, "  %s  %-10s %s  %s\n", ev.Time.UTC().Format(time.RFC3339), ev.Kind, orDash(ev.Actor), singleLine(ev.Text))
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
