package handlers

import (
	"strings"
	"testing"

	"ipsecbot/handlers/slacktestx"
	"ipsecbot/store"
)

// Ensure `/ipsec escalate` hands the incident off: a channel named after it (the next name
// when taken), the requester, the escalating user and the on-call group invited, a pinned
// summary there, the incident moved with status escalated, and a pointer in the old thread.
// Someone without the escalate permission is refused.
func TestEscalate_HandsOffToIncidentChannel(t *testing.T) {
	checkLeaks(t)
	fake := slacktestx.New(t)
	fake.SetGroupMembers("SONCALL", "UONCALL1", "UONCALL2")
	fake.SetGroupMembers("SNETOPS", "UNET")
	fake.Fail("conversations.create", slacktestx.Fault{Error: "name_taken"})
	b := newTestBot(t, t.TempDir(), &fakeEngine{cause: "auth_failed"}, fake)
	b.command("UNET", "C1", "diagnose edge-01")
	before := waitIncident(t, b, "INC-1", isFinal)
	b.waitIdle()

	if r := b.command("UNET", "C1", "escalate INC-1"); !strings.Contains(r.Text, "*escalate* permission") {
		t.Errorf("UNET escalate: %q", r.Text)
	}
	if r := b.command("UOPS", "C1", "escalate inc-1"); !strings.Contains(r.Text, "Escalating INC-1") {
		t.Fatalf("UOPS escalate: %q", r.Text)
	}
	after := waitIncident(t, b, "INC-1", func(i store.Incident) bool { return i.Status == store.StatusEscalated })
	if !strings.HasPrefix(after.Channel, "CNEW") || after.ThreadTS == "" {
		t.Fatalf("incident after escalation: %+v", after)
	}
	waitFor(t, "the answer to UOPS", func() bool {
		for _, m := range fake.ResponseMessages() {
			if strings.Contains(m.Text, "INC-1 is escalated to <#"+after.Channel+">") {
				return true
			}
		}
		return false
	})
	creates := fake.Calls("conversations.create")
	if len(creates) != 2 || creates[0].Form.Get("name") != "inc-ipsec-1" || creates[1].Form.Get("name") != "inc-ipsec-1-2" {
		t.Errorf("conversations.create calls: %+v", creates)
	}
	invites := fake.Calls("conversations.invite")
	if len(invites) != 1 || invites[0].Form.Get("channel") != after.Channel || invites[0].Form.Get("users") != "UNET,UONCALL1,UONCALL2,UOPS,UPAGER" {
		t.Errorf("invites: %+v", invites)
	}
	if pins := fake.Calls("pins.add"); len(pins) != 1 || pins[0].Form.Get("channel") != after.Channel || pins[0].Form.Get("timestamp") != after.ThreadTS {
		t.Errorf("pins: %+v", pins)
	}
	var summary, pointer bool
	for _, m := range fake.Messages() {
		summary = summary || m.Channel == after.Channel && m.TS == after.ThreadTS && strings.Contains(m.Text, "auth_failed")
		pointer = pointer || m.Channel == "C1" && m.ThreadTS == before.ThreadTS && strings.Contains(m.Text, "escalated to <#"+after.Channel+">")
	}
	if !summary || !pointer {
		t.Errorf("summary in the new channel: %v, pointer in the old thread: %v", summary, pointer)
	}
	if r := b.command("UOPS", "C1", "escalate INC-404"); !strings.Contains(r.Text, "no incident INC-404") {
		t.Errorf("missing incident: %q", r.Text)
	}
}

// Ensure the Escalate button is checked like the command and escalates for an escalator.
func TestEscalate_Button(t *testing.T) {
	checkLeaks(t)
	b := newTestBot(t, t.TempDir(), &fakeEngine{cause: "auth_failed"}, nil)
	b.slack.SetGroupMembers("SONCALL", "UONCALL1")
	b.command("UOPS", "C1", "diagnose edge-01")
	inc := waitIncident(t, b, "INC-1", isFinal)
	b.waitIdle()
	b.press("UNOBODY", "C1", actionEscalate, "INC-1", inc.ThreadTS)
	b.press("UOPS", "C1", actionEscalate, "INC-1", inc.ThreadTS)
	waitIncident(t, b, "INC-1", func(i store.Incident) bool { return i.Status == store.StatusEscalated })
	recs := b.auditLog(3)
	var outcomes []string
	for _, r := range recs {
		outcomes = append(outcomes, r.User+" "+r.Command+"="+r.Outcome)
	}
	joined := strings.Join(outcomes, ", ")
	for _, want := range []string{"UNOBODY button escalate=denied: escalate", "UOPS button escalate=ok"} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit lacks %q: %s", want, joined)
		}
	}
}
