package handlers

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag/engine"
	"ipsecbot/lab"
)

// Ensure Slack's progress message shows, under the window's countdown, the ESP packets the lab
// Edge counted so far, growing from one update to the next (the real engine polling the lab
// Edge over SSH while it captures).
func TestFlow_ProgressShowsPacketsSoFar(t *testing.T) {
	checkLeaks(t)
	_, b := startLabBotWith(t, lab.Options{Scenario: "healthy", CaptureSeconds: 5},
		func(o *engine.Options) { o.WindowTick = 500 * time.Millisecond })
	b.command("U123", "C1", "diagnose edge-01 capture 5")
	waitIncident(t, b, "INC-1", isFinal)
	b.waitIdle()
	b.stop()

	figure := regexp.MustCompile(`:stopwatch: capture window: \d+s left · ESP packets so far: (\d+) in / (\d+) out \(Edge SA counters\)`)
	var seen []string
	for _, c := range b.slack.Calls("chat.update") {
		if m := figure.FindStringSubmatch(c.Form.Get("blocks")); m != nil {
			seen = append(seen, m[1]+"/"+m[2])
		}
	}
	if len(seen) < 2 || seen[0] == seen[len(seen)-1] {
		t.Fatalf("progress updates with the figure: %v; want it growing over at least two", seen)
	}
	if strings.Contains(rootMessage(t, b.slack, "C1").Blocks, ":stopwatch:") {
		t.Error("the verdict still shows the window's countdown")
	}
}
