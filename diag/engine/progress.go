package engine

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"ipsecbot/diag"
)

// Progress prints a run's events on a terminal: one line per step as it finishes
// ("[3/11] Step 2: ... ok (0.4s) summary") and, on a TTY, a spinner line naming the steps
// still running, redrawn in place.
type Progress struct {
	w   io.Writer
	tty bool

	mu      sync.Mutex
	running map[int]runningStep
	window  string // the capture window's countdown, while it is open
	frame   int
	drawn   bool
	stop    chan struct{}
	stopped sync.WaitGroup
	closed  bool
}

type runningStep struct {
	name  string
	since time.Time
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// NewProgress returns a printer writing to w; tty turns the spinner on (the caller decides,
// e.g. with golang.org/x/term.IsTerminal on stderr). Close stops the spinner.
func NewProgress(w io.Writer, tty bool) *Progress {
	p := &Progress{w: w, tty: tty, running: map[int]runningStep{}, stop: make(chan struct{})}
	if tty {
		p.stopped.Go(p.spin)
	}
	return p
}

// Listener returns the diag.Listener that feeds the printer.
func (p *Progress) Listener() diag.Listener { return p.Event }

// Event prints one event.
func (p *Progress) Event(ev diag.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	switch ev.Kind {
	case diag.EventStarted:
		fmt.Fprintf(p.w, "%s\n", ev.Summary)
	case diag.EventStepStarted:
		p.running[ev.Index] = runningStep{name: ev.Step, since: ev.Time}
	case diag.EventStepFinished, diag.EventStepFailed:
		delete(p.running, ev.Index)
		fmt.Fprintln(p.w, StepLine(ev))
	case diag.EventWindow:
		p.window = ev.Summary
		if !p.tty { // a line every tick; on a TTY the spinner line carries it
			fmt.Fprintln(p.w, ev.Summary)
		}
	case diag.EventFinished:
		p.running = map[int]runningStep{}
		p.window = ""
	}
	p.draw()
}

// StepLine is the one-line form of a finished step's event.
func StepLine(ev diag.Event) string {
	status, dur := diag.StepOK, ""
	if ev.Result != nil {
		status = ev.Result.Status
		dur = fmt.Sprintf(" (%.1fs)", ev.Result.DurationS)
	}
	line := fmt.Sprintf("[%d/%d] %s ... %s%s", ev.Index, ev.Total, ev.Title, status, dur)
	if ev.Summary != "" {
		line += " " + oneLine(ev.Summary, 140)
	}
	if ev.Err != "" {
		line += " error: " + oneLine(ev.Err, 200)
	}
	return line
}

// Close stops the spinner and clears its line.
func (p *Progress) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.stop)
	p.clear()
	p.mu.Unlock()
	p.stopped.Wait()
}

func (p *Progress) spin() {
	t := time.NewTicker(120 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.frame++
			p.clear()
			p.draw()
			p.mu.Unlock()
		}
	}
}

// clear erases the spinner line (TTY only; called with mu held).
func (p *Progress) clear() {
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[2K")
		p.drawn = false
	}
}

// draw writes the spinner line naming the running steps (TTY only; called with mu held).
func (p *Progress) draw() {
	if !p.tty || p.closed || len(p.running) == 0 {
		return
	}
	idx := make([]int, 0, len(p.running))
	for i := range p.running {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	var names []string
	oldest := time.Now()
	for _, i := range idx {
		s := p.running[i]
		names = append(names, s.name)
		if s.since.Before(oldest) {
			oldest = s.since
		}
	}
	line := fmt.Sprintf("%s %s (%ds)", spinner[p.frame%len(spinner)], strings.Join(names, ", "), int(time.Since(oldest).Seconds()))
	if p.window != "" {
		// The window first: the line is cut at the terminal's width, and the steps running
		// through the window are the capture's own.
		line = fmt.Sprintf("%s %s · %s (%ds)", spinner[p.frame%len(spinner)], p.window, strings.Join(names, ", "), int(time.Since(oldest).Seconds()))
	}
	fmt.Fprint(p.w, oneLine(line, 118))
	p.drawn = true
}
