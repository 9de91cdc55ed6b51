package datapath_test

import (
	"encoding/json"
	"strings"
	"testing"

	"ipsecbot/diag/datapath"
	"ipsecbot/diag/datapath/scene"
)

// TestTable: the table shows each point's counts, the stop point and the verdict, then the
// frames that prove it.
func TestTable(t *testing.T) {
	s, _ := scene.Lookup("datapath-lost_on_wan")
	r := correlate(t, s)
	out := datapath.Table(r)
	for _, want := range []string{
		"1 VM port", "4 far side", "VM 1 -> host 2 (id 6657)", "host 2 -> VM 1 (id 11010)",
		"4/4", "0/4", "point 3", "verdict: lost_on_wan", "point-3.pcap#1 ", "point-4.pcap  point 4",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	in := captures(t, scene.Scene{})
	in.Points[1].Data = nil
	r, err := datapath.Correlate(in)
	if err != nil {
		t.Fatal(err)
	}
	if out := datapath.Table(r); !strings.Contains(out, "  -  ") {
		t.Errorf("a point not captured is not shown as -:\n%s", out)
	}
	b, err := json.Marshal(r)
	if err != nil || !strings.Contains(string(b), `"verdict":"healthy"`) || !strings.Contains(string(b), `"requests":[4,-1,4,4]`) {
		t.Fatalf("json %s, %v", b, err)
	}
}
