//go:build chaos

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"ipsecbot/config"
	"ipsecbot/handlers"
	"ipsecbot/handlers/slacktestx"
	"ipsecbot/lab/edgesim"
	"ipsecbot/lab/nsxsim"
	"ipsecbot/lab/peersim"
	"ipsecbot/store"
)

// The chaos test through `bot serve`: CHAOS_SERVE_RUNS (default 10) incidents, each
// diagnosed by `/ipsec diagnose` then escalated, handed over, updated and resolved with
// signed requests, while the loopback Slack answers some calls with 429 (Retry-After), 5xx,
// an error code, a late answer or an answer held after it acted, the Edge, the Manager and
// the peer fail as in TestChaos, and the bot is killed with SIGKILL at a random moment of
// some runs (then started again on the same configuration and store). Then the invariants:
// the bot never exited but by our kill, and never panicked; every incident asked for is in
// the store, none diagnosing; every op is done, each step done or failed with its reason;
// no capture left on the Edge; the store's check clean; none of the lab's or Slack's
// secrets in a Slack call, the bot's logs or the store's directory. CHAOS_SEED repeats a
// sequence. Run it with scripts/chaos.sh serve or
//
//	go test -tags chaos -run TestChaosServe -v -timeout 2h ./cmd/bot
func TestChaosServe(t *testing.T) {
	runs, seed := chaosRuns(t, "CHAOS_SERVE_RUNS", 10)

	c := startChaosServe(t, seed)
	for i := range runs {
		c.run(t, i)
	}
	c.finish(t)

	s := &c.st
	t.Logf("seed %d", seed)
	rows := [][2]any{
		{"runs", s.runs}, {"slack faults injected", s.slackFaults}, {"  429 with Retry-After", s.byKind["429"]},
		{"  5xx", s.byKind["5xx"]}, {"  error code", s.byKind["error"]}, {"  answer late", s.byKind["delay"]},
		{"  answer held after acting", s.byKind["hold"]}, {"  5xx to every retry", s.byKind["outage"]}, {"edge/api/peer faults injected", s.labFaults},
		{"kills (SIGKILL)", s.kills}, {"  mid-diagnosis", s.killsAt[0]}, {"  mid-escalate", s.killsAt[1]},
		{"  mid-commander", s.killsAt[2]}, {"  mid-update", s.killsAt[3]}, {"  mid-resolve", s.killsAt[4]},
		{"runs on a full disk", s.fullDisk}, {"  bot refused to start (one line)", s.fullDiskRefusedStart},
		{"  diagnoses failed with the reason posted", s.fullDiskFailures}, {"bot starts", s.starts}, {"commands refused or failed (acknowledged)", s.refused},
		{"incidents asked for", len(c.asked)}, {"incidents in the store", s.incidents}, {"ops", s.ops},
		{"steps done", s.stepsDone}, {"steps failed with a reason", s.stepsFailed},
		{"unexpected exits", s.unexpectedExits}, {"panics in logs", s.panics}, {"lost incidents", s.lostIncidents},
		{"ops stuck planned", s.stuckOps}, {"steps failed without a reason", s.silentFailures},
		{"leftover captures", s.leftovers}, {"store check failures", s.storeCheckFailures}, {"leaked canaries", s.leaks},
	}
	var table strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&table, "CHAOS-SERVE | %-42s | %6v |\n", r[0], r[1])
	}
	fmt.Print(table.String())
	fmt.Printf("CHAOS-SERVE runs=%d slack_faults=%d lab_faults=%d kills=%d starts=%d incidents=%d ops=%d steps_failed=%d "+
		"unexpected_exits=%d panics=%d lost_incidents=%d stuck_ops=%d silent_failures=%d leftovers=%d store_check_failures=%d leaked_canaries=%d seed=%d\n",
		s.runs, s.slackFaults, s.labFaults, s.kills, s.starts, s.incidents, s.ops, s.stepsFailed,
		s.unexpectedExits, s.panics, s.lostIncidents, s.stuckOps, s.silentFailures, s.leftovers, s.storeCheckFailures, s.leaks, seed)
}

type chaosServeStats struct {
	runs, slackFaults, labFaults, kills, starts, refused             int
	byKind                                                           map[string]int
	killsAt                                                          [5]int
	incidents, ops, stepsDone, stepsFailed                           int
	unexpectedExits, panics, lostIncidents, stuckOps, silentFailures int
	leftovers, storeCheckFailures, leaks                             int
	fullDisk, fullDiskRefusedStart, fullDiskFailures                 int
}

// chaosServe is the lab, the loopback Slack, the bot now running and what the runs asked.
type chaosServe struct {
	f     *flowLab
	rng   *rand.Rand
	bot   *chaosBot
	logs  bytes.Buffer // every bot process's stdout and stderr
	asked []string     // the incidents the diagnoses were acknowledged as
	st    chaosServeStats
	token string
	// fileLimit, when set, is the RLIMIT_FSIZE the bot starts under: a full disk.
	fileLimit     int64
	fullDiskOneIn int // CHAOS_FULL_DISK_ONE_IN: one run in this many is on a full disk
	requests      int
}

// chaosBot is one `bot serve` process.
type chaosBot struct {
	cmd            *exec.Cmd
	base           string
	stdout, stderr *syncBuffer
	exited         chan struct{}
	killed         bool
}

// The methods a run's Slack faults fall on: those of a diagnosis and of the handoff.
var chaosSlackMethods = []string{
	"chat.postMessage", "chat.update", "response", "files.getUploadURLExternal", "files.completeUploadExternal",
	"conversations.create", "conversations.invite", "conversations.setTopic", "pins.add", "bookmarks.add",
	"chat.getPermalink", "conversations.open", "users.info", "usergroups.users.list",
}

func startChaosServe(t *testing.T, seed uint64) *chaosServe {
	f := startFlowLab(t, builtBot(t))
	// A token long enough to be a canary, and tight timeouts so that a hanging Edge or
	// Manager costs seconds, not the default half-minute per request.
	c := &chaosServe{f: f, rng: rand.New(rand.NewPCG(seed, seed)), token: "xoxb-chaos-canary-7f3a9c2e51d84b06"}
	c.st.byKind = map[string]int{}
	c.fullDiskOneIn = max(1, envInt(t, "CHAOS_FULL_DISK_ONE_IN", 10))
	if err := os.WriteFile(filepath.Join(f.dir, "slack-bot-token"), []byte(c.token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range f.cfg.Managers {
		f.cfg.Managers[i].Timeout = "5s"
	}
	tight := func(s *config.SSH) {
		if s != nil {
			s.Timeout, s.CommandTimeout = "5s", "5s"
		}
	}
	for i := range f.cfg.Edges {
		tight(f.cfg.Edges[i].SSH)
		for j := range f.cfg.Edges[i].Peers {
			tight(f.cfg.Edges[i].Peers[j].SSH)
		}
	}
	if err := config.Write(f.cfgPath, f.cfg); err != nil {
		t.Fatal(err)
	}
	c.start(t)
	return c
}

// start runs `bot serve` on the configuration and waits until it listens.
func (c *chaosServe) start(t *testing.T) {
	t.Helper()
	f := c.f
	b := &chaosBot{stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	b.cmd = exec.Command(f.bin, "serve", "--config", f.cfgPath)
	b.cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if c.fileLimit > 0 {
		b.cmd = underFileSizeLimit(c.fileLimit, f.bin, "serve", "--config", f.cfgPath)
		b.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), fmt.Sprintf("%s=%d", fsizeEnv, c.fileLimit)}
	}
	b.cmd.Stdout, b.cmd.Stderr = b.stdout, b.stderr
	scp, err := f.lab.InheritSCP(b.cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer scp.Close()
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.cmd.Wait(); close(b.exited) }()
	c.bot = b
	c.st.starts++
	listening := regexp.MustCompile(`listening on (http://(\S+))`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := listening.FindStringSubmatch(b.stdout.String()); m != nil {
			b.base = m[1]
			q := *f.cfg
			q.Slack.Listen = m[2]
			if err := config.Write(f.queryCfg, &q); err != nil {
				t.Fatal(err)
			}
			return
		}
		select {
		case <-b.exited:
			c.collect(t)
			if c.fileLimit == 0 {
				t.Fatalf("bot serve exited before it listened: %s", lastLines(b.stderr.String(), 5))
			}
			// Refusing to start on a full disk is fine, with one clear line.
			if last := lastLines(b.stderr.String(), 1); !strings.Contains(last, "file too large") || strings.Count(b.stderr.String(), "\n") > 3 {
				t.Errorf("bot serve on a full disk: %s", lastLines(b.stderr.String(), 5))
			}
			c.st.fullDiskRefusedStart++
			c.fileLimit = 0
			c.start(t)
			return
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("bot serve did not listen within 60 s")
		}
	}
}

// collect keeps the ended process's output and counts a crash.
func (c *chaosServe) collect(t *testing.T) {
	t.Helper()
	b := c.bot
	out, errOut := b.stdout.String(), b.stderr.String()
	c.logs.WriteString(out)
	c.logs.WriteString(errOut)
	if strings.Contains(errOut, "panic:") || strings.Contains(errOut, "fatal error:") || strings.Contains(errOut, "goroutine ") {
		c.st.panics++
		t.Errorf("bot serve panicked:\n%s", lastLines(errOut, 20))
	}
}

// alive checks the bot did not exit on its own; if it did, that is counted and it is started again.
func (c *chaosServe) alive(t *testing.T) {
	t.Helper()
	select {
	case <-c.bot.exited:
		c.st.unexpectedExits++
		t.Errorf("bot serve exited on its own (%s): %s", c.bot.cmd.ProcessState, lastLines(c.bot.stderr.String(), 5))
		c.collect(t)
		c.start(t)
	default:
	}
}

// restart SIGKILLs the bot and starts it again on the same configuration and store.
func (c *chaosServe) restart(t *testing.T) {
	t.Helper()
	c.alive(t)
	c.bot.killed = true
	c.bot.cmd.Process.Kill()
	<-c.bot.exited
	c.collect(t)
	c.start(t)
}

// command sends a signed `/ipsec TEXT` from user in C1 and returns the acknowledgement.
func (c *chaosServe) command(t *testing.T, user, text string) string {
	t.Helper()
	c.alive(t)
	c.requests++ // as Slack does, a trigger of its own: two requests never sign alike
	body := url.Values{"command": {"/ipsec"}, "text": {text}, "user_id": {user}, "channel_id": {"C1"},
		"response_url": {c.f.fake.ResponseURL(user)}, "trigger_id": {fmt.Sprintf("chaos.%d", c.requests)}}.Encode()
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Do(signedRequest(t, c.bot.base, flowSecret, body, time.Now()))
	if err != nil {
		t.Errorf("/ipsec %s: %v", text, err)
		return ""
	}
	defer resp.Body.Close()
	ack, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/ipsec %s: HTTP %d: %s", text, resp.StatusCode, ack)
	}
	return string(ack)
}

// injectSlackFaults queues 0 to 4 random faults on random methods of the loopback Slack.
func (c *chaosServe) injectSlackFaults() {
	for range c.rng.IntN(5) {
		method := chaosSlackMethods[c.rng.IntN(len(chaosSlackMethods))]
		var fault slacktestx.Fault
		var kind string
		switch c.rng.IntN(6) {
		case 5: // as many as the bot tries: the step fails, with the reason recorded
			for range handlers.DefaultRetryPolicy.MaxAttempts {
				c.f.fake.Fail(method, slacktestx.Fault{Status: 500})
			}
			c.st.slackFaults++
			c.st.byKind["outage"]++
			continue
		case 0:
			fault, kind = slacktestx.Fault{Status: 429, RetryAfter: 1}, "429"
		case 1:
			fault, kind = slacktestx.Fault{Status: []int{500, 502, 503}[c.rng.IntN(3)]}, "5xx"
		case 2:
			fault, kind = slacktestx.Fault{Error: []string{"internal_error", "fatal_error", "ratelimited", "request_timeout"}[c.rng.IntN(4)]}, "error"
		case 3:
			fault, kind = slacktestx.Fault{Delay: time.Duration(1+c.rng.IntN(4)) * time.Second}, "delay"
		default:
			fault, kind = slacktestx.Fault{Hold: time.Duration(1+c.rng.IntN(4)) * time.Second}, "hold"
		}
		c.f.fake.Fail(method, fault)
		c.st.slackFaults++
		c.st.byKind[kind]++
	}
}

// killAt picks where this run's kill falls: -1 none, 0 the diagnosis, 1..4 the handoff steps.
func (c *chaosServe) killAt() int {
	if c.rng.IntN(2) == 0 {
		return -1
	}
	return c.rng.IntN(5)
}

// cut kills the bot at a random moment of what it does now: after a random pause, or once
// a random number of Slack calls went out.
func (c *chaosServe) cut(t *testing.T, at int) {
	t.Helper()
	if c.rng.IntN(2) == 0 {
		time.Sleep(time.Duration(c.rng.IntN(2500)) * time.Millisecond)
	} else {
		want := len(c.f.fake.Calls("")) + 1 + c.rng.IntN(6)
		deadline := time.Now().Add(10 * time.Second)
		for len(c.f.fake.Calls("")) < want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	c.st.kills++
	c.st.killsAt[at]++
	c.restart(t)
}

// refusedAck says whether an acknowledgement refuses the command or says it failed.
func refusedAck(ack string) bool {
	for _, mark := range []string{":no_entry:", ":warning:", ":x:", ":hourglass:"} {
		if strings.Contains(ack, mark) {
			return true
		}
	}
	return ack == ""
}

// diagnose asks for a diagnosis of edge-01 and returns the acknowledgement. While the last
// run still posts its verdict and files the edge is claimed and the command joins it: it is
// asked again then, for a run of its own.
func (c *chaosServe) diagnose(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ack := c.command(t, "UOPS", "diagnose edge-01")
		if !strings.Contains(ack, "is already being diagnosed") || time.Now().After(deadline) {
			return ack
		}
		time.Sleep(500 * time.Millisecond)
	}
}

var diagnosingAs = regexp.MustCompile(`Diagnosing edge-01 as (INC-\d+)`)

// run is one incident: diagnosis, escalation, handover, update, resolution.
func (c *chaosServe) run(t *testing.T, i int) {
	t.Helper()
	c.st.runs++
	var cs chaosStats
	faults := randomFaults(c.rng, &cs)
	c.st.labFaults += cs.faults
	l := c.f.lab
	l.Edge().SetFaults(faults.Edge)
	l.Manager().SetFaults(faults.Manager)
	l.Peer().SetFaults(faults.Peer)
	c.injectSlackFaults()
	at := c.killAt()
	full := i > 0 && c.rng.IntN(c.fullDiskOneIn) == 0
	t.Logf("run %d: %s; kill at %d; full disk %v", i, faults.name, at, full)
	if full {
		c.fillDisk(t, i)
		return
	}

	ack := c.diagnose(t)
	m := diagnosingAs.FindStringSubmatch(ack)
	if m == nil {
		c.st.refused++
		t.Errorf("run %d (%s): diagnose acknowledged %q", i, faults.name, ack)
		return
	}
	id := m[1]
	c.asked = append(c.asked, id)
	if at == 0 {
		c.cut(t, 0)
	}
	if !c.waitIncident(t, id, "its diagnosis to end", func(inc store.Incident) bool { return inc.Status != store.StatusDiagnosing }) {
		return
	}
	steps := []struct{ user, text string }{
		{"UOPS", "escalate " + id + " sev1"},
		{"UOPS", "commander " + id + " <@U02ALICE|alice>"},
		{"U02ALICE", "update " + id + " conditions: tunnel down actions: PSK re-keyed needs: the branch's admin"},
		{"U02ALICE", "resolve " + id + " the PSK was re-keyed on both sides"},
	}
	for k, s := range steps {
		c.injectSlackFaults()
		ack := c.command(t, s.user, s.text)
		if refusedAck(ack) {
			c.st.refused++
			t.Logf("run %d, %s: %s", i, s.text, ack)
		}
		if at == k+1 {
			c.cut(t, k+1)
		}
		c.waitIncident(t, id, s.text+": its ops to end", func(inc store.Incident) bool {
			return inc.Handoff == nil || !slices.ContainsFunc(inc.Handoff.Ops, func(o store.Op) bool { return !o.Done })
		})
	}
}

// waitIncident waits until cond holds of incident id as the running bot reads it; false
// (and an error) when it does not within two minutes.
func (c *chaosServe) waitIncident(t *testing.T, id, what string, cond func(store.Incident) bool) bool {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var last string
	for time.Now().Before(deadline) {
		c.alive(t)
		code, out, errOut := runBot(t, "incidents", "show", id, "--json", "--config", c.f.queryCfg)
		if code == 0 {
			var d store.IncidentDetail
			if err := json.Unmarshal([]byte(out), &d); err == nil && cond(d.Incident) {
				return true
			}
			last = out
		} else {
			last = errOut
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.st.stuckOps++
	t.Errorf("%s: %s did not happen within 2 minutes: %s", id, what, last)
	return false
}

// finish ends the faults, lets the bot finish what it resumed, stops it and checks the
// invariants.
func (c *chaosServe) finish(t *testing.T) {
	t.Helper()
	l := c.f.lab
	l.Edge().SetFaults(edgesim.Faults{})
	l.Manager().SetFaults(nsxsim.Faults{})
	l.Peer().SetFaults(peersim.Faults{})
	c.f.fake.ClearFaults()
	// One more start: what the last process left planned is resumed by it.
	c.restart(t)
	for _, id := range c.asked {
		c.waitIncident(t, id, "every op to end", func(inc store.Incident) bool {
			return inc.Status != store.StatusDiagnosing &&
				(inc.Handoff == nil || !slices.ContainsFunc(inc.Handoff.Ops, func(o store.Op) bool { return !o.Done }))
		})
	}
	c.alive(t)
	c.bot.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.bot.exited:
		if code := c.bot.cmd.ProcessState.ExitCode(); code != 0 {
			c.st.unexpectedExits++
			t.Errorf("bot serve exited %d on SIGINT: %s", code, lastLines(c.bot.stderr.String(), 5))
		}
	case <-time.After(60 * time.Second):
		t.Errorf("bot serve did not stop within 60 s of SIGINT")
		c.bot.cmd.Process.Kill()
		<-c.bot.exited
	}
	c.collect(t)

	for _, cp := range l.Edge().Captures() {
		if cp.Running || !cp.Removed {
			c.st.leftovers++
			t.Errorf("capture left on the Edge: %+v", cp)
		}
	}
	for _, name := range l.Edge().Files() {
		if strings.HasPrefix(name, "tcpdump_") {
			c.st.leftovers++
			t.Errorf("capture file left on the Edge: %s", name)
		}
	}
	if out, err := exec.Command(c.f.bin, "store", "check", "--config", c.f.cfgPath).CombinedOutput(); err != nil {
		c.st.storeCheckFailures++
		t.Errorf("bot store check: %v\n%s", err, out)
	}
	dbPath := c.f.cfg.Path(c.f.cfg.Store.Path)
	db, err := store.Open(dbPath, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	incs, err := db.Incidents(store.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	c.st.incidents = len(incs)
	for _, id := range c.asked {
		if _, err := db.Incident(id); err != nil {
			c.st.lostIncidents++
			t.Errorf("incident %s asked for: %v", id, err)
		}
	}
	reasons := map[string]int{} // why steps failed, for the log
	digits := regexp.MustCompile(`[0-9]+`)
	defer func() {
		for _, r := range slices.SortedFunc(maps.Keys(reasons), func(a, b string) int { return reasons[b] - reasons[a] }) {
			t.Logf("steps failed %4d× %s", reasons[r], r)
		}
	}()
	for _, inc := range incs {
		if inc.Status == store.StatusDiagnosing {
			c.st.lostIncidents++
			t.Errorf("incident %s left diagnosing", inc.ID)
		}
		if inc.Handoff == nil {
			continue
		}
		for _, op := range inc.Handoff.Ops {
			c.st.ops++
			if !op.Done {
				c.st.stuckOps++
				t.Errorf("%s op %d (%s) not done: %+v", inc.ID, op.Seq, op.Kind, op.Steps)
			}
			for _, s := range op.Steps {
				switch {
				case s.State == store.StepDone:
					c.st.stepsDone++
				case s.State == store.StepFailed && s.Error != "":
					c.st.stepsFailed++
					reasons[digits.ReplaceAllString(s.Name+": "+s.Error, "N")]++
				case s.State == store.StepFailed:
					c.st.silentFailures++
					t.Errorf("%s op %d step %s failed without a reason", inc.ID, op.Seq, s.Name)
				}
			}
		}
	}
	if recs, err := db.Captures(); err != nil || len(recs) != 0 {
		c.st.leftovers += len(recs)
		t.Errorf("capture records left: %+v %v", recs, err)
	}

	// Secrets: the lab's, the Slack token and the signing secret, in any Slack call, the
	// bot's output or a file of the store's directory (but the secret files themselves).
	var slack bytes.Buffer
	for _, call := range c.f.fake.Calls("") {
		form := maps.Clone(call.Form)
		delete(form, "token") // slack-go's way to authenticate some methods: no leak
		slack.WriteString(form.Encode())
		slack.Write(call.Body)
	}
	extra := [][]byte{[]byte(c.token), []byte(flowSecret)}
	c.st.leaks = leakedCanaries(t, c.f.dir, extra, append(slack.Bytes(), c.logs.Bytes()...), filepath.Dir(dbPath))
}

// fillDisk is a run on a full disk: the bot, started again under a file size limit at most
// the store's size, is asked for the whole flow, which fails where the store cannot grow; then
// with room again (started without the limit) it must end all of it.
func (c *chaosServe) fillDisk(t *testing.T, i int) {
	t.Helper()
	c.st.fullDisk++
	st, err := os.Stat(c.f.cfg.Path(c.f.cfg.Store.Path))
	if err != nil {
		t.Fatal(err)
	}
	// At the file's size bbolt still has its free pages; below it, writes past the limit fail
	// wherever they fall: somewhere between, the store fills at a random moment.
	c.fileLimit = st.Size()/2 + c.rng.Int64N(st.Size()/2+1)
	c.restart(t)
	before := len(c.f.fake.Messages())
	ack := c.diagnose(t)
	m := diagnosingAs.FindStringSubmatch(ack)
	if m == nil {
		c.st.refused++
		if !strings.Contains(ack, "The bot's disk is full") {
			t.Errorf("run %d on a full disk: diagnose acknowledged %q", i, ack)
		}
	} else {
		id := m[1]
		c.asked = append(c.asked, id)
		// The diagnosis ends recorded, or fails with its reason posted.
		failedAs := regexp.MustCompile(`:x: ` + id + `\b.*the diagnosis failed\. The bot's disk is full`)
		deadline := time.Now().Add(2 * time.Minute)
		for {
			c.alive(t)
			if slices.ContainsFunc(c.f.fake.Messages()[before:], func(m slacktestx.Message) bool { return failedAs.MatchString(m.Text) }) {
				c.st.fullDiskFailures++
				break
			}
			code, out, _ := runBot(t, "incidents", "show", id, "--json", "--config", c.f.queryCfg)
			var d store.IncidentDetail
			if code == 0 && json.Unmarshal([]byte(out), &d) == nil && d.Incident.Status != store.StatusDiagnosing {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("run %d on a full disk: %s neither recorded nor failed with its reason within 2 minutes", i, id)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		for _, text := range []string{"escalate " + id + " sev2", "resolve " + id + " the disk was full"} {
			if ack := c.command(t, "UOPS", text); refusedAck(ack) {
				c.st.refused++
			}
		}
		time.Sleep(2 * time.Second) // what the ops could do on a full disk
	}
	c.alive(t)
	c.fileLimit = 0
	c.restart(t)
	if m != nil {
		c.waitIncident(t, m[1], "its diagnosis and ops to end with room again", func(inc store.Incident) bool {
			return inc.Status != store.StatusDiagnosing &&
				(inc.Handoff == nil || !slices.ContainsFunc(inc.Handoff.Ops, func(o store.Op) bool { return !o.Done }))
		})
	}
}
