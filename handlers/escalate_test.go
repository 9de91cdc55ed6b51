package handlers

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/handlers/slacktestx"
	"ipsecbot/incident"
	"ipsecbot/store"
)

// fakeClock is the clock of reminders and archiving in tests: it moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// handoffBot serves testConfig(dir) with an index channel, an artifacts URL and channels
// archived after archive_after (tune changes that), the sweep left to the test, on the store
// in dir (reused across bots of one test).
func handoffBot(t *testing.T, dir string, fake *slacktestx.Server, clock *fakeClock, tune ...func(*config.Config)) *testBot {
	t.Helper()
	cfg := testConfig(dir)
	cfg.Slack.IncidentIndexChannel = "CINDEX"
	cfg.Slack.ArtifactsURL = "https://files.example/ipsec/"
	cfg.Slack.UpdateCadence = map[string]string{"sev1": "30m"}
	cfg.Slack.ArchiveResolved = true
	for _, f := range tune {
		f(cfg)
	}
	db, err := store.Open(cfg.Store.Path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fake == nil {
		fake = slacktestx.New(t)
	}
	fake.SetGroupMembers("SNETOPS", "UNET")
	var lo incident.Options
	if clock != nil {
		lo.Now = clock.Now
	}
	return startBot(t, cfg, incident.New(db, lo), &fakeEngine{cause: "auth_failed"}, fake, func(o *Options) {
		o.SweepEvery = -1
		if clock != nil {
			o.Now = clock.Now
		}
	})
}

// diagnosed runs a diagnosis of edge-01 requested by UNET in C1 and leaves the report and a
// recorded capture where the brief and the bookmarks look for them.
func diagnosed(t *testing.T, b *testBot) store.Incident {
	t.Helper()
	b.command("UNET", "C1", "diagnose edge-01")
	inc := waitIncident(t, b, "INC-1", isFinal)
	b.waitIdle()
	rep := diag.Report{Verdict: diag.Verdict{Cause: diag.CauseAuthFailed, Confidence: 0.99, Summary: "PSK mismatch",
		Evidence: []diag.Evidence{{Source: "log", Ref: "peer.log:136", Text: "MAC mismatched"}},
		AlsoSeen: []diag.Finding{{Cause: diag.CauseInvalidID, Confidence: 0.4, Evidence: []diag.Evidence{{Ref: "edge.log:9", Text: "ID_I mismatch"}}}},
		Missing:  []string{"peer logs: SSH refused"}, Scanned: diag.Scanned{IKEMessages: 6}},
		Edge: "edge-01", Peer: "branch-fw", Incident: inc.ID}
	js, _ := json.Marshal(rep)
	dir := filepath.Join(b.cfg.ArtifactsDir(), inc.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.srv.incidents.RecordArtifact(inc.ID, store.Artifact{Path: filepath.Join(dir, "capture.pcap"), Kind: "pcap"}); err != nil {
		t.Fatal(err)
	}
	return inc
}

// answered waits for a response_url answer containing text.
func answered(t *testing.T, fake *slacktestx.Server, text string) {
	t.Helper()
	waitFor(t, "an answer with "+text, func() bool {
		for _, m := range fake.ResponseMessages() {
			if strings.Contains(m.Text, text) {
				return true
			}
		}
		return false
	})
}

func opDone(kind string) func(store.Incident) bool {
	return func(i store.Incident) bool {
		if i.Handoff == nil {
			return false
		}
		for _, o := range i.Handoff.Ops {
			if o.Kind == kind && o.Done {
				return true
			}
		}
		return false
	}
}

func messagesIn(fake *slacktestx.Server, channel, contains string) []slacktestx.Message {
	var out []slacktestx.Message
	for _, m := range fake.Messages() {
		if m.Channel == channel && strings.Contains(m.Text, contains) {
			out = append(out, m)
		}
	}
	return out
}

// Ensure `/ipsec escalate INC-n sev2` hands the incident off: a channel named by the pattern
// (the next name when taken), its ID stored; the requester, the escalating user and the
// on-call users and groups invited; the brief posted and pinned with the verdict's
// hypotheses; the topic; bookmarks to the verdict thread, the report and the capture; the
// index line; a pointer in the diagnosis thread. Someone without the permission is refused,
// and a second escalation does nothing.
func TestEscalate_HandsOffToIncidentChannel(t *testing.T) {
	checkLeaks(t)
	fake := slacktestx.New(t)
	fake.SetGroupMembers("SONCALL", "UONCALL1", "UONCALL2")
	fake.SetGroupMembers("SNETOPS", "UNET")
	b := handoffBot(t, t.TempDir(), fake, nil)
	before := diagnosed(t, b)
	name := "inc-" + time.Now().UTC().Format("20060102") + "-edge-01-ipsec"
	fake.TakeName(name)

	if r := b.command("UNET", "C1", "escalate INC-1"); !strings.Contains(r.Text, "*escalate* permission") {
		t.Errorf("UNET escalate: %q", r.Text)
	}
	if r := b.command("UOPS", "C1", "escalate inc-1 SEV2"); !strings.Contains(r.Text, "Escalating INC-1 (sev2)") {
		t.Fatalf("UOPS escalate: %q", r.Text)
	}
	after := waitIncident(t, b, "INC-1", opDone(store.OpEscalate))
	h := after.Handoff
	answered(t, fake, "INC-1 is escalated (sev2) to <#"+h.Channel+">; <@UOPS> is its commander.")
	if r := b.command("UOPS", "C1", "escalate INC-1"); !strings.Contains(r.Text, "already escalated to <#"+h.Channel+">") {
		t.Errorf("second escalate: %q", r.Text)
	}

	chs := fake.Channels()
	if len(chs) != 1 || chs[0].ID != h.Channel || chs[0].Name != name+"-2" || h.ChannelName != name+"-2" {
		t.Fatalf("channels %+v, handoff %+v", chs, h)
	}
	ch := chs[0]
	slices.Sort(ch.Members)
	if want := []string{"UNET", "UONCALL1", "UONCALL2", "UOPS", "UPAGER"}; !slices.Equal(ch.Members, want) {
		t.Errorf("members %v, want %v", ch.Members, want)
	}
	if want := "IC <@UOPS> | escalated | sev2 | edge-01 → branch-fw | auth_failed"; ch.Topic != want {
		t.Errorf("topic %q, want %q", ch.Topic, want)
	}
	if len(ch.Pins) != 1 || ch.Pins[0] != h.BriefTS || after.Channel != h.Channel || after.ThreadTS != h.BriefTS {
		t.Errorf("pins %v, brief %s, incident thread %s/%s", ch.Pins, h.BriefTS, after.Channel, after.ThreadTS)
	}
	var links []string
	for _, bm := range ch.Bookmarks {
		links = append(links, bm.Title+" "+bm.Link)
	}
	wantLinks := []string{"Verdict thread https://example.slack.com/archives/C1/p" + strings.ReplaceAll(before.ThreadTS, ".", ""),
		"Report https://files.example/ipsec/INC-1/report.md", "Capture https://files.example/ipsec/INC-1/capture.pcap"}
	if !slices.Equal(links, wantLinks) {
		t.Errorf("bookmarks %q, want %q", links, wantLinks)
	}
	briefs := messagesIn(fake, h.Channel, "handoff brief")
	if len(briefs) != 1 || briefs[0].TS != h.BriefTS {
		t.Fatalf("briefs %+v", briefs)
	}
	for _, want := range []string{"*INC-1* handoff brief · edge-01 → branch-fw · escalated · sev2", "*Commander:* <@UOPS>",
		"ruled in: auth_failed 0.99 — peer.log:136 MAC mismatched", "ruled in: invalid_id 0.40 — edge.log:9 ID_I mismatch",
		"ruled out: peer_unreachable: IKE answered (6 IKE messages captured)", "*Still missing:* peer logs: SSH refused",
		"*Next update due:*", "capture.pcap", "<@UNET>"} {
		if !strings.Contains(briefs[0].Text, want) {
			t.Errorf("brief lacks %q:\n%s", want, briefs[0].Text)
		}
	}
	if idx := messagesIn(fake, "CINDEX", "INC-1"); len(idx) != 1 || h.IndexTS != idx[0].TS || !strings.Contains(idx[0].Text, "sev2 · escalated") {
		t.Errorf("index lines %+v (stored %s)", idx, h.IndexTS)
	}
	pointer := 0
	for _, m := range fake.Messages() {
		if m.Channel == "C1" && m.ThreadTS == before.ThreadTS && strings.Contains(m.Text, "escalated to <#"+h.Channel+">") {
			pointer++
		}
	}
	if pointer != 1 || h.Commander != "UOPS" || h.Severity != "sev2" {
		t.Errorf("%d pointers; handoff %+v", pointer, h)
	}
	if r := b.command("UOPS", "C1", "escalate INC-404"); !strings.Contains(r.Text, "no incident INC-404") {
		t.Errorf("missing incident: %q", r.Text)
	}
}

// Ensure the Escalate button is checked like the command, escalates for an escalator, and
// a double click does one thing.
func TestEscalate_ButtonDoubleClick(t *testing.T) {
	checkLeaks(t)
	b := handoffBot(t, t.TempDir(), nil, nil)
	b.slack.SetGroupMembers("SONCALL", "UONCALL1")
	inc := diagnosed(t, b)
	b.press("UNOBODY", "C1", actionEscalate, "INC-1", inc.ThreadTS)
	b.press("UOPS", "C1", actionEscalate, "INC-1", inc.ThreadTS)
	b.press("UOPS", "C1", actionEscalate, "INC-1", inc.ThreadTS)
	waitIncident(t, b, "INC-1", opDone(store.OpEscalate))
	answered(t, b.slack, "is escalated (sev3)")
	waitFor(t, "the second click refused", func() bool {
		for _, m := range b.slack.ResponseMessages() {
			if strings.Contains(m.Text, "is being escalated") || strings.Contains(m.Text, "is already escalated") {
				return true
			}
		}
		return false
	})
	if chs := b.slack.Channels(); len(chs) != 1 || len(chs[0].Pins) != 1 {
		t.Errorf("after a double click: %+v", chs)
	}
	recs := b.auditLog(4)
	var outcomes []string
	for _, r := range recs {
		outcomes = append(outcomes, r.User+" "+r.Command+"="+r.Outcome)
	}
	if joined := strings.Join(outcomes, ", "); !strings.Contains(joined, "UNOBODY button escalate=denied: escalate") {
		t.Errorf("audit: %s", joined)
	}
}

// Ensure a Slack failure on one step (the invite refused, the pin limit) is recorded on the
// timeline and shown in the brief, and the other steps still happen.
func TestEscalate_FailedStepRecordedRestGoesOn(t *testing.T) {
	checkLeaks(t)
	fake := slacktestx.New(t)
	fake.Fail("conversations.invite", slacktestx.Fault{Error: "cant_invite"})
	fake.Fail("pins.add", slacktestx.Fault{Error: "too_many_pins"})
	b := handoffBot(t, t.TempDir(), fake, nil)
	diagnosed(t, b)
	b.command("UOPS", "C1", "escalate INC-1")
	inc := waitIncident(t, b, "INC-1", opDone(store.OpEscalate))
	answered(t, fake, ":warning: pin-brief failed")
	ch := fake.Channels()[0]
	if len(ch.Pins) != 0 || ch.Topic == "" || len(ch.Bookmarks) != 3 || len(messagesIn(fake, "CINDEX", "INC-1")) != 1 {
		t.Errorf("channel after failures: %+v", ch)
	}
	tl, _ := b.db.Timeline("INC-1")
	var failures []string
	for _, ev := range tl {
		if ev.Kind == store.EventSlack {
			failures = append(failures, ev.Text)
		}
	}
	if len(failures) != 2 || !strings.Contains(failures[0], "invite failed") || !strings.Contains(failures[1], "pin-brief failed: pins.add: too_many_pins") {
		t.Errorf("timeline failures %q", failures)
	}
	if brief := messagesIn(fake, inc.Handoff.Channel, "handoff brief"); len(brief) != 1 || !strings.Contains(brief[0].Text, "not done in Slack: pin-brief") {
		t.Errorf("the pinned brief does not show the failure: %+v", brief)
	}
	r := b.command("UOPS", "C1", "incident INC-1")
	if !strings.Contains(r.Text, "not done in Slack: pin-brief — pins.add: too_many_pins") || inc.Handoff.Channel == "" {
		t.Errorf("brief: %s", r.Text)
	}
}

// escalateCalls are the Slack calls of the steps of an escalation, in order: the method and
// which of its calls (from 1) the step makes.
var escalateCalls = []struct {
	step, method string
	nth          int
}{
	{"create-channel", "conversations.create", 1},
	{"invite", "conversations.invite", 1},
	{"post-brief", "chat.postMessage", 1},
	{"pin-brief", "pins.add", 1},
	{"set-topic", "conversations.setTopic", 1},
	{"bookmark-thread", "bookmarks.add", 1},
	{"bookmark-report", "bookmarks.add", 2},
	{"bookmark-pcap", "bookmarks.add", 3},
	{"index-line", "chat.postMessage", 2},
	{"pointer", "chat.postMessage", 3},
	{"update-brief", "chat.update", 1},
}

// Ensure an escalation cut off at each of its steps (the bot stopped while the step's call
// hangs, its store closed and reopened by a new bot) is finished by the next start with every
// side effect exactly once: one channel, one brief, one pin, three bookmarks, one index line,
// one pointer.
func TestEscalate_RestartAfterEachStep(t *testing.T) {
	checkLeaks(t)
	for _, cut := range escalateCalls {
		t.Run(cut.step, func(t *testing.T) {
			fake := slacktestx.New(t)
			dir := t.TempDir()
			b := handoffBot(t, dir, fake, nil)
			inc := diagnosed(t, b)
			// Calls the diagnosis made before the escalation are not its.
			base := map[string]int{}
			for _, c := range escalateCalls {
				base[c.method] = len(fake.Calls(c.method))
			}
			since := func(method string) int { return len(fake.Calls(method)) - base[method] }
			var faults []slacktestx.Fault
			for range cut.nth - 1 {
				faults = append(faults, slacktestx.Fault{})
			}
			fake.Fail(cut.method, append(faults, slacktestx.Fault{Delay: time.Minute})...)
			b.command("UOPS", "C1", "escalate INC-1 sev1")
			waitFor(t, cut.step+" in flight", func() bool { return since(cut.method) == cut.nth })
			b.stop()

			stored := storedIncident(t, dir, "INC-1")
			op := stored.Handoff.Ops[0]
			if op.Done || op.Step(cut.step).State != store.StepPlanned {
				t.Fatalf("after the stop: %+v", op)
			}

			b2 := handoffBot(t, dir, fake, nil)
			after := waitIncident(t, b2, "INC-1", opDone(store.OpEscalate))
			for _, st := range after.Handoff.Ops[0].Steps {
				if st.State != store.StepDone {
					t.Errorf("step %s: %s %s", st.Name, st.State, st.Error)
				}
			}
			chs := fake.Channels()
			if len(chs) != 1 {
				t.Fatalf("%d channels: %+v", len(chs), chs)
			}
			ch := chs[0]
			briefs := messagesIn(fake, ch.ID, "handoff brief")
			pointers := 0
			for _, m := range fake.Messages() {
				if m.ThreadTS == inc.ThreadTS && strings.Contains(m.Text, "escalated to <#") {
					pointers++
				}
			}
			if len(briefs) != 1 || len(ch.Pins) != 1 || ch.Pins[0] != briefs[0].TS || len(ch.Bookmarks) != 3 ||
				len(messagesIn(fake, "CINDEX", "INC-1")) != 1 || pointers != 1 || len(ch.Members) != 3 || ch.Topic == "" {
				t.Errorf("side effects: %d briefs, pins %v, %d bookmarks, %d index lines, %d pointers, members %v, topic %q",
					len(briefs), ch.Pins, len(ch.Bookmarks), len(messagesIn(fake, "CINDEX", "INC-1")), pointers, ch.Members, ch.Topic)
			}
			// The cut call was made twice (once hanging); every other call once.
			for _, c := range escalateCalls {
				want := 1
				if c.method == "bookmarks.add" || c.method == "chat.postMessage" {
					want = 3
				}
				if c.method == cut.method {
					want++
				}
				if got := since(c.method); got != want {
					t.Errorf("%s called %d times, want %d", c.method, since(c.method), want)
				}
			}
		})
	}
}

// storedIncident reads an incident from the store of a stopped bot in dir, and closes it.
func storedIncident(t *testing.T, dir, id string) store.Incident {
	t.Helper()
	db, err := store.Open(filepath.Join(dir, "bot.db"), store.Options{})
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

// Ensure only Slack user IDs are invited: the names the terminal and the watcher stand in
// with as requesters ("cli", "watch") and the bot are not people.
func TestSlackUserID(t *testing.T) {
	for id, want := range map[string]bool{
		"UOPS": true, "U02ALICE": true, "W012ABC": true,
		"cli": false, "watch": false, "bot": false, "": false, "U": false, "Uops": false, "S0ONCALL": false, "C1": false,
	} {
		if got := slackUserID(id); got != want {
			t.Errorf("slackUserID(%q) = %v, want %v", id, got, want)
		}
	}
}

// Ensure an edge's many incidents of one day each get a channel: after -2 to -5 the names
// carry the incident's number, and every name is a valid Slack channel name.
func TestChannelNames_BusyEdge(t *testing.T) {
	base := slackName("inc-20261201-edge-01-ipsec", maxChannelName-len(numberedSuffix))
	names := channelNames(base, "INC-42")
	want := []string{base, base + "-2", base + "-3", base + "-4", base + "-5", base + "-inc-42", base + "-inc-42-2", base + "-inc-42-3"}
	if !slices.Equal(names, want) {
		t.Fatalf("names %v, want %v", names, want)
	}
	long := slackName(strings.Repeat("x", 200), maxChannelName-len(numberedSuffix))
	for _, n := range channelNames(long, "INC-123456789") {
		if len(n) > maxChannelName || slackName(n, maxChannelName) != n {
			t.Errorf("%q is not a valid channel name (%d characters)", n, len(n))
		}
	}
}
