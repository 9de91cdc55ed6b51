package handlers

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Ensure the Slack progress message says when the run started, with its date and zone.
func TestProgressBlocks_StartedWithDateAndZone(t *testing.T) {
	p := &progress{incident: "INC-7", edge: "edge-01", requester: "U123", title: "Capture", index: 3, total: 11,
		started: time.Date(2026, 12, 1, 22, 10, 26, 0, time.FixedZone("CET", 3600))}
	b, err := json.Marshal(p.blocks())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "started 2026-12-01 21:10:26 UTC") {
		t.Errorf("progress blocks lack the start time:\n%s", b)
	}
}

// Ensure the Slack progress message shows the capture window's countdown while it is open.
func TestProgressBlocks_WindowCountdown(t *testing.T) {
	p := &progress{incident: "INC-7", edge: "edge-01", requester: "U123", title: "Capture", index: 7, total: 11,
		window: "capture window: 42s left"}
	b, err := json.Marshal(p.blocks())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), ":stopwatch: capture window: 42s left") {
		t.Errorf("progress blocks lack the countdown:\n%s", b)
	}
}
