package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"ipsecbot/chart"
	"ipsecbot/config"
	"ipsecbot/handlers/slacktestx"
	"ipsecbot/lab"
	"ipsecbot/store"
	"ipsecbot/watch"
)

// fakeClock is the lab Manager's clock, moved by the test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// Ensure, end to end over real HTTPS: the watch lab with 3 edges, edge-01's first tunnel
// dropping every 6 s (down 2 s of it) and the other tunnels rekeying every 2 s, swept once per
// second of the Manager's clock by the watcher built from the lab's written configuration.
// Every drop of edge-01's first tunnel is caught and it turns unstable with the authentication
// failure; no rekey is ever counted as a drop; bot health reports it from the store.
func TestWatch_LabEndToEnd(t *testing.T) {
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: start}
	cfgPath := startWatchLab(t, lab.Options{Edges: 3, FlapEvery: 6 * time.Second, RekeyEvery: 2 * time.Second, Clock: clock.Now})
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(config.NeedWatch | config.NeedDiagnose); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Edges) != 3 || cfg.Edges[2].Name != "edge-03" || cfg.Edges[2].EdgeID != "edge-3" {
		t.Fatalf("lab config edges: %+v", cfg.EdgeNames())
	}
	targets, closeAll, err := watchTargets(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	db, err := store.Open(cfg.Path(cfg.Store.Path), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	wc := watchConfig(cfg, db, targets, printChanges(&out), nil)
	wc.Sweep.Jitter = 0 // the sweeps follow the test's clock steps
	w, err := watch.New(wc)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= 30; i++ { // drops at 4, 10, 16, 22 and 28 s
		clock.Set(start.Add(time.Duration(i) * time.Second))
		if _, err := w.SweepOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	flapper := watch.Key{Edge: "edge-01", Site: "ipsecsite-1", Tunnel: "10.0.1.0/24-172.16.1.0/24"}
	count := func(k watch.Key, kind string) int {
		n, err := watch.CountEvents(db, k, kind, time.Time{}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	tunnels := w.Tunnels()
	if len(tunnels) != 6 {
		t.Fatalf("%d tunnels watched, want 6", len(tunnels))
	}
	for _, tun := range tunnels {
		k := watch.Key{Edge: tun.Edge, Site: tun.Site, Tunnel: tun.Tunnel}
		state, _ := tun.Shown()
		if k == flapper {
			if n := count(k, store.WatchDrop); n != 5 || state != watch.StateUnstable || tun.LastFailure != labAuthFailed {
				t.Errorf("%s: %d drops, state %s, last failure %q; want 5, unstable, the authentication failure", k, n, state, tun.LastFailure)
			}
			continue
		}
		if n := count(k, store.WatchDrop); n != 0 || state != watch.StateUp {
			t.Errorf("%s: %d drops, state %s; want none, up", k, n, state)
		}
		if n := count(k, store.WatchRekey); n != 15 {
			t.Errorf("%s: %d rekeys, want 15", k, n)
		}
	}
	if got := out.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "edge-01 ipsecsite-1 10.0.1.0/24-172.16.1.0/24  up -> unstable  (3 drops within 30m0s") {
		t.Errorf("printed state changes:\n%s", got)
	}
	var hist bytes.Buffer
	if err := watch.WriteHistory(&hist, db, flapper, time.Hour, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(hist.String(), "\tdrop\t"); n != 5 || strings.Count(hist.String(), labAuthFailed) < 5 {
		t.Errorf("history holds %d drops:\n%s", n, hist.String())
	}
	db.Close()

	code, stdout, stderr := runBot(t, "health", "--config", cfgPath, "--json")
	if code != 0 {
		t.Fatalf("health: exit %d, %s", code, stderr)
	}
	var rep watch.HealthReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || len(rep.Tunnels) != 6 {
		t.Fatalf("health JSON %v: %s", err, stdout)
	}
	for _, h := range rep.Tunnels {
		want, drops := watch.StateUp, 0
		if h.Edge == flapper.Edge && h.Site == flapper.Site {
			want, drops = watch.StateUnstable, 5
		}
		if h.State != want || h.Drops != drops {
			t.Errorf("health %+v: want %s with %d drops", h, want, drops)
		}
	}
	code, stdout, _ = runBot(t, "health", "--config", cfgPath, "--edge", "edge-02")
	if code != 0 || strings.Count(stdout, "edge-02") != 2 || strings.Contains(stdout, "edge-01") {
		t.Errorf("health --edge edge-02: exit %d\n%s", code, stdout)
	}
	if code, _, stderr = runBot(t, "health", "--config", cfgPath, "--edge", "edge-99"); code != 2 || !strings.Contains(stderr, `no edge "edge-99"`) {
		t.Errorf("health --edge edge-99: exit %d, %s", code, stderr)
	}
	checkHealthPNG(t, cfgPath, "edge-01", 2)
}

// checkHealthPNG runs `bot health --png` (of one edge, or all when edge is empty) and checks
// the file is a PNG chart of rows tunnels.
func checkHealthPNG(t *testing.T, cfgPath, edge string, rows int) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "health.png")
	args := []string{"health", "--config", cfgPath, "--png", file}
	if edge != "" {
		args = append(args, "--edge", edge)
	}
	code, stdout, stderr := runBot(t, args...)
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("wrote %s: %d tunnels over the last 24h0m0s", file, rows)) {
		t.Fatalf("health --png: exit %d, %s%s", code, stdout, stderr)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if b := img.Bounds(); b.Dx() != chart.Width || b.Dy() != chart.Height(rows) {
		t.Errorf("chart %dx%d, want %dx%d", b.Dx(), b.Dy(), chart.Width, chart.Height(rows))
	}
}

// Ensure bot watch runs in the foreground over the lab and stops cleanly when interrupted,
// after printing its first line; without --config it is a usage error.
func TestWatch_CommandRunsUntilInterrupted(t *testing.T) {
	if code, _, stderr := runBot(t, "watch"); code != 2 || !strings.Contains(stderr, "--config FILE is required") {
		t.Fatalf("watch without --config: exit %d, %s", code, stderr)
	}
	cfgPath := startWatchLab(t, lab.Options{Edges: 2})
	ctx, cancel := context.WithCancel(t.Context())
	var out, errOut lockedBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, &env{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}, []string{"watch", "--config", cfgPath})
	}()
	for !strings.Contains(out.String(), "watching 2 edges") {
		select {
		case code := <-done:
			t.Fatalf("watch exited %d: %s", code, errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("watch: exit %d, %s", code, errOut.String())
	}
}

// startWatchLab starts a lab in a temporary directory, closed when the test ends, and
// returns the configuration it wrote there.
func startWatchLab(t *testing.T, opts lab.Options) string {
	opts.Dir = t.TempDir()
	l, err := lab.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	cfgPath := filepath.Join(opts.Dir, "bot.yaml")
	if err := l.WriteConfig(cfgPath); err != nil {
		t.Fatal(err)
	}
	return cfgPath
}

// serveWatchLab runs `bot serve` with a watch section (sweeps every second, alerts to
// CALERTS) over a watch lab of opts, against a fake Slack, until the test ends; it returns the
// bot's address, the fake and the configuration file, whose slack.listen is the bot's. tune
// changes the configuration before the bot starts.
func serveWatchLab(t *testing.T, opts lab.Options, tune ...func(*config.Config)) (addr string, fake *slacktestx.Server, path string) {
	t.Helper()
	opts.Dir = t.TempDir()
	l, err := lab.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	fake = slacktestx.New(t)
	cfg := l.Config()
	cfg.Slack.Listen = "127.0.0.1:0"
	cfg.Slack.APIURL = fake.APIURL()
	cfg.Slack.BotTokenEnv, cfg.Slack.BotTokenFile = "", "slack-bot-token"
	cfg.Slack.SigningSecretEnv, cfg.Slack.SigningSecretFile = "", "slack-signing-secret"
	cfg.Slack.AlertChannel = "CALERTS"
	cfg.Watch = config.Watch{Interval: "1s"}
	for _, f := range tune {
		f(cfg)
	}
	for _, name := range []string{"slack-bot-token", "slack-signing-secret"} {
		if err := os.WriteFile(filepath.Join(l.Dir(), name), []byte("xoxb-lab\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path = filepath.Join(l.Dir(), "bot.yaml")
	if err := config.Write(path, cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, &env{stdout: stdout, stderr: stderr, getenv: func(string) string { return "" }}, []string{"serve", "--config", path})
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-exit; code != 0 {
			t.Errorf("bot serve exited %d: %s", code, stderr.String())
		}
	})
	listening := regexp.MustCompile(`listening on http://(\S+)`)
	waitUntil(t, 30*time.Second, "bot serve to listen", func() bool {
		if m := listening.FindStringSubmatch(stdout.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	// `bot health` reads the configuration's slack.listen: point it at the running bot.
	cfg.Slack.Listen = addr
	if err := config.Write(path, cfg); err != nil {
		t.Fatal(err)
	}
	return addr, fake, path
}

// Ensure `bot serve` with a watch section runs the watcher (its series on /metrics), and that
// `bot health` answers while serve holds the store, by asking the bot's loopback GET /health
// (and GET /health/chart for --png).
func TestServe_WatcherAndHealthWhileHeld(t *testing.T) {
	addr, _, path := serveWatchLab(t, lab.Options{Edges: 2})
	metrics := func() string {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	waitUntil(t, 30*time.Second, "the watcher's first sweep on /metrics", func() bool {
		return strings.Contains(metrics(), `ipsecbot_watch_tunnel_state{edge="edge-02",site="ipsecsite-2"`)
	})
	code, out, errOut := runBot(t, "health", "--config", path, "--json")
	if code != 0 {
		t.Fatalf("health while serve runs: exit %d, %s", code, errOut)
	}
	var rep watch.HealthReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Tunnels) != 4 {
		t.Fatalf("health JSON %v: %s", err, out)
	}
	for _, h := range rep.Tunnels {
		if h.State != watch.StateUp || h.Since.IsZero() {
			t.Errorf("health %+v: want up (the lab's first drop comes 40 s in)", h)
		}
	}
	checkHealthPNG(t, path, "", 4)
}

// Ensure `bot serve` alerts a flapping tunnel in slack.alert_channel, end to end: the lab's
// edge-01 first tunnel drops every 3 s and turns unstable after its third drop.
func TestServe_AlertsTheFlappingTunnel(t *testing.T) {
	_, fake, _ := serveWatchLab(t, lab.Options{Edges: 1, FlapEvery: 3 * time.Second})
	var alert slacktestx.Message
	waitUntil(t, 60*time.Second, "the alert of the flapping tunnel", func() bool {
		for _, m := range fake.Messages() {
			if m.Channel == "CALERTS" && m.ThreadTS == "" {
				alert = m
				return true
			}
		}
		return false
	})
	for _, want := range []string{"IPsec tunnel unstable: edge-01 / ipsecsite-1", "10.0.1.0/24-172.16.1.0/24", "3 drops within 30m0s"} {
		if !strings.Contains(alert.Blocks, want) {
			t.Errorf("the alert lacks %q: %s", want, alert.Blocks)
		}
	}
}

// Ensure `bot lab --edges 3` writes all three edges, says what it staged, and serves each
// edge's two tunnels; bad --edges, --flap-every and --scp-listen are usage errors.
func TestLab_WatchEdges(t *testing.T) {
	for _, args := range [][]string{{"lab", "--edges", "-1"}, {"lab", "--edges", "2", "--flap-every", "1s"}, {"lab", "--scp-listen", "bad"}} {
		if code, _, stderr := runBot(t, args...); code != 2 || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
	}
	path := filepath.Join(t.TempDir(), "lab.yaml")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr lockedBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }},
			[]string{"lab", "--edges", "3", "--flap-every", "6s", "--write-config", path})
	}()
	waitUntil(t, 60*time.Second, "bot lab to start", func() bool { return strings.Contains(stdout.String(), "running until interrupted") })
	if !strings.Contains(stdout.String(), "watch lab: 3 edges (edge-01 ... edge-03), two tunnels each; edge-01's first tunnel drops every 6s") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(config.NeedWatch); err != nil || len(cfg.Edges) != 3 {
		t.Fatalf("config: %v, edges %v", err, cfg.EdgeNames())
	}
	targets, closeAll, err := watchTargets(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	st, _, err := targets[2].Source.IPsecStatistics(t.Context(), targets[2].EdgeID)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Sites) != 2 || !st.Sites[1].Up() || st.Sites[1].Tunnels[0].LocalSPI == "" || len(st.IKEStatistics) != 1 {
		t.Errorf("edge-03 statistics: %+v", st)
	}
	cancel()
	if code := <-exited; code != 0 {
		t.Errorf("exit %d, %s", code, stderr.String())
	}
}
