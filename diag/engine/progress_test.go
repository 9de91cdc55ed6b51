package engine_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/engine"
)

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Ensure the TTY printer draws a spinner line naming the running steps, erases it before each
// finished step's line, and leaves no spinner behind after Close.
func TestProgress_TTY(t *testing.T) {
	var buf syncBuffer
	p := engine.NewProgress(&buf, true)
	now := time.Now()
	p.Event(diag.Event{Kind: diag.EventStepStarted, Step: "step3-capture", Title: "Step 3: capture", Index: 7, Total: 11, Time: now})
	time.Sleep(300 * time.Millisecond) // a few spinner frames
	res := &diag.StepResult{Status: diag.StepOK, DurationS: 0.3}
	p.Event(diag.Event{Kind: diag.EventStepFinished, Step: "step3-capture", Title: "Step 3: capture", Index: 7, Total: 11, Summary: "capture.pcap: 10 bytes", Result: res})
	p.Close()
	out := buf.String()
	if !strings.Contains(out, "step3-capture (0s)") {
		t.Errorf("no spinner line naming the step:\n%q", out)
	}
	if !strings.Contains(out, "\r\x1b[2K[7/11] Step 3: capture ... ok (0.3s) capture.pcap: 10 bytes\n") {
		t.Errorf("finished line not drawn over the spinner:\n%q", out)
	}
	if strings.HasSuffix(out, "(0s)") {
		t.Errorf("spinner left after Close:\n%q", out)
	}
}

func TestProgress_Plain(t *testing.T) {
	var buf syncBuffer
	p := engine.NewProgress(&buf, false)
	p.Event(diag.Event{Kind: diag.EventStepStarted, Step: "prereq-mtu", Title: "Prerequisite: MTU", Index: 4, Total: 11})
	p.Event(diag.Event{Kind: diag.EventStepFailed, Step: "prereq-mtu", Title: "Prerequisite: MTU", Index: 4, Total: 11,
		Err: "edge SSH: connection refused", Result: &diag.StepResult{Status: diag.StepFailed, DurationS: 1.25}})
	p.Close()
	if got, want := buf.String(), "[4/11] Prerequisite: MTU ... failed (1.2s) error: edge SSH: connection refused\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
