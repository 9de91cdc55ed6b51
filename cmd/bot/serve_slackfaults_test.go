package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"ipsecbot/handlers/slacktestx"
)

// Ensure a diagnosis through `bot serve` gets its verdict and its capture to Slack although
// Slack answers 429 with Retry-After, then 5xx, to the calls that carry them: the bot waits as
// asked, retries, records the incident with its cause, and exits cleanly with the store sound.
func TestServe_SlackRateLimitAndServerErrorsDuringDiagnosis(t *testing.T) {
	f := startFlowLab(t, builtBot(t))
	fake := f.fake
	fake.Fail("chat.postMessage", slacktestx.Fault{Status: 429, RetryAfter: 1}, slacktestx.Fault{Status: 500})
	fake.Fail("chat.update", slacktestx.Fault{Status: 503}, slacktestx.Fault{Status: 429, RetryAfter: 1})
	fake.Fail("files.getUploadURLExternal", slacktestx.Fault{Status: 429, RetryAfter: 1})
	fake.Fail("files.completeUploadExternal", slacktestx.Fault{Status: 502})
	b := f.serve(t)
	if ack := b.command(t, f, "UOPS", "C1", "diagnose edge-01"); !strings.Contains(ack, "Diagnosing edge-01 as INC-1") {
		t.Fatalf("diagnose: %s", ack)
	}
	waitUntil(t, 120*time.Second, "the verdict and the capture upload", func() bool {
		verdict := slices.ContainsFunc(fake.Messages(), func(m slacktestx.Message) bool {
			return m.Channel == "C1" && m.ThreadTS == "" && strings.Contains(m.Blocks, `"header"`)
		})
		return verdict && slices.ContainsFunc(fake.Uploads(), func(u slacktestx.Upload) bool { return u.Filename == "capture.pcap" && u.Completed })
	})
	waitUntil(t, 120*time.Second, "the diagnosis to end", func() bool { return f.incident(t).Incident.Cause == "auth_failed" })

	// Every faulted method was called again after its faults, and after a 429 not before
	// its Retry-After.
	for _, method := range []string{"chat.postMessage", "chat.update", "files.getUploadURLExternal", "files.completeUploadExternal"} {
		calls := fake.Calls(method)
		if len(calls) < 2 {
			t.Errorf("%s called %d times: not retried", method, len(calls))
		}
	}
	first := fake.Calls("chat.postMessage")
	if len(first) >= 2 && first[1].Time.Sub(first[0].Time) < time.Second {
		t.Errorf("chat.postMessage retried %v after a 429 with Retry-After: 1", first[1].Time.Sub(first[0].Time))
	}
	if s := b.stderr.String(); strings.Contains(s, "panic") || strings.Contains(s, "fatal error") {
		t.Errorf("bot serve's log:\n%s", s)
	}
	b.stop(t)
	if out, err := exec.Command(f.bin, "store", "check", "--config", f.cfgPath).CombinedOutput(); err != nil {
		t.Errorf("bot store check: %v\n%s", err, out)
	}
}
