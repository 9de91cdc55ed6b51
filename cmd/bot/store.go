package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"ipsecbot/config"
	"ipsecbot/handlers"
	"ipsecbot/store"
)

// storeBotTimeout bounds a backup taken through the running bot.
const storeBotTimeout = 10 * time.Minute

// runStore is `bot store check|backup FILE|compact --config F`: the store's upkeep.
//
//   - check: bbolt's consistency check, one line per problem, exit 1 if any. With FILE it
//     checks that file (a backup) instead of the configuration's store.
//   - backup FILE: a consistent copy, also while `bot serve` runs (then through the bot).
//   - compact: rewrite the store without its free pages; refused while the bot runs.
func runStore(ctx context.Context, e *env, args []string) error {
	flags := newFlags("store", e)
	cfgPath := flags.String("config", "", "configuration file")
	pos, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("want check, backup FILE or compact")
	}
	sub, rest := pos[0], pos[1:]
	switch {
	case sub == "check" && len(rest) == 1:
		return storeCheck(e, rest[0])
	case sub == "check" && len(rest) == 0, sub == "backup" && len(rest) == 1, sub == "compact" && len(rest) == 0:
	case sub == "check" || sub == "compact":
		return usagef("%s takes no argument besides --config", sub)
	case sub == "backup":
		return usagef("backup takes one FILE to write the copy to")
	default:
		return usagef("unknown store command %q: want check, backup FILE or compact", sub)
	}
	if *cfgPath == "" {
		return usagef("--config FILE is required")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if err := cfg.Validate(config.NeedStore); err != nil {
		return err
	}
	path := cfg.Path(cfg.Store.Path)
	switch sub {
	case "check":
		return storeCheck(e, path)
	case "backup":
		return storeBackup(ctx, e, cfg, path, rest[0])
	default:
		before, after, err := store.Compact(path, incidentsLockTimeout)
		if errors.Is(err, store.ErrInUse) {
			return fmt.Errorf("the store %s is in use (is `bot serve` running with this configuration?); stop the bot to compact it", path)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "compacted %s: %d -> %d bytes\n", path, before, after)
		return nil
	}
}

// errProblems ends `store check` with exit status 1 once its problems are printed.
type errProblems struct {
	path string
	n    int
}

func (e errProblems) Error() string { return fmt.Sprintf("%s: %d problem(s) found", e.path, e.n) }

// storeCheck prints one line per problem of the store file at path.
func storeCheck(e *env, path string) error {
	problems, err := store.Verify(path, incidentsLockTimeout)
	switch {
	case errors.Is(err, store.ErrInUse):
		return fmt.Errorf("the store %s is in use (is `bot serve` running?): check a copy instead: bot store backup FILE --config F, then bot store check FILE", path)
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("no store at %s", path)
	case err != nil:
		return err
	}
	for _, p := range problems {
		fmt.Fprintf(e.stdout, "%s: %s\n", path, p)
	}
	if len(problems) > 0 {
		return errProblems{path, len(problems)}
	}
	fmt.Fprintf(e.stdout, "%s: ok\n", path)
	return nil
}

// storeBackup copies the store to dst: from the file, or through the running bot when it
// holds the file. The copy is checked before it is reported written.
func storeBackup(ctx context.Context, e *env, cfg *config.Config, path, dst string) error {
	if abs, err := filepath.Abs(dst); err == nil {
		if p, err := filepath.Abs(path); err == nil && p == abs {
			return usagef("FILE is the store itself: give another path")
		}
	}
	db, err := store.Open(path, store.Options{ReadOnly: true, LockTimeout: incidentsLockTimeout})
	via := ""
	switch {
	case errors.Is(err, store.ErrInUse):
		inUse := fmt.Sprintf("the store %s is in use (is `bot serve` running with this configuration?)", path)
		if cfg.Slack.Listen == "" {
			return fmt.Errorf("%s, and the configuration has no slack.listen to ask the bot on; stop the bot or set slack.listen", inUse)
		}
		c, err := handlers.NewIncidentsClient(cfg.Slack.Listen, storeBotTimeout)
		if err != nil {
			return fmt.Errorf("%s, and the bot cannot be asked: %w", inUse, err)
		}
		err = store.WriteFileAtomic(dst, func(w io.Writer) error {
			_, err := c.Backup(ctx, w)
			return err
		})
		if err != nil {
			return fmt.Errorf("%s, and the backup through the bot at %s%s failed: %w", inUse, c.URL(), handlers.BackupPath, err)
		}
		via = " through the running bot"
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("no store at %s yet: nothing to back up", path)
	case err != nil:
		return err
	default:
		err = db.BackupFile(dst)
		db.Close()
		if err != nil {
			return err
		}
	}
	problems, err := store.Verify(dst, incidentsLockTimeout)
	if err == nil && len(problems) > 0 {
		err = errors.New(problems[0])
	}
	if err != nil {
		os.Remove(dst)
		return fmt.Errorf("the copy written to %s does not check out (removed): %w", dst, err)
	}
	st, err := os.Stat(dst)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backed up %s to %s%s (%d bytes)\n", path, dst, via, st.Size())
	return nil
}
