package main

import (
	"bytes"
	"regexp"
	"strconv"
	"testing"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/lab"
)

// Ensure the terminal's progress prints, with each tick of the capture window's countdown,
// the ESP packets the lab Edge counted so far, and that figure grows over the window.
func TestDiagnose_PrintsPacketsSoFar(t *testing.T) {
	l, err := lab.Start(t.Context(), lab.Options{Scenario: "healthy", Dir: t.TempDir(), CaptureSeconds: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	req := diag.Request{Edge: lab.EdgeName, CaptureSeconds: 4, OutDir: t.TempDir(), Requester: "cli"}
	if err := diagnoseAndPrint(t.Context(), e, l.Config(), nil, req, engine.Options{WindowTick: 500 * time.Millisecond}, false, nil); err != nil {
		t.Fatalf("diagnose: %v\n%s", err, stderr.String())
	}
	line := regexp.MustCompile(`(?m)^capture window: \d+s left · ESP packets so far: (\d+) in / (\d+) out \(Edge SA counters\)$`)
	var ins []int
	for _, m := range line.FindAllStringSubmatch(stderr.String(), -1) {
		n, _ := strconv.Atoi(m[1])
		ins = append(ins, n)
	}
	if len(ins) < 2 || ins[len(ins)-1] <= ins[0] {
		t.Errorf("packets in over the window: %v; want growing over at least two lines\n%s", ins, stderr.String())
	}
}
