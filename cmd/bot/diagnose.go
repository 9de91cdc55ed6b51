package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/diag/wskeys"
	"ipsecbot/incident"
	"ipsecbot/store"
)

// runDiagnose is `bot diagnose EDGE [--peer NAME] --config FILE [--json] [--out DIR]
// [--capture-seconds N] [--data-path]`: the procedure against an edge of the inventory, progress on stderr,
// the verdict (or with --json the report, alone) on stdout. Exit 0 whatever the cause found,
// 3 when no source could be collected.
func runDiagnose(ctx context.Context, e *env, args []string) error {
	fs := newFlags("diagnose", e)
	peer := fs.String("peer", "", "the IPsec site's peer (default: the first whose tunnel the API reports down, else the edge's first)")
	cfgPath := fs.String("config", "", "configuration file")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout")
	out := fs.String("out", "", "directory for the artifacts (default: under the store's artifacts directory); "+outRule)
	secs := fs.Int("capture-seconds", config.DefaultCaptureWindowSeconds, "capture window in seconds")
	dataPath := fs.Bool("data-path", false, "the traffic fails: after steps 1-7, follow a ping through four capture points (step 8; the peer's datapath block names the hosts)")
	keysPath := fs.String("keys", "", "the tunnel's keys (esp/ike lines, docs/design.md): Wireshark's esp_sa and ikev2_decryption_table are written beside the capture")
	deadline := fs.Duration("deadline", 0, "the run's overall deadline, window included (default: the window + 2m); what it cuts off is named in the report")
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
	case *deadline < 0:
		return usagef("--deadline must not be negative")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if err := cfg.Validate(config.NeedDiagnose); err != nil {
		return err
	}
	// An edge or peer the configuration does not name is a mistake in the arguments: exit 2.
	ec, ok := cfg.Edge(pos[0])
	if !ok {
		return usagef("unknown edge %q (known: %s)", pos[0], strings.Join(cfg.EdgeNames(), ", "))
	}
	if *peer != "" {
		if _, ok := ec.Peer(*peer); !ok {
			names := make([]string, len(ec.Peers))
			for i, p := range ec.Peers {
				names[i] = p.Name
			}
			return usagef("edge %s has no peer %q (its peers: %s)", ec.Name, *peer, strings.Join(names, ", "))
		}
	}
	if err := checkWindow(*secs, ec.Capture.TimeLimit()); err != nil {
		return err
	}
	keys, err := readKeys(*keysPath)
	if err != nil {
		return err
	}
	if *out != "" {
		if err := prepareOut(*out); err != nil {
			return err
		}
	}
	db, err := openStoreForRun(cfg, e.stderr)
	if err != nil {
		return err
	}
	if db != nil {
		defer db.Close()
	}
	return diagnoseAndPrint(ctx, e, cfg, db, diag.Request{Edge: pos[0], Peer: *peer, CaptureSeconds: *secs, OutDir: *out, Requester: "cli", DataPath: *dataPath, Deadline: *deadline},
		engine.Options{Logger: stderrLogger(e.stderr), Journal: journalFor(cfg)}, *asJSON, keys)
}

// diagnoseAndPrint runs one diagnosis with the terminal's progress printer and prints the
// result: the verdict as it would be posted, or the report as JSON (stdout holds nothing else).
// Captures a dead process left on the edges are cleaned up first.
// keys, when not nil, are written as Wireshark's decryption tables beside the capture.
func diagnoseAndPrint(ctx context.Context, e *env, cfg *config.Config, db *store.DB, req diag.Request, opts engine.Options, asJSON bool, keys *wskeys.Keys) error {
	if db != nil {
		// Holding the store, this is the only process of the bot: a diagnosis still marked
		// running was left by one that died.
		opts.Incidents = incident.New(db, incident.Options{})
		if _, err := opts.Incidents.InterruptDiagnosing("the process running this diagnosis stopped"); err != nil {
			fmt.Fprintf(e.stderr, "warning: diagnoses left running: %v\n", err)
		}
	}
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
	if rep == nil {
		return err
	}
	if keys != nil && rep.Dir != "" {
		writeKeyTables(e, rep.Dir, keys)
	}
	// A report comes back also when the run was interrupted or its files could not be
	// written: its verdict is printed all the same, then the error.
	if asJSON {
		if jerr := writeJSON(e.stdout, rep); jerr != nil {
			return errors.Join(err, jerr)
		}
	} else {
		engine.WriteVerdict(e.stdout, rep, rep.Dir)
	}
	if err == nil && engine.NothingCollected(rep) {
		return errNothingCollected
	}
	return err
}

// errNothingCollected ends a diagnosis whose every collecting step failed or was skipped
// (no logs, capture, show output, peer state nor API statistics): exit status 3, the verdict
// printed all the same.
var errNothingCollected = errors.New("nothing was collected: every collecting step (logs, capture, show, peer state, API statistics) failed or was skipped")

// openStoreForRun opens the configured store to record the incident. When another process
// (a running bot) holds it, the incident goes unrecorded, with a warning; the capture is
// still recorded, in the capture journal beside the store, which the holder watches.
func openStoreForRun(cfg *config.Config, stderr io.Writer) (*store.DB, error) {
	if cfg.Store.Path == "" {
		return nil, nil
	}
	db, err := store.Open(cfg.Path(cfg.Store.Path), store.Options{LockTimeout: time.Second})
	if errors.Is(err, store.ErrInUse) {
		fmt.Fprintf(stderr, "warning: %s is in use by another process (a running bot?): this run's incident is not recorded; "+
			"its capture is recorded in %s for that process to remove should this one die\n", cfg.Store.Path, journalFor(cfg).Dir())
		return nil, nil
	}
	return db, err
}

// journalFor is the capture journal beside the configured store (nil without a store).
func journalFor(cfg *config.Config) *store.CaptureJournal {
	if cfg.Store.Path == "" {
		return nil
	}
	return store.JournalFor(cfg.Path(cfg.Store.Path))
}

// outRule is what --out accepts, as prepareOut enforces it (said in --help).
const outRule = "created if missing; an earlier report's files in it are replaced, any other non-empty directory is refused"

// checkWindow refuses a capture window above the edge's time cap (capture.max_seconds): the
// Edge would stop the capture before the window ends.
func checkWindow(secs int, limit time.Duration) error {
	if time.Duration(secs)*time.Second > limit {
		return usagef("--capture-seconds %d is above the edge's capture.max_seconds (%d)", secs, int(limit/time.Second))
	}
	return nil
}

// prepareOut makes dir ready for a report before the run starts: created and writable; when it
// holds an earlier report, that report's files are removed (and nothing else); a non-empty
// directory without a report is refused, untouched.
func prepareOut(dir string) error {
	if dir == "" {
		return usagef("--out must name a directory")
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	case err != nil:
		return fmt.Errorf("--out: %w", err)
	case len(entries) > 0:
		if err := removeEarlierReport(dir); err != nil {
			return err
		}
	}
	probe, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("--out %s is not writable: %w", dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// removeEarlierReport deletes report.json, report.md and the artifacts report.json lists.
func removeEarlierReport(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return usagef("--out %s is not empty and holds no earlier report: choose an empty or new directory", dir)
	}
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	var old struct {
		Artifacts []diag.Artifact `json:"artifacts"`
	}
	if err := json.Unmarshal(data, &old); err != nil {
		return usagef("--out %s holds a report.json that is not a report: choose another directory", dir)
	}
	names := []string{"report.json", "report.md"}
	for _, a := range old.Artifacts {
		names = append(names, a.Name)
	}
	for _, n := range names {
		if !filepath.IsLocal(filepath.FromSlash(n)) {
			continue // never outside dir, whatever the file says
		}
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(n))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("--out: remove the earlier report's %s: %w", n, err)
		}
	}
	return nil
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
