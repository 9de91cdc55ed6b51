package lab_test

import (
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"ipsecbot/diag/edge"
	"ipsecbot/diag/nsx"
	"ipsecbot/lab"
	"ipsecbot/lab/edgesim"
	"ipsecbot/lab/nsxsim"
	"ipsecbot/lab/peersim"
)

// Ensure the fault switches reach the project's clients: a changed Edge host key is refused,
// a shell hanging mid-output and API latency end in timeout errors, Manager 503s come back as
// API errors with the Manager's error XML, dropped connections fail.
func TestFaults(t *testing.T) {
	l, cfg := startLab(t, lab.Options{Scenario: "auth_failed", Faults: lab.Faults{
		Edge: edgesim.Faults{ChangedHostKey: true},
	}})
	t.Run("edge-host-key", func(t *testing.T) {
		_, err := edge.Dial(t.Context(), edgeTarget(t, cfg))
		if hk, ok := errors.AsType[*edge.HostKeyError](err); !ok || !hk.Changed {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("edge-hang", func(t *testing.T) {
		l.Edge().SetFaults(edgesim.Faults{HangAfterBytes: 40, HangCommand: edge.CmdServiceIPsec})
		target := edgeTarget(t, cfg)
		target.CommandTimeout = 300 * time.Millisecond
		s := dialEdge(t, target)
		_, err := s.Run(t.Context(), edge.CmdServiceIPsec)
		if te, ok := errors.AsType[*edge.TimeoutError](err); !ok || te.Command != edge.CmdServiceIPsec {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("edge-drop", func(t *testing.T) {
		l.Edge().SetFaults(edgesim.Faults{DropAfterCommands: 1})
		s := dialEdge(t, edgeTarget(t, cfg))
		s.Run(t.Context(), edge.CmdServiceIPsec)
		if _, err := s.Run(t.Context(), edge.CmdServiceIPsecSA); err == nil {
			t.Error("no error after the connection was dropped")
		}
	})
	t.Run("api-503", func(t *testing.T) {
		l.Manager().SetFaults(nsxsim.Faults{Status: http.StatusServiceUnavailable})
		_, _, err := nsxClient(t, cfg).IPsecStatistics(t.Context(), lab.EdgeID)
		if ae, ok := errors.AsType[*nsx.APIError](err); !ok || ae.Status != http.StatusServiceUnavailable || ae.Details == "" {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("api-latency", func(t *testing.T) {
		l.Manager().SetFaults(nsxsim.Faults{Latency: 2 * time.Second})
		m := cfg.Managers[0]
		pw, _ := cfg.ManagerPassword(&m)
		c, err := nsx.New(nsx.Manager{Name: m.Name, URL: m.URL, User: m.User, Password: pw,
			CAFile: cfg.Path(m.CAFile), Timeout: 200 * time.Millisecond, MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _, err = c.IPsecStatistics(t.Context(), lab.EdgeID)
		if _, ok := errors.AsType[*nsx.TimeoutError](err); !ok {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("api-drop", func(t *testing.T) {
		l.Manager().SetFaults(nsxsim.Faults{Drop: true})
		if _, _, err := nsxClient(t, cfg).IPsecStatistics(t.Context(), lab.EdgeID); err == nil {
			t.Error("no error from a dropped connection")
		}
		l.Manager().SetFaults(nsxsim.Faults{})
	})
	t.Run("peer-drop", func(t *testing.T) {
		l.Peer().SetFaults(peersim.Faults{DropConnections: true})
		c, err := net.DialTimeout("tcp", cfg.Edges[0].Peers[0].SSH.Address, time.Second)
		if err == nil {
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := c.Read(make([]byte, 1)); err == nil {
				t.Error("peer connection not dropped")
			}
			c.Close()
		}
	})
}
