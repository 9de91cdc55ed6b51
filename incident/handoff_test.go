package incident

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag"
	"ipsecbot/store"
)

// Ensure an op begins with its steps planned in the same commit as its status move and
// handoff state; steps end done (with their Slack ID) or failed (on the timeline), the op is
// done when none is planned, a step ends once, and Pending lists what a start must resume.
func TestBegin_StepsPlannedThenDoneOrFailed(t *testing.T) {
	l := newLifecycle(t)
	inc := incidentAt(t, l, "edge-01", store.StatusOpen)
	got, op, err := l.Begin(inc.ID, Plan{Kind: store.OpEscalate, Actor: "U2", Steps: []string{"create-channel", "pin-brief"},
		To: store.StatusEscalated, Set: func(h *store.Handoff) { h.Severity = "sev2" }})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusEscalated || got.Handoff.Severity != "sev2" || op.Seq != 1 || op.Done ||
		op.Steps[0].State != store.StepPlanned || op.Steps[1].State != store.StepPlanned {
		t.Fatalf("begun: %+v %+v", got, op)
	}
	if p, err := l.Pending(); err != nil || len(p) != 1 {
		t.Fatalf("pending %v, %v", p, err)
	}
	got, err = l.StepDone(inc.ID, 1, "create-channel", "C9", Handoff(func(h *store.Handoff) { h.Channel = "C9" }))
	if err != nil || got.Handoff.Channel != "C9" || got.Handoff.Ops[0].Steps[0].Out != "C9" || got.Handoff.Ops[0].Done {
		t.Fatalf("after the first step: %+v, %v", got.Handoff, err)
	}
	if _, err := l.StepDone(inc.ID, 1, "create-channel", "C10"); !errors.Is(err, ErrBusy) {
		t.Errorf("a step done twice: %v", err)
	}
	got, err = l.StepFailed(inc.ID, 1, "pin-brief", errors.New("pins.add: too_many_pins"))
	if err != nil || !got.Handoff.Ops[0].Done || got.Handoff.Failed()[0].Error != "pins.add: too_many_pins" {
		t.Fatalf("after the failed step: %+v, %v", got.Handoff, err)
	}
	if p, _ := l.Pending(); len(p) != 0 {
		t.Errorf("still pending: %v", p)
	}
	tl := timeline(t, l, inc.ID)
	if last := tl[len(tl)-1]; last.Kind != store.EventSlack || last.Text != "pin-brief failed: pins.add: too_many_pins" {
		t.Errorf("timeline ends with %+v", last)
	}
	if _, _, err := l.Begin(inc.ID, Plan{Kind: store.OpResolve, To: store.StatusResolved}); err != nil {
		t.Fatal(err)
	}
	_, _, err = l.Begin(inc.ID, Plan{Kind: store.OpResolve, To: store.StatusOpen})
	if !errors.Is(err, ErrRefused) {
		t.Errorf("resolved → open: %v", err)
	}
}

// Ensure a refused check writes nothing.
func TestBegin_CheckRefusesAndWritesNothing(t *testing.T) {
	l := newLifecycle(t)
	inc := incidentAt(t, l, "edge-01", store.StatusOpen)
	_, _, err := l.Begin(inc.ID, Plan{Kind: store.OpUpdate, Steps: []string{"post-update"},
		Check: func(*store.Incident) error { return ErrBusy }})
	if !errors.Is(err, ErrBusy) {
		t.Fatal(err)
	}
	got, _ := l.Store().Incident(inc.ID)
	if got.Handoff != nil || len(timeline(t, l, inc.ID)) != 1 {
		t.Errorf("a refused op wrote %+v", got.Handoff)
	}
}

func testView() View {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return View{
		Incident: store.Incident{ID: "INC-4", Edge: "edge-01", Status: store.StatusEscalated, Cause: "auth_failed", Requester: "U1", Created: at,
			Handoff: &store.Handoff{Severity: "sev1", Commander: "U2", Channel: "C9", OriginChannel: "C1", Resolved: at.Add(95 * time.Minute),
				Ops: []store.Op{{Steps: []store.Step{{Name: "invite", State: store.StepFailed, Error: "cant_invite"}}}}}},
		Timeline: []store.Event{
			{Time: at, Kind: store.EventOpened, Text: "diagnosis requested", Actor: "U1"},
			{Time: at.Add(time.Minute), Kind: store.EventFinding, Text: "auth_failed (confidence 0.99)", Actor: Bot},
			{Time: at.Add(2 * time.Minute), Kind: store.EventCommander, Text: "U2 is commander (escalated)", Actor: "U2"},
			{Time: at.Add(3 * time.Minute), Kind: store.EventUpdate, Text: "conditions: flapping", Actor: "U3"},
		},
		Artifacts: []store.Artifact{{Path: "/a/INC-4/capture.pcap", Kind: "pcap"}},
		Report: &diag.Report{Peer: "branch-fw", Verdict: diag.Verdict{Cause: diag.CauseAuthFailed, Confidence: 0.99, Summary: "PSK mismatch",
			Evidence: []diag.Evidence{{Source: "log", Ref: "peer.log:136", Text: "MAC mismatched"}},
			Missing:  []string{"edge capture"}}},
		NextUpdate: at.Add(33 * time.Minute),
	}
}

// Ensure the brief holds what a new commander needs, the same in Slack and the terminal
// up to the markup.
func TestView_Brief(t *testing.T) {
	v := testView()
	slack, term := v.Brief(Style{Slack: true}), v.Brief(Style{})
	for _, want := range []string{"handoff brief · edge-01 → branch-fw · escalated · sev1", "ruled in: auth_failed 0.99 — peer.log:136 MAC mismatched",
		"ruled out: peer_unreachable: the peer answered IKE", "ruled out: healthy: the verdict is auth_failed", "edge capture",
		"conditions: flapping", "2026-12-01 10:33:00 UTC", "capture.pcap", "not done in Slack: invite — cant_invite"} {
		if !strings.Contains(slack, want) || !strings.Contains(term, want) {
			t.Errorf("brief lacks %q:\n%s", want, term)
		}
	}
	if !strings.Contains(slack, "*Commander:* <@U2>") || !strings.Contains(term, "**Commander:** @U2") || !strings.Contains(term, "**Engaged:** @U2, @U1, @U3") {
		t.Errorf("markup:\n%s\n%s", slack, term)
	}
	if got := v.Topic(Style{Slack: true}); got != "IC <@U2> | escalated | sev1 | edge-01 → branch-fw | auth_failed" {
		t.Errorf("topic %q", got)
	}
}

// Ensure the postmortem skeleton carries the timeline, verdicts, evidence, updates and
// commanders, and leaves the judgement to people.
func TestView_Postmortem(t *testing.T) {
	md := testView().Postmortem()
	for _, want := range []string{"# Postmortem: INC-4 — edge-01 → branch-fw", "(after 1h35m0s)", "## Timeline (UTC)",
		"- 2026-12-01 10:01:00 UTC: auth_failed (confidence 0.99)", "- `peer.log:136` (log): MAC mismatched",
		"- 2026-12-01 10:03:00 UTC by @U3: conditions: flapping", "- 2026-12-01 10:02:00 UTC: U2 is commander (escalated)",
		"## Action items"} {
		if !strings.Contains(md, want) {
			t.Errorf("postmortem lacks %q:\n%s", want, md)
		}
	}
}

// Ensure report.json is read from the incident's directory, absent is no report, and a
// damaged one is an error naming it.
func TestReadReport(t *testing.T) {
	dir := t.TempDir()
	if r, err := ReadReport(dir, "INC-1"); r != nil || err != nil {
		t.Errorf("absent: %v %v", r, err)
	}
	os.MkdirAll(filepath.Join(dir, "INC-1"), 0o755)
	os.WriteFile(filepath.Join(dir, "INC-1", "report.json"), []byte(`{"cause":"auth_failed","confidence":0.9}`), 0o644)
	if r, err := ReadReport(dir, "INC-1"); err != nil || r.Cause != diag.CauseAuthFailed {
		t.Errorf("read: %+v %v", r, err)
	}
	os.WriteFile(filepath.Join(dir, "INC-1", "report.json"), []byte(`{"cause":`), 0o644)
	if _, err := ReadReport(dir, "INC-1"); err == nil || !strings.Contains(err.Error(), "INC-1 report.json") {
		t.Errorf("damaged: %v", err)
	}
}

// Ensure text from logs and people cannot become markup in Slack, and stays as it is in the
// terminal.
func TestView_BriefEscapesForSlack(t *testing.T) {
	v := testView()
	v.Report.Evidence[0].Text = "<@U999> & <!channel>"
	if got := v.Brief(Style{Slack: true}); !strings.Contains(got, "peer.log:136 &lt;@U999&gt; &amp; &lt;!channel&gt;") {
		t.Errorf("slack brief:\n%s", got)
	}
	if got := v.Brief(Style{}); !strings.Contains(got, "peer.log:136 <@U999> & <!channel>") {
		t.Errorf("terminal brief:\n%s", got)
	}
}

// Ensure a recurring op drops its finished predecessors, and sequence numbers never repeat.
func TestBegin_SupersedeKeepsOneRecurringOp(t *testing.T) {
	l := newLifecycle(t)
	inc := incidentAt(t, l, "edge-01", store.StatusOpen)
	var last store.Op
	for range 3 {
		_, op, err := l.Begin(inc.ID, Plan{Kind: store.OpRemind, Supersede: true, Steps: []string{"post-reminder"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.StepDone(inc.ID, op.Seq, "post-reminder", "1.2"); err != nil {
			t.Fatal(err)
		}
		last = op
	}
	got, _ := l.Store().Incident(inc.ID)
	if len(got.Handoff.Ops) != 1 || got.Handoff.Ops[0].Seq != 3 || last.Seq != 3 {
		t.Errorf("ops %+v", got.Handoff.Ops)
	}
}
