package edge_test

import (
	"reflect"
	"testing"

	"ipsecbot/diag/edge"
)

func TestSessionRunsShowCommands(t *testing.T) {
	_, target := startEdge(t, nil)
	s, err := edge.Dial(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
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
