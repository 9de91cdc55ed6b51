package handlers

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag"
	"ipsecbot/handlers/slacktestx"
	"ipsecbot/store"
)

// Ensure a caller without the permission gets an ephemeral refusal naming it, nothing starts,
// and the refusal is audited; access by user group membership works.
func TestAccess_DenialNamesPermissionAndIsAudited(t *testing.T) {
	checkLeaks(t)
	eng := &fakeEngine{cause: "auth_failed"}
	b := newTestBot(t, t.TempDir(), eng, nil)
	b.slack.SetGroupMembers("SNETOPS", "UNET")
	cases := []struct {
		name, user, text, want, outcome string
	}{
		{"no_permission", "UNOBODY", "diagnose edge-01", "*diagnose* permission", "denied: diagnose"},
		{"group_member_without_capture", "UNET", "diagnose edge-01 capture 120", "*capture* permission", "denied: capture"},
		{"read_without_any_permission", "UNOBODY", "incidents", "needs one of the permissions", "denied: any"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := b.command(tc.user, "C1", tc.text)
			if r.ResponseType != "ephemeral" || !strings.Contains(r.Text, tc.want) {
				t.Errorf("reply = %+v, want ephemeral with %q", r, tc.want)
			}
		})
	}
	recs := b.auditLog(len(cases))
	for i, tc := range cases {
		if recs[i].User != tc.user || recs[i].Outcome != tc.outcome || recs[i].Channel != "C1" || recs[i].Args != tc.text {
			t.Errorf("audit[%d] = %+v, want user %s outcome %q", i, recs[i], tc.user, tc.outcome)
		}
	}
	if len(eng.calls) != 0 {
		t.Errorf("engine ran for denied commands")
	}
	// The group member may diagnose without a capture window; anyone may in the war room.
	if r := b.command("UNET", "C1", "diagnose edge-01"); !strings.Contains(r.Text, "Diagnosing edge-01 as INC-1") {
		t.Errorf("group member: %q", r.Text)
	}
	if r := b.command("UNOBODY", "CWARROOM", "diagnose edge-02"); !strings.Contains(r.Text, "Diagnosing edge-02 as INC-2") {
		t.Errorf("in the allowed channel: %q", r.Text)
	}
	waitIncident(t, b, "INC-1", isFinal)
	waitIncident(t, b, "INC-2", isFinal)
}

// Ensure help lists only what the caller may run.
func TestHelp_ListsOnlyPermittedCommands(t *testing.T) {
	checkLeaks(t)
	b := newTestBot(t, t.TempDir(), &fakeEngine{}, nil)
	b.slack.SetGroupMembers("SNETOPS", "UNET")
	ops := b.command("UOPS", "C1", "help").Text
	for _, want := range []string{"/ipsec diagnose EDGE", "/ipsec status", "/ipsec incident ID", "/ipsec incidents"} {
		if !strings.Contains(ops, want) {
			t.Errorf("help for UOPS lacks %q:\n%s", want, ops)
		}
	}
	if nobody := b.command("UNOBODY", "C1", "").Text; strings.Contains(nobody, "/ipsec diagnose") || !strings.Contains(nobody, "no permissions") {
		t.Errorf("help for UNOBODY:\n%s", nobody)
	}
	if net := b.command("UNET", "C1", "help").Text; !strings.Contains(net, "/ipsec diagnose") || !strings.Contains(net, "capture permission") {
		t.Errorf("help for UNET:\n%s", net)
	}
}

// Ensure malformed input gets the usage and an unknown edge the closest names.
func TestCommands_MalformedAndUnknownEdge(t *testing.T) {
	checkLeaks(t)
	b := newTestBot(t, t.TempDir(), &fakeEngine{}, nil)
	cases := []struct{ name, text, want string }{
		{"unknown_command", "reboot edge-01", `unknown command "reboot"`},
		{"diagnose_without_edge", "diagnose", "diagnose takes an edge name"},
		{"bad_capture", "diagnose edge-01 capture forever", "positive number"},
		{"capture_over_limit", "diagnose edge-01 capture 9999", "at most 300 seconds"},
		{"unknown_edge_close", "diagnose edge-1", "Did you mean `edge-01`"},
		{"unknown_edge_far", "status zzzzzzzzzzzz", "Known edges: `edge-01`, `edge-02`, `branch-edge`"},
		{"bad_incident_id", "incident 42; rm -rf", "incident takes one incident ID"},
		{"missing_incident", "incident INC-404", "There is no incident INC-404"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := b.command("UOPS", "C1", tc.text)
			if r.ResponseType != "ephemeral" || !strings.Contains(r.Text, tc.want) {
				t.Errorf("reply = %q, want %q", r.Text, tc.want)
			}
		})
	}
	b.auditLog(len(cases))
	if n := len(b.slack.Calls("chat.postMessage")); n != 0 {
		t.Errorf("%d posts for malformed commands", n)
	}
}

// Ensure status answers through the response_url, and incident/incidents read the store.
func TestCommands_StatusAndIncidents(t *testing.T) {
	checkLeaks(t)
	b := newTestBot(t, t.TempDir(), &fakeEngine{cause: "auth_failed"}, nil)
	if r := b.command("UOPS", "C1", "status edge-01"); !strings.Contains(r.Text, "Reading tunnel status of edge-01") {
		t.Errorf("status ack = %q", r.Text)
	}
	waitFor(t, "status reply", func() bool {
		for _, m := range b.slack.ResponseMessages() {
			if strings.Contains(m.Text, "Authentication Failed") && strings.Contains(m.Text, "branch-fw") {
				return true
			}
		}
		return false
	})
	b.command("UOPS", "C1", "diagnose edge-01")
	waitIncident(t, b, "INC-1", isFinal)
	if r := b.command("UOPS", "C1", "incidents"); !strings.Contains(r.Text, "INC-1") || !strings.Contains(r.Text, "auth_failed") {
		t.Errorf("incidents = %q", r.Text)
	}
	if r := b.command("UOPS", "C1", "incident inc-1"); !strings.Contains(r.Text, "*INC-1*") || !strings.Contains(r.Text, "Timeline") {
		t.Errorf("incident = %q", r.Text)
	}
}

// Ensure buttons are checked like commands: Resolve by a resolver resolves and notes it in
// the thread; by anyone else it is refused and audited; Capture longer starts a new run.
func TestButtons_CheckedAndAudited(t *testing.T) {
	checkLeaks(t)
	b := newTestBot(t, t.TempDir(), &fakeEngine{cause: "auth_failed"}, nil)
	b.command("UOPS", "C1", "diagnose edge-01")
	inc := waitIncident(t, b, "INC-1", isFinal)

	if code := b.press("UNOBODY", "C1", actionResolve, "INC-1", inc.ThreadTS); code != http.StatusOK {
		t.Fatalf("press: HTTP %d", code)
	}
	waitFor(t, "refusal", func() bool {
		for _, m := range b.slack.ResponseMessages() {
			if strings.Contains(m.Text, "*resolve* permission") {
				return true
			}
		}
		return false
	})
	if got, _ := b.db.Incident("INC-1"); got.Status != store.StatusOpen {
		t.Errorf("refused resolve changed the status to %s", got.Status)
	}
	b.press("UOPS", "C1", actionResolve, "INC-1", inc.ThreadTS)
	waitIncident(t, b, "INC-1", func(i store.Incident) bool { return i.Status == store.StatusResolved && i.Owner == "UOPS" })
	waitFor(t, "resolve note", func() bool {
		for _, m := range b.slack.Messages() {
			if m.ThreadTS == inc.ThreadTS && strings.Contains(m.Text, "resolved by <@UOPS>") {
				return true
			}
		}
		return false
	})
	b.waitIdle() // the first run holds edge-01 until its files are uploaded
	b.press("UOPS", "C1", actionCaptureLonger, "edge-01|120", inc.ThreadTS)
	second := waitIncident(t, b, "INC-2", isFinal)
	if second.CaptureSeconds != 120 {
		t.Errorf("capture longer ran with %d s", second.CaptureSeconds)
	}
	recs := b.auditLog(4)
	var outcomes []string
	for _, r := range recs {
		outcomes = append(outcomes, r.Command+"="+r.Outcome)
	}
	joined := strings.Join(outcomes, ", ")
	for _, want := range []string{"button resolve=denied: resolve", "button resolve=ok", "button capture_longer=ok: INC-2"} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit lacks %q: %s", want, joined)
		}
	}
}

// Ensure a hanging Slack API (user group lookup) cannot hold an acknowledgement past
// Slack's deadline: the group grants nothing and the caller is told so in time.
func TestAccess_HangingGroupLookupStillAcksInTime(t *testing.T) {
	checkLeaks(t)
	fake := slacktestx.New(t)
	fake.Fail("usergroups.users.list", slacktestx.Fault{Delay: time.Minute})
	b := newTestBot(t, t.TempDir(), &fakeEngine{}, fake)
	start := time.Now()
	r := b.command("UNET", "C1", "diagnose edge-01")
	if took := time.Since(start); took > 3*time.Second || !strings.Contains(r.Text, "*diagnose* permission") {
		t.Errorf("after %v: %q", took, r.Text)
	}
}

// Ensure `/ipsec diagnose EDGE datapath` asks the engine for step 8 (with or without a capture
// window), and a plain diagnose does not.
func TestCommands_DiagnoseDataPath(t *testing.T) {
	checkLeaks(t)
	eng := &fakeEngine{cause: "lost_on_wan"}
	b := newTestBot(t, t.TempDir(), eng, nil)
	for i, text := range []string{"diagnose edge-01 datapath", "diagnose edge-02 DataPath capture 60", "diagnose branch-edge"} {
		r := b.command("UOPS", "C1", text)
		if !strings.Contains(r.Text, "Diagnosing") {
			t.Fatalf("%q: reply %q", text, r.Text)
		}
		waitIncident(t, b, fmt.Sprintf("INC-%d", i+1), isFinal)
	}
	eng.mu.Lock()
	defer eng.mu.Unlock()
	got := map[string]diag.Request{}
	for _, c := range eng.calls {
		got[c.Edge] = c
	}
	if c := got["edge-01"]; !c.DataPath || c.CaptureSeconds != 0 {
		t.Errorf("edge-01: %+v", c)
	}
	if c := got["edge-02"]; !c.DataPath || c.CaptureSeconds != 60 {
		t.Errorf("edge-02: %+v", c)
	}
	if c := got["branch-edge"]; c.DataPath || c.Edge == "" {
		t.Errorf("branch-edge: %+v", c)
	}
	if r := b.command("UOPS", "C1", "diagnose edge-01 datapath capture"); !strings.Contains(r.Text, "diagnose takes an edge name") {
		t.Errorf("malformed: %q", r.Text)
	}
}
