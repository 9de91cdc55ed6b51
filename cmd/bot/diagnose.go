package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"golang.org/x/term"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/store"
)

// runDiagnose is `bot diagnose EDGE [--peer NAME] --config FILE [--json] [--out DIR]
// [--capture-seconds N]`: the procedure against an edge of the inventory, progress on stderr,
// the verdict (or with --json the report, alone) on stdout. Exit 0 whatever the cause found.
func runDiagnose(ctx context.Context, e *env, args []string) error {
	fs := newFlags("diagnose", e)
	peer := fs.String("peer", "", "the IPsec site's peer (default: the edge's first)")
	cfgPath := fs.String("config", "", "configuration file")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout")
	out := fs.String("out", "", "directory for the artifacts (default: under the store's artifacts directory)")
	secs := fs.Int("capture-seconds", engine.DefaultCaptureSeconds, "capture window in seconds")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return usagef("want exactly one EDGE (usage: bot diagnose EDGE --config FILE)")
	case *cfgPath == "":
		return usagef("--config FILE is required")
	case *secs <= 0:
		return usagef("--capture-seconds must be positive")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if err := cfg.Validate(config.NeedDiagnose); err != nil {
		return err
	}
	db, err := openStoreForRun(cfg, e.stderr)
	if err != nil {
		return err
	}
	if db != nil {
		defer db.Close()
	}
	return diagnoseAndPrint(ctx, e, cfg, db, diag.Request{Edge: pos[0], Peer: *peer, CaptureSeconds: *secs, OutDir: *out, Requester: "cli"},
		engine.Options{Logger: stderrLogger(e.stderr)}, *asJSON)
}

// diagnoseAndPrint runs one diagnosis with the terminal's progress printer and prints the
// result: the verdict as it would be posted, or the report as JSON (stdout holds nothing else).
// Captures a dead process left on the edges are cleaned up first.
func diagnoseAndPrint(ctx context.Context, e *env, cfg *config.Config, db *store.DB, req diag.Request, opts engine.Options, asJSON bool) error {
	eng, err := engine.New(cfg, db, opts)
	if err != nil {
		return err
	}
	defer eng.Close()
	if n, err := eng.CleanupCaptures(ctx); err != nil {
		fmt.Fprintf(e.stderr, "warning: stale captures: %v\n", err)
	} else if n > 0 {
		fmt.Fprintf(e.stderr, "removed %d capture(s) a previous run left on the edges\n", n)
	}
	progress := engine.NewProgress(e.stderr, isTerminal(e.stderr))
	rep, err := eng.Diagnose(ctx, req, progress.Listener())
	progress.Close()
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	engine.WriteVerdict(e.stdout, rep, rep.Dir)
	return nil
}

// openStoreForRun opens the configured store to record the incident. When another process
// (a running bot) holds it, the run goes on unrecorded, with a warning.
func openStoreForRun(cfg *config.Config, stderr io.Writer) (*store.DB, error) {
	if cfg.Store.Path == "" {
		return nil, nil
	}
	db, err := store.Open(cfg.Path(cfg.Store.Path), store.Options{LockTimeout: time.Second})
	if errors.Is(err, store.ErrInUse) {
		fmt.Fprintf(stderr, "warning: %s is in use by another process (a running bot?): this run is not recorded\n", cfg.Store.Path)
		return nil, nil
	}
	return db, err
}

// stderrLogger logs warnings and errors as text on stderr.
func stderrLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// isTerminal reports whether w is a terminal (the progress spinner is drawn only then).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
