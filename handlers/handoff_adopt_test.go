package handlers

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"ipsecbot/handlers/slacktestx"
	"ipsecbot/incident"
	"ipsecbot/store"
)

// escalationCut diagnoses INC-1 on a bot over a new store and escalates it with fault on
// the next call of method, then stops the bot once that call reached the fake and made
// (cond) what it makes. It returns the fake, the store's directory and the stopped bot.
func escalationCut(t *testing.T, method string, fault slacktestx.Fault, before func(b *testBot), cond func(f *slacktestx.Server) bool) (*slacktestx.Server, string, *testBot) {
	t.Helper()
	fake := slacktestx.New(t)
	dir := t.TempDir()
	b := handoffBot(t, dir, fake, nil)
	diagnosed(t, b)
	if before != nil {
		before(b)
	}
	n := len(fake.Calls(method))
	fake.Fail(method, fault)
	b.command("UOPS", "C1", "escalate INC-1 sev1")
	waitFor(t, method+" reaching Slack", func() bool { return len(fake.Calls(method)) > n && (cond == nil || cond(fake)) })
	b.stop()
	return fake, dir, b
}

// lookups counts the calls that look for what a step made.
func lookups(fake *slacktestx.Server) int {
	n := 0
	for _, m := range []string{"conversations.list", "conversations.history", "conversations.replies", "bookmarks.list"} {
		n += len(fake.Calls(m))
	}
	return n
}

func briefs(fake *slacktestx.Server, ch string) []slacktestx.Message {
	return messagesIn(fake, ch, "handoff brief")
}

func bookmarkTitles(ch slacktestx.Channel) []string {
	var out []string
	for _, bm := range ch.Bookmarks {
		out = append(out, bm.Title)
	}
	return out
}

// checkOnce asserts the escalation of INC-1 left one channel with one brief, pinned, and
// each bookmark once, and returns the incident.
func checkOnce(t *testing.T, b *testBot, fake *slacktestx.Server) store.Incident {
	t.Helper()
	inc := waitIncident(t, b, "INC-1", opDone(store.OpEscalate))
	chs := fake.Channels()
	if len(chs) != 1 || inc.Handoff.Channel != chs[0].ID || strings.HasSuffix(inc.Handoff.ChannelName, "-2") {
		t.Fatalf("channels %+v, the incident's %s (%s)", chs, inc.Handoff.Channel, inc.Handoff.ChannelName)
	}
	bs := briefs(fake, chs[0].ID)
	if len(bs) != 1 || inc.Handoff.BriefTS != bs[0].TS || !slices.Equal(chs[0].Pins, []string{bs[0].TS}) {
		t.Errorf("%d briefs, the incident's %s, pins %v", len(bs), inc.Handoff.BriefTS, chs[0].Pins)
	}
	if got, want := bookmarkTitles(chs[0]), []string{"Verdict thread", "Report", "Capture"}; !slices.Equal(got, want) {
		t.Errorf("bookmarks %q, want %q", got, want)
	}
	for _, st := range inc.Handoff.Ops[0].Steps {
		if st.State != store.StepDone {
			t.Errorf("step %s %s: %s", st.Name, st.State, st.Error)
		}
	}
	return inc
}

// Ensure an escalation stopped after Slack made its channel, brief or bookmark and before
// the bot heard is finished by the next start with that channel, brief or bookmark adopted,
// not made twice.
func TestEscalate_RestartAdoptsWhatSlackMade(t *testing.T) {
	checkLeaks(t)
	held := slacktestx.Fault{Hold: time.Minute}
	for name, tc := range map[string]struct {
		method string
		made   func(f *slacktestx.Server) bool
	}{
		"channel": {"conversations.create", func(f *slacktestx.Server) bool { return len(f.Channels()) == 1 }},
		"brief": {"chat.postMessage", func(f *slacktestx.Server) bool {
			return len(f.Channels()) == 1 && len(briefs(f, f.Channels()[0].ID)) == 1
		}},
		"bookmark": {"bookmarks.add", func(f *slacktestx.Server) bool { return len(f.Channels()) == 1 && len(f.Channels()[0].Bookmarks) == 1 }},
	} {
		t.Run(name, func(t *testing.T) {
			fake, dir, _ := escalationCut(t, tc.method, held, nil, tc.made)
			b2 := handoffBot(t, dir, fake, nil)
			checkOnce(t, b2, fake)
			if lookups(fake) == 0 {
				t.Errorf("the resumed step did not look for what it made")
			}
		})
	}
}

// Ensure a step whose call failed after Slack acted (a 503 after the write) is retried by
// adopting what the failed attempt made, and that steps run without a doubt never look.
func TestEscalate_RetryAfterActedFailureAdopts(t *testing.T) {
	checkLeaks(t)
	for _, method := range []string{"conversations.create", "chat.postMessage", "bookmarks.add"} {
		t.Run(method, func(t *testing.T) {
			fake := slacktestx.New(t)
			b := handoffBot(t, t.TempDir(), fake, nil)
			diagnosed(t, b)
			fake.Fail(method, slacktestx.Fault{Status: 503, Acted: true})
			b.command("UOPS", "C1", "escalate INC-1 sev1")
			checkOnce(t, b, fake)
			if n := lookups(fake); n != 1 {
				t.Errorf("%d lookups, want the one after the failure", n)
			}
		})
	}
}

// Ensure a resumed escalation whose channel name is taken adopts no channel that is not its
// own: one someone else made, one the bot made before the op began, one another incident
// records; it goes on to the next name.
func TestEscalate_RestartDoesNotAdoptOthersChannels(t *testing.T) {
	checkLeaks(t)
	for name, tc := range map[string]struct {
		before func(b *testBot) // on the first bot, before the escalation
		taken  func(at time.Time) slacktestx.Channel
	}{
		"someone_else": {taken: func(at time.Time) slacktestx.Channel {
			return slacktestx.Channel{Creator: slacktestx.Someone, Created: at}
		}},
		"made_before_the_op": {taken: func(at time.Time) slacktestx.Channel {
			return slacktestx.Channel{Creator: slacktestx.BotUserID, Created: at.Add(-time.Hour)}
		}},
		"another_incidents": {
			before: func(b *testBot) {
				b.command("UNET", "C1", "diagnose edge-02")
				waitIncident(t, b, "INC-2", isFinal)
				b.waitIdle()
				if _, err := b.srv.incidents.Update("INC-2", "UOPS", incident.Handoff(func(h *store.Handoff) { h.Channel = "CINC2" })); err != nil {
					t.Fatal(err)
				}
			},
			taken: func(at time.Time) slacktestx.Channel {
				return slacktestx.Channel{ID: "CINC2", Creator: slacktestx.BotUserID, Created: at}
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			fake, dir, b := escalationCut(t, "conversations.create", slacktestx.Fault{Delay: time.Minute}, tc.before, nil)
			inc := storedIncident(t, dir, "INC-1")
			op := inc.Handoff.Ops[0]
			if op.Step("create-channel").State != store.StepPlanned {
				t.Fatalf("after the stop: %+v", op)
			}
			base := b.srv.channelName(inc, op.At)
			taken := tc.taken(op.At)
			taken.Name = base
			takenID := fake.AddChannel(taken)

			b2 := handoffBot(t, dir, fake, nil)
			got := waitIncident(t, b2, "INC-1", opDone(store.OpEscalate))
			if got.Handoff.Channel == takenID || got.Handoff.ChannelName != base+"-2" || len(fake.Channels()) != 1 {
				t.Errorf("channel %s (%s), taken %s, made %+v", got.Handoff.Channel, got.Handoff.ChannelName, takenID, fake.Channels())
			}
			if len(fake.Calls("conversations.list")) == 0 {
				t.Errorf("the taken name was not looked up")
			}
		})
	}
}

// Ensure a resumed post adopts only a message the bot posted with its own step's metadata:
// not one of another step, op or incident, and not one someone else posted with it.
func TestEscalate_RestartDoesNotAdoptOtherMessages(t *testing.T) {
	checkLeaks(t)
	fake, dir, _ := escalationCut(t, "chat.postMessage", slacktestx.Fault{Delay: time.Minute}, nil, nil)
	inc := storedIncident(t, dir, "INC-1")
	ch := inc.Handoff.Channel
	if ch == "" || inc.Handoff.Ops[0].Step("post-brief").State != store.StepPlanned {
		t.Fatalf("after the stop: %+v", inc.Handoff)
	}
	meta := func(id string, seq int, step string) string {
		js, err := json.Marshal(slack.SlackMetadata{EventType: stepEvent, EventPayload: map[string]any{"incident": id, "op": seq, "step": step}})
		if err != nil {
			t.Fatal(err)
		}
		return string(js)
	}
	var others []string
	for _, m := range []slacktestx.Message{
		{User: slacktestx.BotUserID, BotID: slacktestx.BotID, Metadata: meta("INC-1", 1, "pointer")},
		{User: slacktestx.BotUserID, BotID: slacktestx.BotID, Metadata: meta("INC-1", 2, "post-brief")},
		{User: slacktestx.BotUserID, BotID: slacktestx.BotID, Metadata: meta("INC-2", 1, "post-brief")},
		{User: slacktestx.Someone, Metadata: meta("INC-1", 1, "post-brief")},
	} {
		m.Channel, m.Text = ch, "not the brief"
		others = append(others, fake.AddMessage(m))
	}

	b2 := handoffBot(t, dir, fake, nil)
	got := waitIncident(t, b2, "INC-1", opDone(store.OpEscalate))
	bs := briefs(fake, ch)
	if len(bs) != 1 || got.Handoff.BriefTS != bs[0].TS || slices.Contains(others, got.Handoff.BriefTS) {
		t.Errorf("%d briefs, the incident's %s, the others %v", len(bs), got.Handoff.BriefTS, others)
	}
	if len(fake.Calls("conversations.history")) == 0 {
		t.Errorf("the resumed post did not look for its message")
	}
}

// Ensure every message a step posts carries its incident, op and step in its metadata.
func TestSteps_PostWithTheirKey(t *testing.T) {
	checkLeaks(t)
	b, _ := escalated(t, &fakeClock{now: time.Now()})
	steps := map[string]bool{}
	for _, m := range b.slack.Messages() {
		if m.Metadata == "" {
			continue
		}
		var md slack.SlackMetadata
		if err := json.Unmarshal([]byte(m.Metadata), &md); err != nil || md.EventType != stepEvent || md.EventPayload["incident"] != "INC-1" {
			t.Errorf("metadata %s: %v", m.Metadata, err)
			continue
		}
		step, _ := md.EventPayload["step"].(string)
		steps[step] = true
	}
	for _, want := range []string{"post-brief", "index-line", "pointer"} {
		if !steps[want] {
			t.Errorf("no message of step %s carries its key: %v", want, steps)
		}
	}
	if n := lookups(b.slack); n != 0 {
		t.Errorf("%d lookups on a run without a doubt", n)
	}
}
