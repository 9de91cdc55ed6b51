package nsx_test

import (
	"testing"

	"ipsecbot/diag/nsx"
)

// Ensure a tunnel's failure and informational messages come from the most specific level that
// has one (tunnel, then IKE channel, then site), blank ones skipped.
func TestSiteStatistics_FailureAndInfo(t *testing.T) {
	s := nsx.SiteStatistics{FailureMessage: "site", LastInformationalMessage: "site info",
		IKEStatus: &nsx.IKEStatus{FailureMessage: " ", LastInformationalMessage: "ike info"},
		Tunnels:   []nsx.TunnelStats{{FailureMessage: "tunnel"}, {}}}
	for _, tc := range []struct {
		t          *nsx.TunnelStats
		fail, info string
	}{
		{&s.Tunnels[0], "tunnel", "ike info"},
		{&s.Tunnels[1], "site", "ike info"},
		{nil, "site", "ike info"},
	} {
		if f, i := s.Failure(tc.t), s.Info(tc.t); f != tc.fail || i != tc.info {
			t.Errorf("%+v: failure %q info %q, want %q %q", tc.t, f, i, tc.fail, tc.info)
		}
	}
}
