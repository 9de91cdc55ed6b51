package handlers

import (
	"strings"
	"testing"
	"time"

	"ipsecbot/diag"
	"ipsecbot/handlers/slacktestx"
	"ipsecbot/incident"
	"ipsecbot/lab/nsxsim"
	"ipsecbot/store"
	"ipsecbot/watch"
)

// autoWatcher is alertWatcher with the automatic diagnosis after the alerts, as bot serve
// wires them: the diagnoses go through al.Diagnose.
func autoWatcher(t *testing.T, b *testBot, src *nsxsim.Script) (*watch.Watcher, *watch.AutoDiagnose) {
	t.Helper()
	al, err := b.srv.NewAlerts(AlertOptions{Channel: alertChannel, ClearAfter: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	auto := &watch.AutoDiagnose{Start: func(k watch.Key) error { return al.Diagnose(t.Context(), k, "branch-fw") }}
	w, err := watch.New(watch.Config{
		Targets:  []watch.Target{{Edge: "edge-01", EdgeID: "edge-1", Source: src}},
		Store:    b.db,
		Policy:   watch.Policy{DownAfter: time.Nanosecond, Flaps: 2, FlapWindow: time.Hour, ClearAfter: time.Hour},
		Notifier: watch.Notifiers{al, auto}, Observer: al,
	})
	if err != nil {
		t.Fatal(err)
	}
	return w, auto
}

const autoTunnel = "10.0.1.0/24-10.0.2.0/24"

// Ensure a tunnel turning unstable diagnoses itself in its alert's thread: the run's message
// there becomes the verdict with its buttons, the capture is uploaded there, the incident is
// automatic and records that thread (so an escalation points back into it), and the alert
// says "Diagnosing automatically as INC-1", then the cause.
func TestAlerts_AutomaticDiagnosisInTheAlertThread(t *testing.T) {
	fake := slacktestx.New(t)
	eng := &fakeEngine{cause: diag.CauseAuthFailed}
	b := newTestBot(t, t.TempDir(), eng, fake)
	src := nsxsim.NewScript(oneTunnel("up", "a1", ""), oneTunnel("up", "b1", ""), oneTunnel("up", "c1", ""))
	w, auto := autoWatcher(t, b, src)
	sweep(t, w)
	sweep(t, w)
	sweep(t, w, watch.StateUnstable)
	auto.Wait() // the diagnosis is over: verdict and files are in Slack

	roots, replies := alertMessages(fake)
	if len(roots) != 1 {
		t.Fatalf("%d alerts, want 1", len(roots))
	}
	alert := roots[0]
	mustContain(t, "the alert", blockText(t, alert.Blocks), "IPsec tunnel unstable: edge-01 / ipsecsite-1",
		":mag: Diagnosed automatically as *INC-1*: cause `auth_failed`.")
	mustContain(t, "the alert's text", alert.Text, "INC-1: auth_failed")
	linked := false
	for _, c := range fake.Calls("chat.update") {
		linked = linked || c.Form.Get("ts") == alert.TS && strings.Contains(c.Form.Get("blocks"), ":mag: Diagnosing automatically as *INC-1*.")
	}
	if !linked {
		t.Error("the alert never said it was diagnosing automatically as INC-1")
	}
	var verdict *slacktestx.Message
	for i, m := range replies {
		if m.ThreadTS != alert.TS {
			t.Errorf("reply %q in thread %s, want the alert's %s", m.Text, m.ThreadTS, alert.TS)
		}
		if strings.Contains(m.Blocks, `"header"`) {
			verdict = &replies[i]
		}
	}
	if verdict == nil {
		t.Fatalf("no verdict in the alert's thread: %+v", replies)
	}
	mustContain(t, "the verdict", blockText(t, verdict.Blocks), "INC-1 · edge-01: auth_failed", "Escalate",
		"started automatically by the watcher")
	if verdict.Updates == 0 {
		t.Error("the verdict is a new message; want the run's progress message replaced")
	}
	var pcap bool
	for _, u := range fake.Uploads() {
		if u.Channel != alertChannel || u.ThreadTS != alert.TS || !u.Completed {
			t.Errorf("upload %s went to %s/%s, want the alert's thread %s/%s", u.Filename, u.Channel, u.ThreadTS, alertChannel, alert.TS)
		}
		pcap = pcap || u.Filename == "capture.pcap"
	}
	if !pcap {
		t.Errorf("no capture.pcap uploaded: %+v", fake.Uploads())
	}
	inc, err := b.db.Incident("INC-1")
	if err != nil {
		t.Fatal(err)
	}
	if inc.Origin != store.OriginAutomatic || inc.Channel != alertChannel || inc.ThreadTS != alert.TS || inc.Requester != "" || inc.Cause != string(diag.CauseAuthFailed) {
		t.Errorf("incident %+v: want automatic, in the alert's thread %s, its cause", inc, alert.TS)
	}
	if len(eng.calls) != 1 || !eng.calls[0].Automatic || eng.calls[0].Peer != "branch-fw" || eng.calls[0].Incident != "INC-1" {
		t.Errorf("engine asked %+v", eng.calls)
	}

	// An escalation points back into the alert's thread, as for a diagnosis someone asked for.
	if r := b.command("UOPS", alertChannel, "escalate INC-1"); !strings.Contains(r.Text, "Escalating INC-1") {
		t.Fatalf("escalate: %q", r.Text)
	}
	h := waitIncident(t, b, "INC-1", opDone(store.OpEscalate)).Handoff
	if h.OriginChannel != alertChannel || h.OriginThread != alert.TS {
		t.Errorf("handoff from %s/%s, want the alert's thread", h.OriginChannel, h.OriginThread)
	}
	pointers := 0
	for _, m := range fake.Messages() {
		if m.Channel == alertChannel && m.ThreadTS == alert.TS && strings.Contains(m.Text, "escalated to <#"+h.Channel+">") {
			pointers++
		}
	}
	if pointers != 1 {
		t.Errorf("%d pointers in the alert's thread, want 1", pointers)
	}
}

// Ensure the verdict is not lost when Slack refuses the alert: the run posts its own message
// in the alert channel (its thread recorded with the incident), and the alert, posted once
// Slack takes it (here: when the verdict is in), links the incident and its cause.
func TestAlerts_AutomaticDiagnosisWithoutTheAlert(t *testing.T) {
	fake := slacktestx.New(t)
	b := newTestBot(t, t.TempDir(), &fakeEngine{cause: diag.CauseAuthFailed}, fake)
	src := nsxsim.NewScript(oneTunnel("up", "a1", ""), oneTunnel("up", "b1", ""), oneTunnel("up", "c1", ""))
	w, auto := autoWatcher(t, b, src)
	sweep(t, w)
	sweep(t, w)
	// The alert's post and its second try when the diagnosis asks for it: 3 attempts each.
	refused := slacktestx.Fault{Error: "internal_error"}
	fake.Fail("chat.postMessage", refused, refused, refused, refused, refused, refused)
	sweep(t, w, watch.StateUnstable)
	auto.Wait()

	roots, _ := alertMessages(fake)
	if len(roots) != 2 {
		t.Fatalf("alert channel roots %+v, want the run's own message, then the alert", roots)
	}
	run, alert := roots[0], roots[1]
	mustContain(t, "the run's message", blockText(t, run.Blocks), "INC-1 · edge-01: auth_failed", "Escalate")
	mustContain(t, "the late alert", blockText(t, alert.Blocks), "IPsec tunnel unstable: edge-01",
		":mag: Diagnosed automatically as *INC-1*: cause `auth_failed`.")
	inc, err := b.db.Incident("INC-1")
	if err != nil || inc.Channel != alertChannel || inc.ThreadTS != run.TS {
		t.Errorf("incident %+v %v: want the run's own thread %s", inc, err, run.TS)
	}
	for _, u := range fake.Uploads() {
		if u.ThreadTS != run.TS {
			t.Errorf("upload %s in thread %s, want %s", u.Filename, u.ThreadTS, run.TS)
		}
	}
	if rec, err := b.db.WatchAlert("edge-01", "ipsecsite-1", autoTunnel); err != nil || rec.TS != alert.TS || rec.Stale || len(rec.Pending) != 0 {
		t.Errorf("stored alert %+v %v: want all in Slack", rec, err)
	}
	sweep(t, w) // nothing owed: nothing posted twice
	if roots, _ := alertMessages(fake); len(roots) != 2 {
		t.Errorf("%d roots after the next sweep, want still 2", len(roots))
	}
}

// Ensure an alert whose automatic diagnosis the bot never saw end (it stopped during the run,
// and its next start marked the incident interrupted) says so at the next sweep, rather than
// "Diagnosing" for ever.
func TestAlerts_AutomaticDiagnosisEndedUnseen(t *testing.T) {
	fake, b, al := alertsBot(t)
	k := watch.Key{Edge: "edge-01", Site: "ipsecsite-1", Tunnel: autoTunnel}
	now := time.Now()
	al.Notify(t.Context(), watch.Transition{Key: k, From: watch.StateUp, To: watch.StateDown, At: now, Reason: "down for 2m0s"})
	inc, err := b.srv.incidents.Open(incident.Opening{Origin: store.OriginAutomatic, Edge: k.Edge, Channel: alertChannel, Diagnosing: true})
	if err != nil {
		t.Fatal(err)
	}
	if ts := al.link(k, inc.ID); ts == "" {
		t.Fatal("no alert thread to link")
	}
	al.Sweep(t.Context(), nil, now) // still diagnosing: the alert stays as it is
	roots, _ := alertMessages(fake)
	mustContain(t, "the alert while diagnosing", blockText(t, roots[0].Blocks), ":mag: Diagnosing automatically as *"+inc.ID+"*.")
	if _, err := b.srv.incidents.InterruptDiagnosing("the bot stopped"); err != nil {
		t.Fatal(err)
	}
	al.Sweep(t.Context(), nil, now)
	roots, _ = alertMessages(fake)
	mustContain(t, "the alert after the interruption", blockText(t, roots[0].Blocks),
		":x: The automatic diagnosis *"+inc.ID+"* ended without a verdict; its thread says why.")
	if rec, err := b.db.WatchAlert(k.Edge, k.Site, k.Tunnel); err != nil || !rec.Diagnosed || rec.Stale {
		t.Errorf("stored alert %+v %v: want the diagnosis over, in Slack", rec, err)
	}
}
