package nsxsim_test

import (
	"context"
	"fmt"

	"ipsecbot/diag/nsx"
	"ipsecbot/lab/nsxsim"
)

// A simulated Manager serving one edge whose tunnel is down, read with the project's client.
func ExampleStart() {
	ctx := context.Background()
	m, err := nsxsim.Start(ctx, "127.0.0.1:0", nsxsim.Config{
		User: "admin", Password: "secret",
		Edges: []nsxsim.EdgeContent{{ID: "edge-1", Name: "edge-01", Statistics: &nsx.Statistics{
			Sites: []nsx.SiteStatistics{{SiteID: "ipsecsite-1",
				IKEStatus: &nsx.IKEStatus{ChannelStatus: "down"},
				Tunnels:   []nsx.TunnelStats{{TunnelStatus: "down", FailureMessage: nsx.MsgIKEv2AuthFailed}}}},
		}}},
	})
	if err != nil {
		panic(err)
	}
	defer m.Close()

	c, err := nsx.New(nsx.Manager{Name: "lab", URL: m.URL(), User: "admin", Password: "secret", CAPEM: m.CAPEM()})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	stats, _, err := c.IPsecStatistics(ctx, "edge-1")
	if err != nil {
		panic(err)
	}
	for _, msg := range stats.Messages() {
		fmt.Printf("%s: %s\n", msg.Path, msg.Text)
	}
	// Output:
	// siteStatistics[1]/tunnelStats[1]/failureMessage: Version-IKEv2 Authentication Failed.Check the configured secret or local/peer ID configuration.
}
