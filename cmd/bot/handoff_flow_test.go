package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"ipsecbot/config"
	"ipsecbot/handlers/slacktestx"
	"ipsecbot/lab"
	"ipsecbot/store"
)

// The incident channel's handoff as an operator sees it, through the built binary against the
// lab: diagnose, escalate, hand over, update, resolve, export. Reminders on their cadence are
// covered on an injected clock by TestUpdate_PinsLatestAndRemindsOnCadence in handlers.
// The bot prints the address it bound on 127.0.0.1:0; the lab keeps the SCP receiver's port
// bound and passes the socket to each bot process it starts (lab.InheritSCP).

const flowSecret = "handoff-flow-signing-secret"

// flowLab is the lab (auth_failed), the loopback Slack and the configuration `bot serve` runs
// with; queryCfg is the same configuration with the running bot's address as slack.listen, so
// `bot incidents` asks the bot that holds the store.
type flowLab struct {
	bin, dir, cfgPath, queryCfg string
	cfg                         *config.Config
	fake                        *slacktestx.Server
	lab                         *lab.Lab
}

func startFlowLab(t *testing.T, bin string) *flowLab {
	t.Helper()
	l, err := lab.Start(t.Context(), lab.Options{Scenario: "auth_failed", Dir: t.TempDir(), CaptureSeconds: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	fake := slacktestx.New(t)
	fake.SetGroupMembers("SONCALL", "UONCALL")
	cfg := l.Config()
	cfg.Slack.Listen = "127.0.0.1:0"
	cfg.Slack.APIURL = fake.APIURL()
	cfg.Slack.BotTokenEnv, cfg.Slack.BotTokenFile = "", "slack-bot-token"
	cfg.Slack.SigningSecretEnv, cfg.Slack.SigningSecretFile = "", "slack-signing-secret"
	cfg.Slack.Oncall = []string{"SONCALL"}
	cfg.Slack.IncidentIndexChannel = "CINDEX"
	cfg.Slack.ArtifactsURL = "https://files.example/ipsec/"
	for name, value := range map[string]string{"slack-bot-token": "xoxb-lab", "slack-signing-secret": flowSecret} {
		if err := os.WriteFile(filepath.Join(l.Dir(), name), []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f := &flowLab{bin: bin, dir: l.Dir(), cfg: cfg, fake: fake, lab: l,
		cfgPath: filepath.Join(l.Dir(), "bot.yaml"), queryCfg: filepath.Join(l.Dir(), "query.yaml")}
	if err := config.Write(f.cfgPath, cfg); err != nil {
		t.Fatal(err)
	}
	return f
}

// servedBot is one `bot serve` process.
type servedBot struct {
	cmd            *exec.Cmd
	base           string
	stdout, stderr *syncBuffer
	exited         chan struct{}
}

// serve starts `bot serve` on the lab's configuration and waits until it listens; its
// address goes into queryCfg.
func (f *flowLab) serve(t *testing.T) *servedBot {
	t.Helper()
	b := &servedBot{stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	b.cmd = exec.Command(f.bin, "serve", "--config", f.cfgPath)
	b.cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	b.cmd.Stdout, b.cmd.Stderr = b.stdout, b.stderr
	scp, err := f.lab.InheritSCP(b.cmd) // the lab holds the capture endpoint's port throughout
	if err != nil {
		t.Fatal(err)
	}
	defer scp.Close()
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.cmd.Wait(); close(b.exited) }()
	t.Cleanup(func() {
		b.kill(t)
		if t.Failed() {
			t.Logf("bot serve's log:\n%s%s", b.stdout.String(), b.stderr.String())
			for _, c := range f.fake.Calls("") {
				t.Logf("slack call %s %v %s", c.Method, c.Form, c.Body)
			}
		}
	})
	listening := regexp.MustCompile(`listening on (http://(\S+))`)
	waitUntil(t, 30*time.Second, "bot serve to listen", func() bool {
		select {
		case <-b.exited:
			t.Fatalf("bot serve exited: %s", b.stderr.String())
		default:
		}
		m := listening.FindStringSubmatch(b.stdout.String())
		if m != nil {
			b.base = m[1]
			q := *f.cfg
			q.Slack.Listen = m[2]
			if err := config.Write(f.queryCfg, &q); err != nil {
				t.Fatal(err)
			}
		}
		return m != nil
	})
	return b
}

// kill ends the process with SIGKILL: no shutdown, no deferred writes.
func (b *servedBot) kill(t *testing.T) {
	select {
	case <-b.exited:
		return
	default:
	}
	if err := b.cmd.Process.Kill(); err != nil {
		t.Errorf("kill: %v", err)
	}
	<-b.exited
}

// stop ends the process as its service manager does, and expects a clean exit.
func (b *servedBot) stop(t *testing.T) {
	t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.exited:
		if code := b.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("bot serve exited %d: %s", code, b.stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Errorf("bot serve did not stop within 60 s of SIGTERM")
	}
}

// command sends a signed `/ipsec TEXT` from user in channel and returns the acknowledgement.
func (b *servedBot) command(t *testing.T, f *flowLab, user, channel, text string) string {
	t.Helper()
	body := url.Values{"command": {"/ipsec"}, "text": {text}, "user_id": {user}, "channel_id": {channel},
		"response_url": {f.fake.ResponseURL(user)}}.Encode()
	resp, err := http.DefaultClient.Do(signedRequest(t, b.base, flowSecret, body, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ack, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/ipsec %s: HTTP %d: %s", text, resp.StatusCode, ack)
	}
	return string(ack)
}

// incident reads INC-1 as `bot incidents show --json` prints it, from the running bot.
func (f *flowLab) incident(t *testing.T) store.IncidentDetail {
	t.Helper()
	code, out, errOut := runBot(t, "incidents", "show", "INC-1", "--json", "--config", f.queryCfg)
	if code != 0 {
		t.Fatalf("incidents show: exit %d: %s", code, errOut)
	}
	var d store.IncidentDetail
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("incidents show: %v: %s", err, out)
	}
	return d
}

// waitOps waits until INC-1 has n ops, all done.
func (f *flowLab) waitOps(t *testing.T, n int, what string) store.Incident {
	t.Helper()
	var inc store.Incident
	waitUntil(t, 120*time.Second, what, func() bool {
		inc = f.incident(t).Incident
		if inc.Handoff == nil || len(inc.Handoff.Ops) != n {
			return false
		}
		return !slices.ContainsFunc(inc.Handoff.Ops, func(o store.Op) bool { return !o.Done })
	})
	return inc
}

// flowStep is one operator action of the flow after the diagnosis, and the ops then done.
type flowStep struct {
	user, text string
	ops        int
}

var flowSteps = []flowStep{
	{"UOPS", "escalate INC-1 sev1", 1},
	{"UOPS", "commander INC-1 <@U02ALICE|alice>", 2},
	{"U02ALICE", "update INC-1 conditions: tunnel down since 09:40 actions: PSK re-keyed on the edge needs: the branch's admin to confirm", 3},
	{"U02ALICE", "resolve INC-1 the PSK was re-keyed on both sides", 4},
}

// killPoint is where a flow is cut: while step's Slack call method (its nth after the
// step's command, from 0) hangs before Slack acts, or, held, after Slack acted and before
// the bot heard.
type killPoint struct {
	step   int
	method string
	nth    int
	held   bool
}

// runFlow diagnoses edge-01 and runs the flow's steps through `bot serve`; at kill it
// SIGKILLs the process once the cut call reached Slack and starts it again on the same
// configuration and store. It returns the running bot.
func runFlow(t *testing.T, f *flowLab, kill *killPoint) *servedBot {
	t.Helper()
	b := f.serve(t)
	if ack := b.command(t, f, "UOPS", "C1", "diagnose edge-01"); !strings.Contains(ack, "Diagnosing edge-01 as INC-1") {
		t.Fatalf("diagnose: %s", ack)
	}
	waitUntil(t, 60*time.Second, "the verdict and the capture upload", func() bool {
		verdict := slices.ContainsFunc(f.fake.Messages(), func(m slacktestx.Message) bool {
			return m.Channel == "C1" && m.ThreadTS == "" && strings.Contains(m.Blocks, `"header"`)
		})
		return verdict && slices.ContainsFunc(f.fake.Uploads(), func(u slacktestx.Upload) bool { return u.Filename == "capture.pcap" && u.Completed })
	})
	waitUntil(t, 120*time.Second, "the diagnosis to end", func() bool { return f.incident(t).Incident.Cause == "auth_failed" })

	for i, st := range flowSteps {
		before := len(f.fake.Calls(""))
		cut := kill != nil && kill.step == i
		if cut {
			fault := slacktestx.Fault{Delay: time.Minute}
			if kill.held {
				fault = slacktestx.Fault{Hold: time.Minute}
			}
			// The calls before the nth are answered as usual (a zero Fault).
			f.fake.Fail(kill.method, append(make([]slacktestx.Fault, kill.nth), fault)...)
		}
		if ack := b.command(t, f, st.user, "C1", st.text); strings.Contains(ack, ":x:") || strings.Contains(ack, ":warning:") {
			t.Fatalf("/ipsec %s: %s", st.text, ack)
		}
		if cut {
			waitUntil(t, 120*time.Second, kill.method+" reaching Slack", func() bool {
				n := 0
				for _, c := range f.fake.Calls("")[before:] {
					if c.Method == kill.method {
						n++
					}
				}
				return n > kill.nth
			})
			b.kill(t)
			if op := killedOp(t, f, i); op.Done {
				t.Fatalf("the kill came after the op was done: %+v", op)
			}
			b = f.serve(t)
		}
		f.waitOps(t, st.ops, fmt.Sprintf("/ipsec %s done", st.text))
	}
	return b
}

// killedOp reads, from the store a killed bot left, op i of INC-1.
func killedOp(t *testing.T, f *flowLab, i int) store.Op {
	t.Helper()
	inc := readIncident(t, filepath.Join(f.dir, lab.FileStore), "INC-1")
	if inc.Handoff == nil || len(inc.Handoff.Ops) != i+1 {
		t.Fatalf("after the kill: %+v", inc.Handoff)
	}
	return inc.Handoff.Ops[i]
}

// checkHandoff asserts what the loopback Slack holds after the flow (its channels, messages,
// bookmarks and pins, whatever the calls were), and the exported postmortem; the cut method
// was called once more than its effects show (a call cut in flight).
func checkHandoff(t *testing.T, f *flowLab, b *servedBot, cut *killPoint) {
	t.Helper()
	fake := f.fake
	calls := func(method string) int {
		n := len(fake.Calls(method))
		if cut != nil && cut.method == method {
			n--
		}
		return n
	}
	if n := calls("conversations.create"); n != 1 {
		t.Errorf("conversations.create called %d times", n)
	}
	chs := fake.Channels()
	if len(chs) != 1 {
		t.Fatalf("%d channels: %+v", len(chs), chs)
	}
	ch := chs[0]
	if want := "inc-" + time.Now().UTC().Format("20060102") + "-edge-01-ipsec"; ch.Name != want {
		t.Errorf("channel %q, want %q", ch.Name, want)
	}
	var topics []string
	for _, c := range fake.Calls("conversations.setTopic") {
		topics = append(topics, c.Form.Get("topic"))
	}
	topics = slices.Compact(topics)
	topicRE := regexp.MustCompile(`^IC <@(\w+)> \| (\w+) \| sev1 \| edge-01 → \S+ \| auth_failed$`)
	var topicSeq []string
	for _, tp := range topics {
		m := topicRE.FindStringSubmatch(tp)
		if m == nil {
			t.Errorf("topic %q", tp)
			continue
		}
		topicSeq = append(topicSeq, m[1]+" "+m[2])
	}
	if want := []string{"UOPS escalated", "U02ALICE escalated", "U02ALICE resolved"}; !slices.Equal(topicSeq, want) || ch.Topic != topics[len(topics)-1] {
		t.Errorf("topics %q (now %q), want commanders and statuses %q", topics, ch.Topic, want)
	}
	slices.Sort(ch.Members)
	if want := []string{"U02ALICE", "UONCALL", "UOPS"}; !slices.Equal(ch.Members, want) {
		t.Errorf("members %v, want %v", ch.Members, want)
	}
	var bookmarks []string
	for _, bm := range ch.Bookmarks {
		bookmarks = append(bookmarks, bm.Title)
	}
	if want := []string{"Verdict thread", "Report", "Capture"}; !slices.Equal(bookmarks, want) {
		t.Errorf("bookmarks %q, want %q", bookmarks, want)
	}

	in := func(channel, text string) []slacktestx.Message {
		var out []slacktestx.Message
		for _, m := range fake.Messages() {
			if m.Channel == channel && strings.Contains(m.Text, text) {
				out = append(out, m)
			}
		}
		return out
	}
	briefs := in(ch.ID, "handoff brief")
	if len(briefs) != 1 {
		t.Fatalf("%d briefs in the channel", len(briefs))
	}
	brief := briefs[0]
	evidence := regexp.MustCompile(`ruled in: auth_failed [0-9.]+ — .*(logs/[\w.-]+:\d+|api/[\w.-]+:\S+)`)
	if brief.Updates == 0 || !evidence.MatchString(brief.Text) || !strings.Contains(brief.Text, "ruled out: ") ||
		!strings.Contains(brief.Text, "*Commander:* <@U02ALICE>") || !strings.Contains(brief.Text, "resolved") {
		t.Errorf("brief (edited %d times):\n%s", brief.Updates, brief.Text)
	}
	updates := in(ch.ID, "*INC-1 status update* by <@U02ALICE>")
	if len(updates) != 1 || !strings.Contains(updates[0].Text, "*Conditions:* tunnel down since 09:40\n*Actions:* PSK re-keyed on the edge\n*Needs:* the branch's admin to confirm") {
		t.Errorf("updates: %+v", updates)
	}
	if len(updates) == 1 && !slices.Equal(ch.Pins, []string{brief.TS, updates[0].TS}) {
		t.Errorf("pins %v, want the brief %s and the update %s", ch.Pins, brief.TS, updates[0].TS)
	}
	if n := calls("pins.add"); n != 2 {
		t.Errorf("pins.add called %d times, want 2", n)
	}
	if n := len(in(ch.ID, "assigned the incident commander role of INC-1 to <@U02ALICE>")); n != 1 {
		t.Errorf("%d handover announcements", n)
	}
	opens := fake.Calls("conversations.open")
	if len(opens) == 0 || opens[0].Form.Get("users") != "U02ALICE" {
		t.Fatalf("conversations.open calls: %+v", opens)
	}
	var dms []slacktestx.Message
	for _, m := range fake.Messages() {
		if strings.HasPrefix(m.Channel, "D") {
			dms = append(dms, m)
		}
	}
	if len(dms) != 1 || !strings.Contains(dms[0].Text, "You are now the incident commander of INC-1") || !strings.Contains(dms[0].Text, "/ipsec update INC-1") {
		t.Errorf("direct messages: %+v", dms)
	}
	closing := in(ch.ID, "*INC-1 resolved* by <@U02ALICE>")
	if len(closing) != 1 || !strings.Contains(closing[0].Text, "*Cause:* `auth_failed`") || !strings.Contains(closing[0].Text, "*What fixed it:* the PSK was re-keyed on both sides") {
		t.Errorf("closing summaries: %+v", closing)
	}
	if idx := in("CINDEX", "INC-1"); len(idx) != 1 {
		t.Errorf("%d index lines", len(idx))
	}
	pointers := 0
	for _, m := range fake.Messages() {
		if m.Channel == "C1" && m.ThreadTS != "" && strings.Contains(m.Text, "escalated to <#"+ch.ID+">") {
			pointers++
		}
	}
	if pointers != 1 {
		t.Errorf("%d pointers in the diagnosis thread", pointers)
	}

	// The postmortem, exported by the operator's CLI while the bot holds the store.
	out := filepath.Join(t.TempDir(), "postmortem-INC-1.markdown")
	cmd := exec.Command(f.bin, "incidents", "export", "INC-1", "--config", f.queryCfg, "--out", out)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("incidents export: %v: %s", err, msg)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Postmortem: INC-1 — edge-01", "- Status: resolved", "- Severity: sev1", "- Cause: auth_failed",
		"## Timeline (UTC)", "## Verdicts", "- Ruled in: auth_failed", "- Ruled out: ", "## Updates", "tunnel down since 09:40",
		"## Commanders", "U02ALICE is commander (handed over by UOPS)", "UOPS is commander (escalated)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("postmortem lacks %q:\n%s", want, md)
		}
	}
	b.stop(t)
}

// Ensure the whole handoff, as an operator runs it against the lab through `bot serve`,
// leaves in Slack one channel named by the pattern with its topic following the commander
// and the status, its bookmarks, one pinned brief edited in place with the verdict's ruled
// in and ruled out causes and their evidence, the handover announced and sent by direct
// message, the update pinned, the closing summary, and an exported postmortem.
func TestHandoffFlow_AgainstLab(t *testing.T) {
	f := startFlowLab(t, builtBot(t))
	b := runFlow(t, f, nil)
	checkHandoff(t, f, b, nil)
}

// Ensure a `bot serve` killed with SIGKILL at a step of the handoff, and started again on the
// same configuration and store, finishes it with the same end state and every side effect
// once: cut while the step's call hangs before Slack acts, or after Slack acted and before
// the bot heard (pins.add answers already_pinned, chat.update edits in place; the channel,
// the messages and the bookmarks Slack made are found and adopted).
func TestHandoffFlow_KilledAtAStep(t *testing.T) {
	bin := builtBot(t)
	for name, kp := range map[string]killPoint{
		"create_channel_in_flight": {step: 0, method: "conversations.create"},
		"pin_brief_unheard":        {step: 0, method: "pins.add", held: true},
		"update_brief_unheard":     {step: 0, method: "chat.update", held: true},
		"commander_dm_open":        {step: 1, method: "conversations.open"},
		"pin_update_in_flight":     {step: 2, method: "pins.add"},
		"closing_set_topic":        {step: 3, method: "conversations.setTopic"},
		"create_channel_unheard":   {step: 0, method: "conversations.create", held: true},
		"brief_unheard":            {step: 0, method: "chat.postMessage", held: true},
		"bookmark_unheard":         {step: 0, method: "bookmarks.add", held: true},
		"announce_unheard":         {step: 1, method: "chat.postMessage", held: true},
		"dm_brief_unheard":         {step: 1, method: "chat.postMessage", nth: 1, held: true},
		"update_unheard":           {step: 2, method: "chat.postMessage", held: true},
		"closing_summary_unheard":  {step: 3, method: "chat.postMessage", held: true},
	} {
		t.Run(name, func(t *testing.T) {
			f := startFlowLab(t, bin)
			b := runFlow(t, f, &kp)
			checkHandoff(t, f, b, &kp)
		})
	}
}
