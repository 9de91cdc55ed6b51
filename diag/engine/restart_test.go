package engine_test

import (
	"bufio"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/diag/edge"
	"ipsecbot/diag/engine"
	"ipsecbot/lab"
	"ipsecbot/store"
)

// The child process of TestCleanupCaptures_AfterKill: it diagnoses the lab's edge with a long
// capture window, says when the capture is recorded, and waits to be killed.
func TestHelperCaptureThenHang(t *testing.T) {
	e, db := helperEngine(t, "ENGINE_HELPER_CONFIG", "ENGINE_HELPER_DB")
	go func() {
		for {
			// Recorded before it starts; running once the timeline says so.
			if caps, _ := db.Captures(); len(caps) > 0 {
				if tl, _ := db.Timeline(caps[0].Incident); strings.Contains(timelineText(tl), "capture started") {
					os.Stdout.WriteString("CAPTURING " + caps[0].File + "\n")
					return
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	e.Diagnose(t.Context(), diag.Request{Edge: "edge-01", CaptureSeconds: 120, OutDir: t.TempDir()})
}

// Ensure a capture survives its process only until the next start: the process is killed
// during the capture, and CleanupCaptures at the next start stops it and removes its file.
func TestCleanupCaptures_AfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	// The child process's receive endpoint takes the lab's bound socket (killChildWhen).
	l, err := lab.Start(t.Context(), lab.Options{Scenario: "auth_failed", Dir: t.TempDir(), CaptureSeconds: 300})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfgPath := filepath.Join(l.Dir(), "lab.yaml")
	if err := l.WriteConfig(cfgPath); err != nil {
		t.Fatal(err)
	}
	// The Edge has taken captures before: one whose file someone keeps, one removed since. It
	// numbers files by every capture ever taken, so this run's file is not the next free name.
	prepareEarlierCaptures(t, l)
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	killChildWhen(t, l, "TestHelperCaptureThenHang", "CAPTURING ", "ENGINE_HELPER_CONFIG="+cfgPath, "ENGINE_HELPER_DB="+dbPath)
	if caps := l.Edge().Captures(); len(caps) != 3 || !caps[2].Running {
		t.Fatalf("edge captures after the kill: %+v", caps)
	}

	// The next start.
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs, err := db.Captures()
	if err != nil || len(recs) != 1 {
		t.Fatalf("recorded captures: %+v %v", recs, err)
	}
	n, err := nextStart(t, cfgPath, db).CleanupCaptures(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("CleanupCaptures = %d, %v", n, err)
	}
	caps := l.Edge().Captures()
	if len(caps) != 3 || caps[2].Running || !caps[2].Removed {
		t.Errorf("edge captures after cleanup: %+v (recorded %+v)", caps, recs[0])
	}
	if files := l.Edge().Files(); len(files) != 1 || files[0] != "tcpdump_"+lab.UplinkNIC+".0" {
		t.Errorf("files on the edge after cleanup: %v, want only the earlier kept one", files)
	}
	if recs, _ := db.Captures(); len(recs) != 0 {
		t.Errorf("still recorded: %+v", recs)
	}
	inc, err := db.Incident(recs[0].Incident)
	if err != nil || inc.Status != store.StatusInterrupted {
		t.Errorf("incident %s: %+v %v", recs[0].Incident, inc, err)
	}
	if tl, _ := db.Timeline(inc.ID); !strings.Contains(timelineText(tl), "removed after a restart") {
		t.Errorf("timeline: %s", timelineText(tl))
	}
}

func timelineText(evs []store.Event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(string(e.Kind) + ": " + e.Text + "\n")
	}
	return b.String()
}

// prepareEarlierCaptures takes two captures on the lab's Edge over real SSH: the first's file
// is kept (not ours to remove later), the second's is removed.
func prepareEarlierCaptures(t *testing.T, l *lab.Lab) {
	t.Helper()
	cfg := l.Config()
	ec := cfg.Edges[0]
	pw, _ := cfg.SSHPassword(ec.SSH)
	s, err := edge.Dial(t.Context(), edge.Target{Name: ec.Name, Address: ec.SSH.Address, User: ec.SSH.User,
		Password: pw, KeyFile: cfg.Path(ec.SSH.KeyFile), KnownHosts: cfg.Path(ec.SSH.KnownHosts),
		InsecureIgnoreHostKey: ec.SSH.InsecureIgnoreHostKey})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	peer := netip.MustParseAddr(ec.Peers[0].Address)
	for i := range 2 {
		c, err := s.StartCapture(t.Context(), edge.CaptureSpec{Interface: ec.Uplink, Peer: peer})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if err := c.Remove(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if files := l.Edge().Files(); len(files) != 1 {
		t.Fatalf("earlier files: %v", files)
	}
}

// helperEngine is a child process's engine on the configuration and store its parent named
// in the two environment variables; it skips the test when run as an ordinary test.
func helperEngine(t *testing.T, cfgEnv, dbEnv string) (*engine.Engine, *store.DB) {
	t.Helper()
	cfgPath, dbPath := os.Getenv(cfgEnv), os.Getenv(dbEnv)
	if cfgPath == "" {
		t.Skip("helper process only")
	}
	// The parent's lab holds the capture endpoint's port and passes the socket on.
	if _, err := edge.InheritSCPListener(); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(cfg, db, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e, db
}

// killChildWhen runs the test named in a child process with env added, waits for a line of its
// output starting with marker, and kills it there: a bot process dying mid-capture.
func killChildWhen(t *testing.T, l *lab.Lab, test, marker string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), env...)
	scp, err := l.InheritSCP(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer scp.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), marker) {
				line <- sc.Text()
			}
		}
		close(line)
	}()
	select {
	case l, ok := <-line:
		if !ok {
			t.Fatal("helper ended without capturing")
		}
		t.Log(l)
	case <-time.After(120 * time.Second):
		cmd.Process.Kill()
		t.Fatal("helper did not start its capture")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
}

// nextStart is the engine of the bot's next start on the configuration and store (closed
// with the test).
func nextStart(t *testing.T, cfgPath string, db *store.DB) *engine.Engine {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(cfg, db, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}
