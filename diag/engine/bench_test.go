package engine_test

import (
	"testing"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/lab"
	"ipsecbot/lab/edgesim"
	"ipsecbot/lab/nsxsim"
	"ipsecbot/lab/peersim"
)

// BenchmarkDiagnose_Latency runs whole diagnoses against the lab with latency injected into
// every Edge command, API call and peer command, and reports, besides the wall time less the
// capture window, what the same work would take one call after another (serial-s: calls x
// latency, per site). Both sites are collected at the same time, so wall-s stays near the
// slowest site (the Edge's single CLI session), well under the sum.
//
//	go test ./diag/engine -run '^$' -bench Diagnose_Latency -benchtime 3x
func BenchmarkDiagnose_Latency(b *testing.B) {
	for _, lat := range []time.Duration{0, 200 * time.Millisecond} {
		b.Run(lat.String(), func(b *testing.B) {
			const window = 1 // seconds
			var wall, edgeS, apiS, peerS float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				l, err := lab.Start(b.Context(), lab.Options{Scenario: "auth_failed", Dir: b.TempDir(), CaptureSeconds: window, Faults: lab.Faults{
					Edge:    edgesim.Faults{Latency: lat},
					Manager: nsxsim.Faults{Latency: lat},
					Peer:    peersim.Faults{Latency: lat},
				}})
				if err != nil {
					b.Fatal(err)
				}
				e, err := engine.New(l.Config(), nil, engine.Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				rep, err := e.Diagnose(b.Context(), diag.Request{Edge: "edge-01", CaptureSeconds: window, OutDir: b.TempDir()})
				took := time.Since(start)
				b.StopTimer()
				if err != nil || rep.Cause != diag.CauseAuthFailed {
					b.Fatalf("diagnose: %v, cause %v", err, rep)
				}
				wall += (took - window*time.Second).Seconds()
				edgeS += float64(len(l.Edge().Commands())) * lat.Seconds()
				api := 0
				for _, ep := range []string{nsxsim.EndpointIPsecConfig, nsxsim.EndpointStatistics, nsxsim.EndpointPeerConfig,
					nsxsim.EndpointFirewall, nsxsim.EndpointSyslog, nsxsim.EndpointTechSupport, nsxsim.EndpointBundle} {
					api += l.Manager().Calls(ep)
				}
				apiS += float64(api) * lat.Seconds()
				peerS += float64(len(l.Peer().Commands())) * lat.Seconds()
				e.Close()
				l.Close()
				b.StartTimer()
			}
			n := float64(b.N)
			b.ReportMetric(wall/n, "wall-less-window-s")
			b.ReportMetric(edgeS/n, "edge-serial-s")
			b.ReportMetric(apiS/n, "api-serial-s")
			b.ReportMetric(peerS/n, "peer-serial-s")
			b.ReportMetric((edgeS+apiS+peerS)/n, "sum-serial-s")
		})
	}
}
