package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ipsecbot/config"
	"ipsecbot/incident"
	"ipsecbot/store"
	"ipsecbot/store/storetest"
)

// Ensure `store check` says ok for a sound store and one line per problem (exit 1) for a
// damaged one; `store backup` writes a copy that checks out; `store compact` keeps the data.
func TestStore_CheckBackupCompact(t *testing.T) {
	cfg, dbPath := incidentsFixture(t)
	code, out, errOut := runBot(t, "store", "check", "--config", cfg)
	if code != 0 || out != dbPath+": ok\n" {
		t.Fatalf("check: exit %d, %q %q", code, out, errOut)
	}
	backup := filepath.Join(t.TempDir(), "copy.db")
	code, out, errOut = runBot(t, "store", "backup", backup, "--config", cfg)
	if code != 0 || !strings.HasPrefix(out, "backed up "+dbPath+" to "+backup+" (") {
		t.Fatalf("backup: exit %d, %q %q", code, out, errOut)
	}
	if code, out, _ := runBot(t, "store", "check", backup); code != 0 || out != backup+": ok\n" {
		t.Errorf("check of the backup: exit %d, %q", code, out)
	}
	code, out, errOut = runBot(t, "store", "compact", "--config", cfg)
	if code != 0 || !strings.HasPrefix(out, "compacted "+dbPath+": ") {
		t.Fatalf("compact: exit %d, %q %q", code, out, errOut)
	}
	if code, out, _ := runBot(t, "incidents", "show", "INC-1", "--config", cfg); code != 0 || !strings.Contains(out, "auth_failed") {
		t.Errorf("after compact: exit %d, %q", code, out)
	}
	if code, _, errOut := runBot(t, "store", "backup", dbPath, "--config", cfg); code != 2 || !strings.Contains(errOut, "FILE is the store itself") {
		t.Errorf("backup over the store: exit %d, %q", code, errOut)
	}

	storetest.SmashPage(t, dbPath, "leaf")
	code, out, errOut = runBot(t, "store", "check", "--config", cfg)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(lines) == 0 || !strings.HasPrefix(lines[0], dbPath+": ") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("check of a damaged store: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runBot(t, "store", "compact", "--config", cfg); code != 1 || !strings.Contains(errOut, "damaged") {
		t.Errorf("compact of a damaged store: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runBot(t, "store", "backup", filepath.Join(t.TempDir(), "bad.db"), "--config", cfg); code != 1 || strings.Count(errOut, "\n") != 1 {
		t.Errorf("backup of a damaged store: exit %d, %q", code, errOut)
	}
}

// Ensure, with the running bot holding the store, `store backup` goes through it and writes
// a sound copy, while `store compact` and `store check` refuse with one line.
func TestStore_ThroughRunningBot(t *testing.T) {
	cfg, dbPath := incidentsFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	setListen(t, cfg, ln.Addr().String())
	db, _ := holdStore(t, cfg, dbPath, ln)
	if _, err := incident.New(db, incident.Options{}).Open(incident.Opening{Edge: "edge-03"}); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "live.db")
	code, out, errOut := runBot(t, "store", "backup", backup, "--config", cfg)
	if code != 0 || !strings.Contains(out, "through the running bot") {
		t.Fatalf("backup: exit %d, %q %q", code, out, errOut)
	}
	copyDB, err := store.Open(backup, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	if inc, err := copyDB.Incident("INC-3"); err != nil || inc.Edge != "edge-03" {
		t.Errorf("the copy lacks the bot's latest incident: %+v, %v", inc, err)
	}
	for _, sub := range []string{"compact", "check"} {
		code, _, errOut := runBot(t, "store", sub, "--config", cfg)
		if code != 1 || !strings.Contains(errOut, "is in use") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%s while served: exit %d, %q", sub, code, errOut)
		}
	}
}

// Ensure a 0-byte or damaged store is refused by `bot incidents` with one line, and the
// 0-byte file is left as it was.
func TestIncidents_DamagedOrEmptyStore(t *testing.T) {
	cfg, dbPath := incidentsFixture(t)
	if err := os.Truncate(dbPath, 0); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runBot(t, "incidents", "list", "--config", cfg)
	if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "is empty (0 bytes)") || !strings.Contains(errOut, "restore it from a backup") {
		t.Errorf("empty store: exit %d, %q", code, errOut)
	}
	if st, err := os.Stat(dbPath); err != nil || st.Size() != 0 {
		t.Errorf("the empty store was replaced: %v, %v", st, err)
	}
}

// Ensure a panicking cron job is logged and the scheduler runs on (its next run happens).
func TestScheduler_RecoversPanickingJob(t *testing.T) {
	var logs syncBuffer
	c := newScheduler(slog.New(slog.NewTextHandler(&logs, nil)))
	var mu sync.Mutex
	runs := 0
	again := make(chan struct{})
	if _, err := c.AddFunc("@every 1s", func() {
		mu.Lock()
		runs++
		n := runs
		mu.Unlock()
		if n == 1 {
			panic("job bug")
		}
		if n == 2 {
			close(again)
		}
	}); err != nil {
		t.Fatal(err)
	}
	c.Start()
	defer func() { <-c.Stop().Done() }()
	select {
	case <-again:
	case <-time.After(20 * time.Second):
		t.Fatal("the job did not run again after its panic")
	}
	if !strings.Contains(logs.String(), "job bug") {
		t.Errorf("the panic was not logged: %s", logs.String())
	}
}

// Ensure store.backup makes the scheduler write backups into its dir and keep the newest.
func TestServe_ScheduledBackup(t *testing.T) {
	_, dbPath := incidentsFixture(t)
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := filepath.Join(t.TempDir(), "backups")
	cfg := &config.Config{Store: config.Store{Path: dbPath, Backup: &config.Backup{Schedule: "@every 1s", Dir: dir, Keep: 1}}}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c, err := startCron(ctx, cfg, db, nil, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var first string
	waitUntil(t, 30*time.Second, "two scheduled backups", func() bool {
		list, _ := store.Backups(dir)
		if len(list) == 1 && first == "" {
			first = list[0]
		}
		return len(list) == 1 && first != "" && list[0] != first
	})
	<-c.Stop().Done()
	list, _ := store.Backups(dir)
	if problems, err := store.Verify(list[0], time.Second); err != nil || len(problems) != 0 {
		t.Errorf("backup %s: %q, %v", list[0], problems, err)
	}
}

// builtBot builds the bot's binary into a temporary directory (skipped in -short mode).
func builtBot(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	bin := filepath.Join(t.TempDir(), "bot")
	if out, err := exec.CommandContext(t.Context(), gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Ensure the built binary refuses to serve with an unreadable NSX password (one line naming
// the key, exit 1), and meets a damaged store with one line, never a panic trace.
func TestBinary_RefusesWhatItCannotUse(t *testing.T) {
	bin := builtBot(t)
	dir := t.TempDir()
	example, err := os.ReadFile("../../configs/bot.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "bot.yaml")
	if err := os.WriteFile(cfgPath, example, 0o600); err != nil {
		t.Fatal(err)
	}
	botRun := func(env []string, args ...string) (int, string, string) {
		cmd := exec.CommandContext(t.Context(), bin, args...)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errOut.String()
	}
	slackEnv := []string{"SLACK_BOT_TOKEN=xoxb-test", "SLACK_SIGNING_SECRET=secret"}
	code, _, errOut := botRun(slackEnv, "serve", "--config", cfgPath)
	if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "bot serve: cannot start: ") ||
		!strings.Contains(errOut, "managers[nsxmgr-a].password: environment variable NSX_PASSWORD is not set") {
		t.Errorf("serve without NSX_PASSWORD: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "bot.db")); err == nil {
		t.Error("the refused start created the store")
	}

	dbPath := filepath.Join(dir, "data", "bot.db")
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	incidents := incident.New(db, incident.Options{})
	for i := range 30 {
		if _, err := incidents.Open(incident.Opening{Edge: fmt.Sprintf("edge-%02d", i), Why: strings.Repeat("s", 300)}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	storetest.SmashPage(t, dbPath, "leaf")
	for _, args := range [][]string{{"incidents", "list", "--config", cfgPath}, {"store", "check", "--config", cfgPath}} {
		code, _, errOut := botRun(nil, args...)
		if code != 1 || strings.Contains(errOut, "goroutine ") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%s on a damaged store: exit %d, %q", strings.Join(args[:2], " "), code, errOut)
		}
	}
}
