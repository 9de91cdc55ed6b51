package edge_test

import (
	"reflect"
	"strings"
	"testing"

	"ipsecbot/diag/edge"
	"ipsecbot/lab/edgesim"
)

func TestSessionRunsShowCommands(t *testing.T) {
	_, target := startEdge(t, nil)
	s := dial(t, target)
	out, err := s.Run(t.Context(), edge.CmdServiceIPsec)
	if err != nil {
		t.Fatal(err)
	}
	st, err := edge.ParseServiceIPsec(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !reflect.DeepEqual(st, sampleStatus()) {
		t.Errorf("got %+v\nwant %+v\nraw:\n%q", st, sampleStatus(), out)
	}
}

// TestOneByteAtATime runs every show command against an Edge that sends one byte per packet
// through a pager of 8 rows: the output must be identical to the lab's text.
func TestOneByteAtATime(t *testing.T) {
	_, target := startEdge(t, func(c *edgesim.Config) { c.Faults.OneByteWrites = true })
	target.TermRows = 8
	s := dial(t, target)
	want := labOutputs(t)
	want[edge.CmdLog] = sampleLog
	for _, cmd := range edge.ShowCommands {
		got, err := s.Run(t.Context(), cmd)
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		if got != normalise(want[cmd]) {
			t.Errorf("%s:\ngot  %q\nwant %q", cmd, got, normalise(want[cmd]))
		}
	}
}

// normalise is what Run makes of a lab output: tabs and trailing spaces as sent, no blank lead.
func normalise(s string) string { return strings.TrimLeft(s, "\n") }
