package edge_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag/edge"
	"ipsecbot/diag/nsx"
	"ipsecbot/lab/nsxsim"
)

// TestCentralRunner runs show commands through the real NSX client against the lab's Manager
// over HTTPS; the parsers read the result exactly as they read the SSH session's.
func TestCentralRunner(t *testing.T) {
	outputs := labOutputs(t)
	m, err := nsxsim.Start(t.Context(), "127.0.0.1:0", nsxsim.Config{User: "admin", Password: "mgr-pass", Edges: []nsxsim.EdgeContent{{
		ID: "edge-1", Name: "edge-01",
		CLI: func(cmd string) (string, bool) {
			rest, ok := strings.CutPrefix(cmd, "show edge edge-1 ")
			if !ok {
				return "", false
			}
			out, ok := outputs["show "+rest]
			return out, ok
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, m.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := nsx.New(nsx.Manager{Name: "lab-mgr", URL: m.URL(), User: "admin", Password: "mgr-pass", CAFile: ca, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var r edge.Runner = edge.CentralRunner{Manager: c, EdgeID: "edge-1"}
	out, err := r.Run(t.Context(), edge.CmdServiceIPsec)
	if err != nil {
		t.Fatal(err)
	}
	st, err := edge.ParseServiceIPsec(out)
	if err != nil || !reflect.DeepEqual(st, sampleStatus()) {
		t.Errorf("got %+v, %v", st, err)
	}
	if _, err := r.Run(t.Context(), "debug show files"); !errors.Is(err, edge.ErrInvalidArgument) {
		t.Errorf("a debug command through the central CLI: %v", err)
	}
	if _, err := (edge.CentralRunner{Manager: c, EdgeID: "edge-1 reboot"}).Run(t.Context(), edge.CmdServiceIPsec); !errors.Is(err, edge.ErrInvalidArgument) {
		t.Errorf("a bad edge id: %v", err)
	}
	if _, err := r.Run(t.Context(), "show nothing"); err == nil {
		t.Error("unknown command through the central CLI succeeded")
	}
}
