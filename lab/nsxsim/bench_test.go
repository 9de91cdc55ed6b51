package nsxsim_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"ipsecbot/diag/nsx"
	"ipsecbot/lab/nsxsim"
)

// collect reads what the procedure's API step reads for one edge, one call after another or all at once.
func collect(ctx context.Context, c *nsx.Client, concurrent bool) error {
	calls := []func() error{
		func() error { _, _, err := c.IPsecStatistics(ctx, edgeID); return err },
		func() error { _, err := c.IPsecConfig(ctx, edgeID); return err },
		func() error { _, err := c.FirewallConfig(ctx, edgeID); return err },
		func() error { _, err := c.SyslogConfig(ctx, edgeID); return err },
		func() error { _, err := c.PeerConfig(ctx, edgeID, "ipsecsite-1"); return err },
		func() error { _, err := c.ActiveAppliance(ctx, edgeID); return err },
	}
	if !concurrent {
		for _, call := range calls {
			if err := call(); err != nil {
				return err
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make([]error, len(calls))
	for i, call := range calls {
		wg.Go(func() { errs[i] = call() })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkCollect measures one edge's API collection against a Manager answering each call in
// 20 ms (EndpointLatency), sequential against concurrent.
func BenchmarkCollect(b *testing.B) {
	m, err := nsxsim.Start(b.Context(), "127.0.0.1:0", nsxsim.Config{User: user, Password: password, Edges: []nsxsim.EdgeContent{authFailedEdge(b)}})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	lat := map[string]time.Duration{}
	for _, e := range []string{nsxsim.EndpointStatistics, nsxsim.EndpointIPsecConfig, nsxsim.EndpointFirewall,
		nsxsim.EndpointSyslog, nsxsim.EndpointPeerConfig, nsxsim.EndpointHealthSummary} {
		lat[e] = 20 * time.Millisecond
	}
	m.SetFaults(nsxsim.Faults{EndpointLatency: lat})
	c, err := nsx.New(nsx.Manager{Name: "lab-mgr", URL: m.URL(), User: user, Password: password, CAPEM: m.CAPEM()})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for _, mode := range []struct {
		name       string
		concurrent bool
	}{{"sequential", false}, {"concurrent", true}} {
		b.Run(mode.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := collect(b.Context(), c, mode.concurrent); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
