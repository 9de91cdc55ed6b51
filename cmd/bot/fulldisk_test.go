//go:build unix

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/lab"
	"ipsecbot/store"
)

// fsizeEnv, set on the test binary, makes it a launcher: it lowers its RLIMIT_FSIZE to the
// value (bytes) and executes its arguments, which inherit the limit. A full disk without
// root: a write past the limit fails with EFBIG ("file too large"), and the Go runtime
// ignores the SIGXFSZ that comes with it.
const fsizeEnv = "BOT_TEST_FSIZE_LIMIT"

func TestMain(m *testing.M) {
	if v := os.Getenv(fsizeEnv); v != "" {
		execUnderFileSizeLimit(v, os.Args[1:])
	}
	os.Exit(m.Run())
}

func execUnderFileSizeLimit(limit string, args []string) {
	n, err := strconv.ParseUint(limit, 10, 64)
	if err == nil {
		var rl syscall.Rlimit
		if err = syscall.Getrlimit(syscall.RLIMIT_FSIZE, &rl); err == nil {
			rl.Cur = n
			err = syscall.Setrlimit(syscall.RLIMIT_FSIZE, &rl)
		}
	}
	if err == nil {
		var env []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, fsizeEnv+"=") {
				env = append(env, kv)
			}
		}
		err = syscall.Exec(args[0], args, env)
	}
	fmt.Fprintf(os.Stderr, "%s=%s: %v\n", fsizeEnv, limit, err)
	os.Exit(125)
}

// underFileSizeLimit returns cmd started through the test binary with RLIMIT_FSIZE at limit.
func underFileSizeLimit(limit int64, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{name}, args...)...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", fsizeEnv, limit))
	return cmd
}

// Ensure `bot diagnose` on a full disk (the store unable to grow past its size) ends with one
// clear line and exit 1, never a crash; the store stays sound (`bot store check`), every
// artifact it recorded matches its file, no capture is left on the Edge, and the incident
// whose verdict could not be recorded is not left as if diagnosed: the next start records it
// interrupted with the reason.
func TestDiagnose_FullDisk(t *testing.T) {
	bin := builtBot(t)
	l, cfgPath, cfg := startCLILab(t, 1)
	dbPath := cfg.Path(cfg.Store.Path)
	diagnose := func(limit int64, out string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer, error) {
		args := []string{"diagnose", "edge-01", "--config", cfgPath, "--json", "--capture-seconds", "1", "--out", out}
		cmd := exec.Command(bin, args...)
		if limit > 0 {
			cmd = underFileSizeLimit(limit, bin, args...)
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		return cmd, &stdout, &stderr, cmd.Run()
	}
	outRoot := t.TempDir()
	if _, _, stderr, err := diagnose(0, filepath.Join(outRoot, "first")); err != nil {
		t.Fatalf("first diagnosis: %v\n%s", err, stderr)
	}
	st, err := os.Stat(dbPath)
	if err != nil {
		t.Fatal(err)
	}

	// The store may not grow: the runs fill it until one cannot record what it did.
	limit := st.Size()
	failed, unrecorded := false, ""
	for i := 0; i < 8 && !failed; i++ {
		cmd, stdout, stderr, err := diagnose(limit, filepath.Join(outRoot, strconv.Itoa(i)))
		var exit *exec.ExitError
		switch {
		case err == nil: // a run that says it is done has its verdict in the store
			var rep diag.Report
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("run %d: stdout is no report: %v", i, err)
			}
			if inc := readIncident(t, dbPath, rep.Incident); inc.Status != store.StatusOpen || inc.Cause != string(rep.Cause) {
				t.Errorf("run %d succeeded, its incident %s is %s with cause %q", i, inc.ID, inc.Status, inc.Cause)
			}
		case errors.As(err, &exit) && exit.ExitCode() == 1:
			failed = true
			last := lastLines(stderr.String(), 1)
			if !strings.HasPrefix(last, "bot diagnose: ") || !strings.Contains(last, "file too large") {
				t.Errorf("run %d: last line %q, want one line saying the file is too large", i, last)
			}
			var rep diag.Report
			if stdout.Len() > 0 { // the verdict came before the store refused it
				if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
					t.Errorf("run %d: stdout is no report: %v", i, err)
				}
				unrecorded = rep.Incident
			}
			t.Logf("run %d: %s (report of %q printed)", i, last, unrecorded)
		default:
			t.Fatalf("run %d under a %d-byte file size limit: %v (%s)\n%s", i, limit, err, cmd.ProcessState, stderr)
		}
		if s := stderr.String(); strings.Contains(s, "panic") || strings.Contains(s, "fatal error") || strings.Contains(s, "goroutine ") {
			t.Errorf("run %d crashed:\n%s", i, s)
		}
		if out, err := exec.Command(bin, "store", "check", "--config", cfgPath).CombinedOutput(); err != nil {
			t.Errorf("run %d: bot store check: %v\n%s", i, err, out)
		}
	}
	if !failed {
		t.Fatalf("eight diagnoses fit in a %d-byte store", limit)
	}

	// The next start, with room again, ends what the full disk left diagnosing.
	if _, _, stderr, err := diagnose(0, filepath.Join(outRoot, "next")); err != nil {
		t.Fatalf("the next start: %v\n%s", err, stderr)
	}
	for _, c := range l.Edge().Captures() {
		if c.Running || !c.Removed {
			t.Errorf("capture left on the Edge: %+v", c)
		}
	}
	db, err := store.Open(dbPath, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if recs, err := db.Captures(); err != nil || len(recs) != 0 {
		t.Errorf("capture records left: %+v %v", recs, err)
	}
	incs, err := db.Incidents(store.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, inc := range incs {
		if inc.Status == store.StatusDiagnosing {
			t.Errorf("incident %s left diagnosing", inc.ID)
		}
		if inc.ID == unrecorded && inc.Status != store.StatusInterrupted {
			t.Errorf("incident %s, whose verdict the full store refused, is %s", inc.ID, inc.Status)
		}
		arts, err := db.Artifacts(inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range arts {
			data, err := os.ReadFile(a.Path)
			if err != nil {
				t.Errorf("incident %s: artifact %s: %v", inc.ID, a.Path, err)
				continue
			}
			if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != a.SHA256 {
				t.Errorf("incident %s: artifact %s: sha256 differs from the record", inc.ID, a.Path)
			}
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func readIncident(t *testing.T, dbPath, id string) store.Incident {
	t.Helper()
	db, err := store.Open(dbPath, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inc, err := db.Incident(id)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

// startCLILab starts the lab (auth_failed) for bot processes of their own, and writes their
// configuration.
func startCLILab(t *testing.T, captureSeconds int) (*lab.Lab, string, *config.Config) {
	t.Helper()
	l, err := lab.Start(t.Context(), lab.Options{Scenario: "auth_failed", Dir: t.TempDir(), CaptureSeconds: captureSeconds, BotElsewhere: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	cfgPath := filepath.Join(l.Dir(), "lab.yaml")
	if err := l.WriteConfig(cfgPath); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	return l, cfgPath, cfg
}
