package handlers

import (
	"slices"
	"strings"
	"testing"
	"time"

	"ipsecbot/config"
	"ipsecbot/handlers/slacktestx"
	"ipsecbot/store"
)

// escalated runs a diagnosis and escalates it (UOPS, sev1) on a bot with a fake clock.
func escalated(t *testing.T, clock *fakeClock) (*testBot, store.Incident) {
	t.Helper()
	b := handoffBot(t, t.TempDir(), nil, clock)
	diagnosed(t, b)
	b.command("UOPS", "C1", "escalate INC-1 sev1")
	return b, waitIncident(t, b, "INC-1", opDone(store.OpEscalate))
}

func opsDone(kind string, n int) func(store.Incident) bool {
	return func(i store.Incident) bool {
		done := 0
		for _, o := range i.Handoff.Ops {
			if o.Kind == kind && o.Done {
				done++
			}
		}
		return done == n
	}
}

// Ensure `/ipsec commander` (and its alias handoff) is refused to someone who is neither the
// commander nor an escalator, and to a bot; done by the commander it announces the handover,
// rewrites the topic, updates the brief, sends the new commander the brief and a checklist in
// a direct message, and records the change; the new commander may hand over in turn.
func TestCommander_HandsOver(t *testing.T) {
	checkLeaks(t)
	b, inc := escalated(t, &fakeClock{now: time.Now()})
	fake, ch := b.slack, inc.Handoff.Channel
	fake.SetUser("UBOT", slacktestx.User{IsBot: true})

	if r := b.command("UNET", "C1", "commander INC-1 <@UNET|net>"); !strings.Contains(r.Text, "Only the commander <@UOPS> or someone with the escalate permission") {
		t.Errorf("UNET takes over: %q", r.Text)
	}
	if n := len(fake.Calls("users.info")); n != 0 {
		t.Errorf("Slack asked about a refused handover's user %d times", n)
	}
	if r := b.command("UOPS", "C1", "commander INC-1 <@UBOT>"); !strings.Contains(r.Text, "is a bot") {
		t.Errorf("hand to a bot: %q", r.Text)
	}
	fake.Fail("users.info", slacktestx.Fault{Error: "missing_scope"})
	if r := b.command("UOPS", "C1", "commander INC-1 <@UCAROL>"); !strings.Contains(r.Text, "Slack could not tell who <@UCAROL> is just now (it answered missing_scope); try again") ||
		strings.Contains(r.Text, "http") {
		t.Errorf("users.info failing: %q", r.Text)
	}
	if r := b.command("UOPS", "C1", "commander INC-1 @alice"); !strings.Contains(r.Text, "not a user mention") {
		t.Errorf("unescaped name: %q", r.Text)
	}
	if r := b.command("UOPS", ch, "commander INC-1 <@UALICE|alice>"); !strings.Contains(r.Text, "Handing INC-1 over to <@UALICE>") {
		t.Fatalf("handover: %q", r.Text)
	}
	got := waitIncident(t, b, "INC-1", opDone(store.OpCommander))
	answered(t, fake, "<@UALICE> is now the incident commander of INC-1.")
	if got.Handoff.Commander != "UALICE" {
		t.Errorf("commander %q", got.Handoff.Commander)
	}
	if n := len(messagesIn(fake, ch, "<@UOPS> assigned the incident commander role of INC-1 to <@UALICE>")); n != 1 {
		t.Errorf("%d announcements", n)
	}
	if topic := fake.Channels()[0].Topic; !strings.HasPrefix(topic, "IC <@UALICE> | escalated | sev1") {
		t.Errorf("topic %q", topic)
	}
	var dm *slacktestx.Message
	for _, m := range fake.Messages() {
		if strings.HasPrefix(m.Channel, "D") {
			dm = &m
		}
	}
	if dm == nil || !strings.Contains(dm.Text, "You are now the incident commander of INC-1") || !strings.Contains(dm.Text, "/ipsec update INC-1") ||
		!strings.Contains(dm.Text, "*Commander:* <@UALICE>") {
		t.Errorf("direct message: %+v", dm)
	}
	brief := messagesIn(fake, ch, "handoff brief")[0]
	if brief.Updates == 0 || !strings.Contains(brief.Text, "*Commander:* <@UALICE>") {
		t.Errorf("brief not kept current: %+v", brief)
	}
	if r := b.command("UALICE", ch, "handoff INC-1 <@UALICE>"); !strings.Contains(r.Text, "already the commander") {
		t.Errorf("hand to oneself: %q", r.Text)
	}
	// The commander needs no permission to hand over.
	b.command("UALICE", ch, "handoff INC-1 UBOB")
	got = waitIncident(t, b, "INC-1", opsDone(store.OpCommander, 2))
	tl, _ := b.db.Timeline("INC-1")
	var commanders []string
	for _, ev := range tl {
		if ev.Kind == store.EventCommander {
			commanders = append(commanders, ev.Text)
		}
	}
	if got.Handoff.Commander != "UBOB" || len(commanders) != 3 {
		t.Errorf("commander %s, timeline %q", got.Handoff.Commander, commanders)
	}
	if r := b.command("UOPS", "C1", "commander INC-2 <@UBOB>"); !strings.Contains(r.Text, "no incident INC-2") {
		t.Errorf("missing incident: %q", r.Text)
	}
}

// Ensure updates are posted and pinned as the latest (the previous one unpinned) with their
// time recorded, and that the reminder follows the severity's cadence on the injected
// clock: none before it is due, one when due however often the sweep runs, none after an
// update until the next period, and none while snoozed from its button.
func TestUpdate_PinsLatestAndRemindsOnCadence(t *testing.T) {
	checkLeaks(t)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: t0}
	b, inc := escalated(t, clock)
	fake, ch := b.slack, inc.Handoff.Channel
	reminders := func() int { return len(messagesIn(fake, ch, "has had no status update")) }
	sweep := func(at time.Time) {
		clock.Set(at)
		b.srv.sweepHandoffs(t.Context(), at)
	}

	sweep(t0.Add(29 * time.Minute))
	if reminders() != 0 {
		t.Fatalf("reminded before the cadence")
	}
	sweep(t0.Add(30 * time.Minute))
	sweep(t0.Add(31 * time.Minute))
	if reminders() != 1 {
		t.Fatalf("%d reminders once due", reminders())
	}

	b.command("UNET", ch, "update INC-1 conditions: tunnel flaps every 5 min actions: PSK rotated on the edge needs: the peer's admin")
	first := waitIncident(t, b, "INC-1", opDone(store.OpUpdate))
	b.command("UNET", ch, "update INC-1 stable since the rotation")
	second := waitIncident(t, b, "INC-1", opsDone(store.OpUpdate, 2))
	updates := messagesIn(fake, ch, "*INC-1 status update*")
	if len(updates) != 2 || !strings.Contains(updates[0].Text, "*Conditions:* tunnel flaps every 5 min\n*Actions:* PSK rotated on the edge\n*Needs:* the peer's admin") ||
		!strings.Contains(updates[1].Text, "*Conditions:* stable since the rotation") {
		t.Fatalf("updates: %+v", updates)
	}
	pins := fake.Channels()[0].Pins
	if len(pins) != 2 || pins[0] != inc.Handoff.BriefTS || pins[1] != second.Handoff.UpdateTS || first.Handoff.UpdateTS == second.Handoff.UpdateTS {
		t.Errorf("pins %v: want the brief and the latest update %s", pins, second.Handoff.UpdateTS)
	}
	if !second.Handoff.LastUpdate.Equal(t0.Add(31 * time.Minute)) {
		t.Errorf("last update recorded at %v", second.Handoff.LastUpdate)
	}
	if brief := messagesIn(fake, ch, "handoff brief")[0]; !strings.Contains(brief.Text, "*Last update:*") || !strings.Contains(brief.Text, "stable since the rotation") {
		t.Errorf("brief after the update: %s", brief.Text)
	}

	last := t0.Add(31 * time.Minute)
	sweep(last.Add(29 * time.Minute))
	if reminders() != 1 {
		t.Fatalf("reminded again before the next period")
	}
	sweep(last.Add(30 * time.Minute))
	if reminders() != 2 {
		t.Fatalf("%d reminders after the next period", reminders())
	}
	// Snoozed from the reminder: one cadence on, once.
	reminder := messagesIn(fake, ch, "has had no status update")[1]
	if !strings.Contains(reminder.Blocks, actionSnooze) {
		t.Fatalf("reminder without a snooze button: %s", reminder.Blocks)
	}
	b.press("UOPS", ch, actionSnooze, "INC-1", reminder.TS)
	answered(t, fake, "snoozed until 2026-12-01 11:31:00 UTC")
	b.press("UOPS", ch, actionSnooze, "INC-1", reminder.TS)
	answered(t, fake, "already snoozed until 2026-12-01 11:31:00 UTC")
	sweep(last.Add(59 * time.Minute))
	if reminders() != 2 {
		t.Fatalf("reminded while snoozed")
	}
	sweep(last.Add(60 * time.Minute))
	if reminders() != 3 {
		t.Fatalf("%d reminders after the snooze", reminders())
	}
	if r := b.command("UNET", "C1", "update INC-1"); !strings.Contains(r.Text, "update needs the text") {
		t.Errorf("empty update: %q", r.Text)
	}
}

// Ensure `/ipsec resolve` asks for a note without one, is refused to someone who is neither
// the commander nor a resolver, and by the commander posts a closing summary (cause, what
// fixed it, time to resolve, the watcher's drops while open), rewrites topic, index line
// and brief, tells the diagnosis thread; the Resolve button then says it is resolved; and
// archive_after later the channel is archived, once.
func TestResolve_ClosesAndArchives(t *testing.T) {
	checkLeaks(t)
	t0 := time.Now().UTC()
	clock := &fakeClock{now: t0}
	b, inc := escalated(t, clock)
	fake, ch := b.slack, inc.Handoff.Channel
	drop := store.WatchEvent{Time: t0.Add(time.Minute), Kind: store.WatchDrop}
	err := b.db.SaveWatch([]store.WatchTunnel{{Edge: "edge-01", Site: "branch-fw", Tunnel: "t1", State: "unstable"}},
		map[[3]string][]store.WatchEvent{{"edge-01", "branch-fw", "t1"}: {drop}})
	if err != nil {
		t.Fatal(err)
	}

	if r := b.command("UOPS", ch, "resolve INC-1"); !strings.Contains(r.Text, "What fixed it?") {
		t.Errorf("resolve without a note: %q", r.Text)
	}
	b.press("UOPS", ch, actionResolve, "INC-1", "")
	answered(t, fake, "What fixed it? Resolve INC-1 with a note")
	if r := b.command("UNET", ch, "resolve INC-1 fixed"); !strings.Contains(r.Text, "Only the commander <@UOPS> or someone with the resolve permission") {
		t.Errorf("UNET resolves: %q", r.Text)
	}
	clock.Set(t0.Add(90 * time.Minute))
	b.command("UOPS", ch, "resolve INC-1 PSK re-keyed on both gateways")
	got := waitIncident(t, b, "INC-1", opDone(store.OpResolve))
	if got.Status != store.StatusResolved || got.Owner != "UOPS" {
		t.Fatalf("after resolve: %+v", got)
	}
	answered(t, fake, "INC-1 is resolved.")
	sums := messagesIn(fake, ch, "INC-1 resolved")
	if len(sums) != 1 {
		t.Fatalf("%d closing summaries", len(sums))
	}
	for _, want := range []string{"*Cause:* `auth_failed`", "*What fixed it:* PSK re-keyed on both gateways", "*Time to resolve:* 1h30m",
		"*Watcher:* 1 drops while it was open"} {
		if !strings.Contains(sums[0].Text, want) {
			t.Errorf("closing summary lacks %q:\n%s", want, sums[0].Text)
		}
	}
	if topic := fake.Channels()[0].Topic; !strings.Contains(topic, "| resolved |") {
		t.Errorf("topic %q", topic)
	}
	if idx := messagesIn(fake, "CINDEX", "INC-1"); len(idx) != 1 || idx[0].Updates == 0 || !strings.Contains(idx[0].Text, "resolved") {
		t.Errorf("index line %+v", idx)
	}
	if brief := messagesIn(fake, ch, "handoff brief")[0]; !strings.Contains(brief.Text, "· resolved ·") {
		t.Errorf("brief %s", brief.Text)
	}
	if n := len(messagesIn(fake, "C1", "resolved by <@UOPS>: PSK re-keyed")); n != 1 {
		t.Errorf("%d notes in the diagnosis thread", n)
	}
	b.press("UOPS", ch, actionResolve, "INC-1", "")
	answered(t, fake, "INC-1 is already resolved.")

	resolved := got.Handoff.Resolved
	b.srv.sweepHandoffs(t.Context(), resolved.Add(7*24*time.Hour-time.Minute))
	if fake.Channels()[0].Archived {
		t.Fatal("archived before archive_after")
	}
	b.srv.sweepHandoffs(t.Context(), resolved.Add(7*24*time.Hour))
	b.srv.sweepHandoffs(t.Context(), resolved.Add(8*24*time.Hour))
	if !fake.Channels()[0].Archived || len(fake.Calls("conversations.archive")) != 1 {
		t.Errorf("archive calls %d", len(fake.Calls("conversations.archive")))
	}
}

// Ensure the update form is read in any order and case, and plain text is all conditions.
func TestParseUpdate(t *testing.T) {
	tests := []struct{ in, c, a, n string }{
		{"tunnel down", "tunnel down", "", ""},
		{"Conditions: down Actions: paged peer NEEDS: PSK", "down", "paged peer", "PSK"},
		{"needs: a change window conditions: flapping", "flapping", "", "a change window"},
		{"flapping since 10:00 actions: rekey", "flapping since 10:00", "rekey", ""},
	}
	for _, tt := range tests {
		c, a, n := parseUpdate(tt.in)
		if c != tt.c || a != tt.a || n != tt.n {
			t.Errorf("parseUpdate(%q) = %q, %q, %q", tt.in, c, a, n)
		}
	}
}

func FuzzParseUpdate(f *testing.F) {
	f.Add("conditions: a actions: b needs: c")
	f.Add("needs:conditions:actions:")
	f.Add("plain")
	f.Fuzz(func(t *testing.T, s string) {
		c, a, n := parseUpdate(s)
		if len(c)+len(a)+len(n) > len(s)+2 {
			t.Errorf("parseUpdate(%q) made text up: %q %q %q", s, c, a, n)
		}
	})
}

// Ensure channel names follow Slack's rules: lower case, [a-z0-9-_], at most the length.
func TestSlackName(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"inc-20261201-Edge-01-ipsec", 77, "inc-20261201-edge-01-ipsec"},
		{"inc-20261201-edge.01 (DC1)-ipsec", 77, "inc-20261201-edge-01-dc1-ipsec"},
		{"inc-" + strings.Repeat("x", 100), 77, "inc-" + strings.Repeat("x", 73)},
		{"--a__b--", 77, "a__b"},
	}
	for _, tt := range tests {
		if got := slackName(tt.in, tt.max); got != tt.want {
			t.Errorf("slackName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Ensure the handoff commands parse their arguments and refuse malformed ones.
func TestParseCommand_Handoff(t *testing.T) {
	tests := []struct {
		in   string
		want Command
		err  string
	}{
		{"escalate INC-3 sev1", Command{Name: "escalate", Incident: "INC-3", Severity: "sev1"}, ""},
		{"escalate INC-3 sev9", Command{}, "unknown severity"},
		{"commander inc-3 <@U12|ann>", Command{Name: "commander", Incident: "INC-3", User: "U12"}, ""},
		{"handoff INC-3 W77", Command{Name: "commander", Incident: "INC-3", User: "W77"}, ""},
		{"handoff INC-3", Command{}, "the new commander"},
		{"update INC-3   conditions:  a  b", Command{Name: "update", Incident: "INC-3", Text: "conditions:  a  b"}, ""},
		{"resolve INC-3", Command{Name: "resolve", Incident: "INC-3"}, ""},
		{"resolve INC-3 re-keyed", Command{Name: "resolve", Incident: "INC-3", Text: "re-keyed"}, ""},
	}
	for _, tt := range tests {
		got, err := parseCommand(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseCommand(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseCommand(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

// cutOff escalates INC-1 on a bot over a new store, runs command (by UOPS in the incident
// channel) with the next call of method hanging, and stops the bot while it hangs.
func cutOff(t *testing.T, method, command string, tune ...func(*config.Config)) (*slacktestx.Server, string, store.Incident) {
	t.Helper()
	fake := slacktestx.New(t)
	dir := t.TempDir()
	b := handoffBot(t, dir, fake, nil, tune...)
	diagnosed(t, b)
	b.command("UOPS", "C1", "escalate INC-1")
	inc := waitIncident(t, b, "INC-1", opDone(store.OpEscalate))
	before := len(fake.Calls(method))
	fake.Fail(method, slacktestx.Fault{Delay: time.Minute})
	b.command("UOPS", inc.Handoff.Channel, command)
	waitFor(t, method+" in flight", func() bool { return len(fake.Calls(method)) == before+1 })
	b.stop()
	return fake, dir, inc
}

// Ensure a handover cut off while its direct message is being opened is finished by the next
// start with one announcement, one direct message and the new commander invited once.
func TestCommander_RestartSendsOneDM(t *testing.T) {
	checkLeaks(t)
	fake, dir, _ := cutOff(t, "conversations.open", "commander INC-1 <@UALICE>")
	if op := storedIncident(t, dir, "INC-1").Handoff.Ops[1]; op.Done || op.Step("announce").State != store.StepDone {
		t.Fatalf("after the stop: %+v", op)
	}

	b2 := handoffBot(t, dir, fake, nil)
	got := waitIncident(t, b2, "INC-1", opDone(store.OpCommander))
	dms := 0
	for _, m := range fake.Messages() {
		if strings.HasPrefix(m.Channel, "D") && strings.Contains(m.Text, "You are now the incident commander of INC-1") {
			dms++
		}
	}
	ch := fake.Channels()[0]
	if dms != 1 || len(messagesIn(fake, ch.ID, "assigned the incident commander role")) != 1 || len(fake.Calls("conversations.open")) != 2 ||
		!slices.Contains(ch.Members, "UALICE") || got.Handoff.Commander != "UALICE" {
		t.Errorf("%d direct messages, %d opens, members %v, commander %s", dms, len(fake.Calls("conversations.open")), ch.Members, got.Handoff.Commander)
	}
}

// Ensure a resolution cut off while the topic is being set is finished by the next start
// with one closing summary and one note in the diagnosis thread; and that without
// archive_resolved the channel gets one reminder to archive it instead, once.
func TestResolve_RestartAndArchiveReminder(t *testing.T) {
	checkLeaks(t)
	keep := func(c *config.Config) { c.Slack.ArchiveResolved = false }
	fake, dir, inc := cutOff(t, "conversations.setTopic", "resolve INC-1 peer PSK corrected", keep)

	b2 := handoffBot(t, dir, fake, nil, keep)
	got := waitIncident(t, b2, "INC-1", opDone(store.OpResolve))
	ch := inc.Handoff.Channel
	if n, m := len(messagesIn(fake, ch, "INC-1 resolved")), len(messagesIn(fake, "C1", "resolved by <@UOPS>: peer PSK corrected")); n != 1 || m != 1 {
		t.Errorf("%d closing summaries, %d thread notes", n, m)
	}
	if topic := fake.Channels()[0].Topic; !strings.Contains(topic, "| resolved |") {
		t.Errorf("topic %q", topic)
	}
	due := got.Handoff.Resolved.Add(7 * 24 * time.Hour)
	b2.srv.sweepHandoffs(t.Context(), due)
	b2.srv.sweepHandoffs(t.Context(), due.Add(time.Hour))
	if n := len(messagesIn(fake, ch, "Archive this channel")); n != 1 || fake.Channels()[0].Archived {
		t.Errorf("%d archive reminders, archived %v", n, fake.Channels()[0].Archived)
	}
}
