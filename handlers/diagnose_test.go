package handlers

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"ipsecbot/diag/edge"
	"ipsecbot/diag/fault"
	"ipsecbot/handlers/slacktestx"
	"ipsecbot/store"
)

// waitIncident polls the store until incident id satisfies cond.
func waitIncident(t *testing.T, b *testBot, id string, cond func(store.Incident) bool) store.Incident {
	t.Helper()
	var inc store.Incident
	waitFor(t, id+" in the wanted state", func() bool {
		var err error
		inc, err = b.db.Incident(id)
		return err == nil && cond(inc)
	})
	return inc
}

func isFinal(inc store.Incident) bool { return inc.Status == store.StatusOpen && inc.Cause != "" }

// rootMessage is the first message the bot posted in channel outside threads.
func rootMessage(t *testing.T, fake *slacktestx.Server, channel string) slacktestx.Message {
	t.Helper()
	for _, m := range fake.Messages() {
		if m.Channel == channel && m.ThreadTS == "" {
			return m
		}
	}
	t.Fatalf("no message in %s: %+v", channel, fake.Messages())
	return slacktestx.Message{}
}

// Ensure `/ipsec diagnose edge-01` is acknowledged with the incident ID, one channel message
// is kept current and ends as the verdict naming the cause, step details go in its thread,
// and the pcap, report.md and outputs are uploaded into that thread.
func TestDiagnose_VerdictAndUploadsInThread(t *testing.T) {
	checkLeaks(t)
	b := newTestBot(t, t.TempDir(), &fakeEngine{cause: "auth_failed"}, nil)
	ack := b.command("UOPS", "C1", "diagnose edge-01")
	if ack.ResponseType != "ephemeral" || !strings.Contains(ack.Text, "Diagnosing edge-01 as INC-1") {
		t.Fatalf("ack = %+v", ack)
	}
	inc := waitIncident(t, b, "INC-1", isFinal)
	b.waitIdle()
	b.stop()

	if inc.Cause != "auth_failed" || inc.Requester != "UOPS" || inc.Channel != "C1" || inc.ThreadTS == "" {
		t.Errorf("incident = %+v", inc)
	}
	root := rootMessage(t, b.slack, "C1")
	if root.TS != inc.ThreadTS {
		t.Errorf("root ts %s, incident thread %s", root.TS, inc.ThreadTS)
	}
	for _, want := range []string{`"header"`, "auth_failed", "95%", "AUTHENTICATION_FAILED", "Compare the PSK", `"rerun"`, `"capture_longer"`, `"resolve"`} {
		if !strings.Contains(root.Blocks, want) {
			t.Errorf("verdict blocks lack %q: %s", want, root.Blocks)
		}
	}
	if root.Updates < 2 {
		t.Errorf("root message updated %d times; want progress updates and the verdict", root.Updates)
	}
	var thread int
	for _, m := range b.slack.Messages() {
		if m.ThreadTS == root.TS {
			thread++
		}
	}
	if thread < 2 {
		t.Errorf("%d step details in the thread, want 2", thread)
	}
	pcap, _ := os.ReadFile("testdata/psk_mismatch.pcap")
	names := map[string]bool{}
	for _, u := range b.slack.Uploads() {
		names[u.Filename] = true
		if !u.Completed || u.Channel != "C1" || u.ThreadTS != root.TS {
			t.Errorf("upload %s: completed %v channel %s thread %s; want into the verdict's thread %s", u.Filename, u.Completed, u.Channel, u.ThreadTS, root.TS)
		}
		if u.Filename == "capture.pcap" && !bytes.Equal(u.Data, pcap) {
			t.Errorf("capture.pcap uploaded %d bytes, want the %d-byte capture", len(u.Data), len(pcap))
		}
		if u.Filename == "capture.pcap" && !strings.Contains(u.Comment, "Open capture.pcap with Wireshark, or `tshark -r capture.pcap -Y isakmp`") {
			t.Errorf("capture.pcap uploaded with comment %q, want how to open it", u.Comment)
		}
	}
	for _, n := range []string{"capture.pcap", "report.md", "INC-1-outputs.zip"} {
		if !names[n] {
			t.Errorf("%s not uploaded (got %v)", n, names)
		}
	}
	for _, u := range b.slack.Uploads() {
		if u.Filename != "INC-1-outputs.zip" {
			continue
		}
		zr, err := zip.NewReader(bytes.NewReader(u.Data), int64(len(u.Data)))
		if err != nil || len(zr.File) != 1 || zr.File[0].Name != "show/ipsec.txt" {
			t.Errorf("outputs zip: %v %+v", err, zr)
		}
	}
	db := reopen(t, b)
	recs, _ := db.AuditLog(time.Time{}, time.Now().Add(time.Hour))
	if len(recs) != 1 || recs[0].User != "UOPS" || recs[0].Command != "/ipsec diagnose" || !strings.HasPrefix(recs[0].Outcome, "ok") {
		t.Errorf("audit = %+v", recs)
	}
	if timeline, _ := db.Timeline("INC-1"); len(timeline) == 0 || timeline[0].Actor != "UOPS" {
		t.Errorf("timeline = %+v", timeline)
	}
}

// Ensure a second diagnose of an edge being diagnosed joins the running incident.
func TestDiagnose_SecondRequestJoins(t *testing.T) {
	checkLeaks(t)
	gate := make(chan struct{})
	b := newTestBot(t, t.TempDir(), &fakeEngine{cause: "auth_failed", gate: gate}, nil)
	b.command("UOPS", "C1", "diagnose edge-01")
	second := b.command("UOPS", "C1", "diagnose edge-01")
	if !strings.Contains(second.Text, "already being diagnosed as INC-1") {
		t.Errorf("second ack = %q", second.Text)
	}
	close(gate)
	waitIncident(t, b, "INC-1", isFinal)
	if incs, _ := b.db.Incidents(storeAll); len(incs) != 1 {
		t.Errorf("%d incidents, want 1", len(incs))
	}
}

// Ensure a 429 with Retry-After is waited out and the same message is sent again.
func TestDiagnose_RateLimitedPostRetried(t *testing.T) {
	checkLeaks(t)
	fake := slacktestx.New(t)
	fake.Fail("chat.postMessage", slacktestx.Fault{Status: 429, RetryAfter: 1})
	b := newTestBot(t, t.TempDir(), &fakeEngine{cause: "auth_failed"}, fake)
	b.command("UOPS", "C1", "diagnose edge-01")
	waitIncident(t, b, "INC-1", isFinal)
	calls := fake.Calls("chat.postMessage")
	if len(calls) < 2 {
		t.Fatalf("%d chat.postMessage calls", len(calls))
	}
	first, retry := calls[0], calls[1]
	if first.Form.Get("text") != retry.Form.Get("text") || first.Form.Get("channel") != retry.Form.Get("channel") || first.Form.Get("blocks") != retry.Form.Get("blocks") {
		t.Errorf("retry differs: %v vs %v", first.Form, retry.Form)
	}
	if gap := retry.Time.Sub(first.Time); gap < time.Second {
		t.Errorf("retried after %v; Retry-After asked for 1s", gap)
	}
	if inc, _ := b.db.Incident("INC-1"); inc.ThreadTS == "" {
		t.Errorf("the retried post did not become the incident's thread: %+v", inc)
	}
}

// Ensure a bot that is not in the channel answers through the command's response_url and
// still completes the incident record.
func TestDiagnose_NotInChannelUsesResponseURL(t *testing.T) {
	checkLeaks(t)
	fake := slacktestx.New(t)
	fake.Fail("chat.postMessage", slacktestx.Fault{Error: "not_in_channel"})
	b := newTestBot(t, t.TempDir(), &fakeEngine{cause: "auth_failed"}, fake)
	b.command("UOPS", "C9", "diagnose edge-01")
	inc := waitIncident(t, b, "INC-1", isFinal)
	waitFor(t, "verdict via response_url", func() bool {
		for _, m := range fake.ResponseMessages() {
			if m.ResponseType == "in_channel" && strings.Contains(m.Text, "auth_failed") {
				return true
			}
		}
		return false
	})
	if inc.Cause != "auth_failed" {
		t.Errorf("incident = %+v", inc)
	}
	if n := len(fake.Calls("chat.postMessage")); n != 1 {
		t.Errorf("%d channel posts; not_in_channel is not retried", n)
	}
	if tl, _ := b.db.Timeline("INC-1"); !strings.Contains(tl[len(tl)-1].Text+tl[1].Text, "not_in_channel") {
		t.Errorf("timeline does not say why the channel post failed: %+v", tl)
	}
}

// Ensure an incident running when the bot stops is marked interrupted at the next start,
// with a note in its thread.
func TestStart_MarksInterruptedIncidents(t *testing.T) {
	checkLeaks(t)
	dir := t.TempDir()
	fake := slacktestx.New(t)
	b := newTestBot(t, dir, &fakeEngine{cause: "auth_failed", gate: make(chan struct{})}, fake)
	b.command("UOPS", "C1", "diagnose edge-02")
	running := waitIncident(t, b, "INC-1", func(i store.Incident) bool { return i.ThreadTS != "" })
	b.stop()

	b2 := newTestBot(t, dir, &fakeEngine{cause: "auth_failed"}, fake)
	inc, err := b2.db.Incident("INC-1")
	if err != nil || inc.Status != store.StatusInterrupted {
		t.Fatalf("after restart: %+v, %v", inc, err)
	}
	waitFor(t, "interruption note", func() bool {
		for _, m := range fake.Messages() {
			if m.ThreadTS == running.ThreadTS && strings.Contains(m.Text, "interrupted") {
				return true
			}
		}
		return false
	})
	if incs, _ := b2.db.Incidents(store.IncidentFilter{Statuses: []store.Status{store.StatusDiagnosing}}); len(incs) != 0 {
		t.Errorf("still diagnosing: %+v", incs)
	}
}

// Ensure a message that cannot be updated, however often it is retried, does not lose the
// verdict: it is posted in the thread instead, and the incident record is complete.
func TestDiagnose_UpdateFailingForGood(t *testing.T) {
	checkLeaks(t)
	fake := slacktestx.New(t)
	var faults []slacktestx.Fault
	for range 50 {
		faults = append(faults, slacktestx.Fault{Status: 500})
	}
	fake.Fail("chat.update", faults...)
	b := newTestBot(t, t.TempDir(), &fakeEngine{cause: "auth_failed"}, fake)
	b.command("UOPS", "C1", "diagnose edge-01")
	inc := waitIncident(t, b, "INC-1", isFinal)
	b.waitIdle()
	var verdictInThread bool
	for _, m := range fake.Messages() {
		if m.ThreadTS == inc.ThreadTS && strings.Contains(m.Blocks, `"header"`) && strings.Contains(m.Blocks, "auth_failed") {
			verdictInThread = true
		}
	}
	if !verdictInThread {
		t.Errorf("verdict not posted in the thread after chat.update failed: %+v", fake.Messages())
	}
	if n := len(fake.Calls("chat.update")); n < 3 {
		t.Errorf("chat.update tried %d times; want retries", n)
	}
	if len(fake.Uploads()) != 3 {
		t.Errorf("uploads = %d", len(fake.Uploads()))
	}
}

// Ensure a run the engine cannot carry out ends with one operator sentence in the channel
// (what failed, what to check; no internal detail) and an open incident that keeps the detail.
func TestDiagnose_EngineFailure(t *testing.T) {
	checkLeaks(t)
	hk := &edge.HostKeyError{Host: "192.0.2.1:22", Fingerprint: "SHA256:presented", Changed: true}
	err := fault.At(fault.Device{Role: fault.RoleEdge, Name: "edge-01"}, fmt.Errorf("edge-01: %w", hk))
	b := newTestBot(t, t.TempDir(), &fakeEngine{err: err}, nil)
	b.command("UOPS", "C1", "diagnose edge-01")
	inc := waitIncident(t, b, "INC-1", func(i store.Incident) bool { return i.Status == store.StatusOpen })
	b.waitIdle()
	if !strings.Contains(inc.Summary, "SHA256:presented") {
		t.Errorf("incident summary %q lacks the detail", inc.Summary)
	}
	root := rootMessage(t, b.slack, "C1")
	if !strings.Contains(root.Text, "the diagnosis failed") || !strings.Contains(root.Text, "known_hosts entry for edge-01") ||
		strings.Contains(root.Text, "SHA256:presented") {
		t.Errorf("channel message: %q", root.Text)
	}
}

func TestTailLines_KeepsNewest(t *testing.T) {
	var lines []string
	for i := range 200 {
		lines = append(lines, fmt.Sprintf("step %03d done", i))
	}
	got := tailLines(strings.Join(lines, "\n"), 100)
	if utf8.RuneCountInString(got) > 100 || !strings.HasSuffix(got, "step 199 done") || !strings.HasPrefix(got, "…\n") {
		t.Errorf("tailLines = %q", got)
	}
	if short := "a\nb"; tailLines(short, 100) != short {
		t.Error("short text changed")
	}
}
