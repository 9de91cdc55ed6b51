package engine_test

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/edge"
	"ipsecbot/diag/engine"
	"ipsecbot/lab"
	"ipsecbot/lab/edgesim"
)

// windowRun diagnoses the lab's edge with a capture window of secs and a short tick, and
// returns the report and the window's events.
func windowRun(t *testing.T, l *lab.Lab, secs int) (*diag.Report, []diag.Event) {
	t.Helper()
	e, err := engine.New(l.Config(), openStore(t), engine.Options{WindowTick: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var rec recorder
	rep, err := e.Diagnose(t.Context(), diag.Request{Edge: lab.EdgeName, CaptureSeconds: secs, OutDir: t.TempDir(), Requester: "cli"}, rec.listen)
	if err != nil {
		t.Fatalf("Diagnose: %v", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var window []diag.Event
	for _, ev := range rec.events {
		if ev.Kind == diag.EventWindow {
			window = append(window, ev)
		}
	}
	if len(window) == 0 {
		t.Fatal("no capture window event")
	}
	return rep, window
}

var seenCount = regexp.MustCompile(`^ESP packets so far: (\d+) in / (\d+) out \(Edge SA counters\)$`)

// Ensure the window's countdown carries the ESP packets the Edge counted since the window
// opened, read from the lab Edge's SA counters over SSH while the capture runs: the figure
// grows from one window event to the next, in the Summary the terminal and Slack show too.
func TestWindow_ShowsPacketsSoFar(t *testing.T) {
	checkLeaks(t)
	l := startLabWindow(t, "healthy", lab.Faults{}, 6)
	rep, window := windowRun(t, l, 6)
	var ins, outs []int
	for _, ev := range window {
		if ev.WindowSeen == "" {
			continue
		}
		m := seenCount.FindStringSubmatch(ev.WindowSeen)
		if m == nil {
			t.Fatalf("window figure %q", ev.WindowSeen)
		}
		if !strings.HasSuffix(ev.Summary, " · "+ev.WindowSeen) || !strings.HasPrefix(ev.Summary, "capture window: ") {
			t.Errorf("summary %q does not carry the figure", ev.Summary)
		}
		in, _ := strconv.Atoi(m[1])
		out, _ := strconv.Atoi(m[2])
		ins, outs = append(ins, in), append(outs, out)
	}
	if len(ins) < 2 {
		t.Fatalf("fewer than two window events with a figure: %+v", window)
	}
	if !slices.IsSorted(ins) || !slices.IsSorted(outs) || ins[len(ins)-1] <= ins[0] || outs[len(outs)-1] <= outs[0] {
		t.Errorf("the figure does not grow over the window: in %v, out %v", ins, outs)
	}
	if s := step(t, rep, "step3-capture"); s.Status != diag.StepOK {
		t.Errorf("step 3: %s %s", s.Status, s.Error)
	}
}

// Ensure a poll that hangs (the Edge starves every session after the run's own) neither
// stops the countdown nor keeps the capture from being stopped, fetched and removed when the
// window ends: the events go on to the window's last second without a figure, and the poll's
// session is gone when the run returns (checkLeaks).
func TestWindow_HangingPollDelaysNothing(t *testing.T) {
	checkLeaks(t)
	l := startLabWindow(t, "healthy", lab.Faults{Edge: edgesim.Faults{HangSessionsAfter: 1}}, 3)
	rep, window := windowRun(t, l, 3)
	for _, ev := range window {
		if ev.WindowSeen != "" {
			t.Errorf("a figure from a poll that hangs: %q", ev.WindowSeen)
		}
	}
	if last := window[len(window)-1].WindowLeftS; last > 1 {
		t.Errorf("the countdown stopped at %ds left", last)
	}
	asked := 0
	for _, c := range l.Edge().Commands() {
		if c == edge.CmdServiceIPsecSA {
			asked++
		}
	}
	if asked < 3 { // step 4 at the window's start and end, and the poll
		t.Errorf("%q asked %d times: the poll never asked", edge.CmdServiceIPsecSA, asked)
	}
	for _, name := range []string{"step3-capture", "step4-show"} {
		if s := step(t, rep, name); s.Status != diag.StepOK {
			t.Errorf("%s: %s %s", name, s.Status, s.Error)
		}
	}
	if s := step(t, rep, "step3-capture"); strings.Contains(s.Summary, "cut short") {
		t.Errorf("step 3: %s", s.Summary)
	}
	for _, c := range l.Edge().Captures() {
		if c.Running || !c.Removed {
			t.Errorf("capture left on the Edge: %+v", c)
		}
	}
}
