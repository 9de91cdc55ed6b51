package engine

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag"
)

// Ensure the countdown tells the seconds left, decreasing, and stops when the window closes.
func TestCountdown_TellsSecondsLeft(t *testing.T) {
	done := make(chan struct{})
	told := make(chan int, 16)
	stopped := make(chan struct{})
	go func() {
		countdown(done, time.Now().Add(time.Hour), 10*time.Millisecond, func(left int) { told <- left })
		close(stopped)
	}()
	first, second := <-told, <-told
	close(done)
	<-stopped
	if first <= 3500 || first > 3600 || second > first {
		t.Errorf("told %d then %d seconds left of an hour", first, second)
	}
	// A window about to end is not counted down.
	countdown(make(chan struct{}), time.Now(), 10*time.Millisecond, func(int) { t.Error("told past the end") })
}

// Ensure the terminal progress prints the countdown as a line when it is not a TTY.
func TestProgress_WindowCountdownLine(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, false)
	p.Event(diag.Event{Kind: diag.EventWindow, WindowLeftS: 42, Summary: "capture window: 42s left"})
	p.Close()
	if !strings.Contains(out.String(), "capture window: 42s left\n") {
		t.Errorf("progress:\n%s", out.String())
	}
}

// Ensure a window event carries the Edge's figure in its Summary, and the terminal shows it:
// a line of its own off a TTY, at the head of the spinner line on one (cut at the terminal's
// width, the running steps' names come after it).
func TestProgress_WindowFigure(t *testing.T) {
	ev := windowEvent(42, "ESP packets so far: 120 in / 118 out (Edge SA counters)")
	if ev.Summary != "capture window: 42s left · ESP packets so far: 120 in / 118 out (Edge SA counters)" || ev.WindowLeftS != 42 {
		t.Fatalf("event %+v", ev)
	}
	if plain := windowEvent(7, ""); plain.Summary != "capture window: 7s left" || plain.WindowSeen != "" {
		t.Fatalf("event without a figure %+v", plain)
	}
	var out bytes.Buffer
	p := NewProgress(&out, false)
	p.Event(ev)
	p.Close()
	if !strings.Contains(out.String(), ev.Summary+"\n") {
		t.Errorf("progress:\n%s", out.String())
	}
	var tty bytes.Buffer
	p = NewProgress(&tty, true)
	p.Event(diag.Event{Kind: diag.EventStepStarted, Index: 7, Step: "step3-capture", Time: time.Now()})
	p.Event(ev)
	p.Close()
	if !strings.Contains(tty.String(), " capture window: 42s left · ESP packets so far: 120 in / 118 out (Edge SA counters) · step3-capture (") {
		t.Errorf("spinner line:\n%q", tty.String())
	}
}
