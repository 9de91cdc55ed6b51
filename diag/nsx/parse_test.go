package nsx_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag/nsx"
)

func open(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseStatistics_AuthFailed(t *testing.T) {
	s, err := nsx.ParseStatistics(open(t, "statistics-ikev2-auth-failed.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Sites) != 1 || s.Sites[0].SiteID != "ipsecsite-1" || s.Sites[0].Up() {
		t.Fatalf("sites = %+v", s.Sites)
	}
	ike := s.Sites[0].IKEStatus
	if ike.ChannelIKEVersion != "IKEv2" || ike.PeerIPAddress != "203.0.113.2" || !reflect.DeepEqual(ike.LocalSubnets, []string{"10.1.1.0/24"}) {
		t.Errorf("ikeStatus = %+v", ike)
	}
	if got := s.Time(); !got.Equal(time.Unix(1795752000, 0)) {
		t.Errorf("Time = %v", got)
	}
	if len(s.IKEStatistics) != 1 || s.IKEStatistics[0].IKEOutAuthReq != 3 {
		t.Errorf("ikeStatistics = %+v", s.IKEStatistics)
	}
	want := []nsx.Message{{
		Path:   "siteStatistics[1]/tunnelStats[1]/failureMessage",
		Text:   nsx.MsgIKEv2AuthFailed,
		SiteID: "ipsecsite-1", Level: nsx.LevelTunnel, Kind: nsx.KindFailure,
	}}
	if got := s.Messages(); !reflect.DeepEqual(got, want) {
		t.Errorf("Messages = %+v\nwant %+v", got, want)
	}
}

func TestParseStatistics_HealthyTwoSites(t *testing.T) {
	s, err := nsx.ParseStatistics(open(t, "statistics-healthy-two-sites.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Sites) != 2 || !s.Sites[0].Up() || !s.Sites[1].Up() {
		t.Fatalf("sites not up: %+v", s.Sites)
	}
	if m := s.Messages(); len(m) != 0 {
		t.Errorf("healthy document has messages: %+v", m)
	}
	tun := s.Sites[0].Tunnels[0]
	if tun.PacketsIn != 1000 || tun.LocalSPI != "c1a2b3d4" || tun.EstablishedDate != "Nov 27 04:18:40 2026" {
		t.Errorf("tunnel = %+v", tun)
	}
	if s.GlobalDrops == nil || s.GlobalDrops.InNoStates != 2 || s.GlobalDrops.AcquireError != 0 {
		t.Errorf("drops = %+v", s.GlobalDrops)
	}
	if v := s.Sites[1].VTIs; len(v) != 1 || v[0].Label != "vti-1" || v[0].TxBytes != 840 {
		t.Errorf("vti = %+v", v)
	}
	if s.Site("ipsecsite-2") == nil || s.Site("nope") != nil {
		t.Error("Site lookup")
	}
}

// Ensure messages are found at every level, blanks skipped and odd counters tolerated.
func TestParseStatistics_MessagesEverywhere(t *testing.T) {
	s, err := nsx.ParseStatistics(open(t, "statistics-messages-everywhere.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range s.Messages() {
		got = append(got, m.Level+"|"+m.Kind+"|"+m.Path+"|"+m.Text)
	}
	want := []string{
		"site|failure|siteStatistics[1]/failureMessage|" + nsx.MsgIKEv1PeerUnreachable,
		"channel|failure|siteStatistics[1]/ikeStatus/failureMessage|" + nsx.MsgIKEv1PeerUnreachable,
		"tunnel|informational|siteStatistics[1]/tunnelStats[1]/lastInformationalMessage|" + nsx.MsgIPsecSAMismatch,
		"tunnel|failure|siteStatistics[1]/tunnelStats[2]/failureMessage|" + nsx.MsgTrafficSelectorMismatch,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s.Sites[0].Tunnels[0].PacketsIn != 0 {
		t.Error("N/A counter should read as 0")
	}
}

// Ensure the lab's encoding and the parser agree: the format lives in one place.
func TestStatistics_RoundTrip(t *testing.T) {
	s, err := nsx.ParseStatistics(open(t, "statistics-healthy-two-sites.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := xmlEncode(&buf, s); err != nil {
		t.Fatal(err)
	}
	first := bytes.Clone(buf.Bytes())
	back, err := nsx.ParseStatistics(&buf)
	if err != nil {
		t.Fatal(err)
	}
	// The documents, not the parsed values: a parsed document keeps its bytes for the
	// nested-message search.
	var again bytes.Buffer
	if err := xmlEncode(&again, back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, again.Bytes()) || !reflect.DeepEqual(s.Messages(), back.Messages()) {
		t.Errorf("round trip differs:\n%s\n%s", first, again.Bytes())
	}
}

func TestParseStatistics_Bad(t *testing.T) {
	tests := []struct {
		name, in string
		is       error
	}{
		{"empty", "", nsx.ErrMalformed},
		{"prolog-only", `<?xml version="1.0"?>`, nsx.ErrMalformed},
		{"truncated", `<ipsecStatusAndStats><siteStatistics><siteId>ipsec`, nsx.ErrMalformed},
		{"wrong-root", `<ipsec><enabled>true</enabled></ipsec>`, nsx.ErrMalformed},
		{"html", `<html><body>Service Unavailable</body></html>`, nsx.ErrMalformed},
		{"not-xml", "Internal Server Error\n", nsx.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := nsx.ParseStatistics(strings.NewReader(tt.in))
			if s != nil || !errors.Is(err, tt.is) {
				t.Fatalf("got %v, %v; want %v", s, err, tt.is)
			}
			if _, ok := errors.AsType[*nsx.DecodeError](err); !ok {
				t.Errorf("%T is not a *DecodeError", err)
			}
		})
	}
}

// Ensure an <error> document where a statistics one was expected comes back as the API's error.
func TestParseStatistics_ErrorDocument(t *testing.T) {
	_, err := nsx.ParseStatistics(open(t, "error-503.xml"))
	apiErr, ok := errors.AsType[*nsx.APIError](err)
	if !ok {
		t.Fatalf("err = %v (%T)", err, err)
	}
	if apiErr.Code != 10350 || apiErr.Module != "vShield Edge" || !strings.HasPrefix(apiErr.Details, "NSX Edge is unreachable") {
		t.Errorf("APIError = %+v", apiErr)
	}
}

func TestParseAPIError(t *testing.T) {
	e, err := nsx.ParseAPIError(readFile(t, "errors-list.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Code != 15012 || e.Module != "vShield Edge" || !strings.Contains(e.Details, "; The requested object : edge-99") {
		t.Errorf("got %+v", e)
	}
	if _, err := nsx.ParseAPIError([]byte("<foo/>")); !errors.Is(err, nsx.ErrMalformed) {
		t.Errorf("non-error root: %v", err)
	}
	if _, err := nsx.ParseAPIError([]byte("<errors></errors>")); !errors.Is(err, nsx.ErrMalformed) {
		t.Errorf("empty list: %v", err)
	}
}

func TestParseIPsecConfig(t *testing.T) {
	c, err := nsx.ParseIPsecConfig(open(t, "ipsec-config.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Enabled || len(c.Sites) != 2 || c.Logging == nil || c.Logging.LogLevel != "info" {
		t.Fatalf("config = %+v", c)
	}
	s := c.Site("ipsecsite-1")
	if s == nil || s.IKEOption != "ikev2" || s.DHGroup != "dh14" || !s.EnablePFS || s.EncryptionAlgorithm != "aes256" ||
		s.DigestAlgorithm != "sha-256" || !reflect.DeepEqual(s.PeerSubnets, []string{"10.2.2.0/24"}) {
		t.Errorf("site 1 = %+v", s)
	}
	if !s.PSK.Set() || s.PSK.Masked() {
		t.Errorf("site PSK should be set and in clear in this document")
	}
	if !c.Global.PSK.Masked() || c.Global.Extension != "ike_fragment_size=900" {
		t.Errorf("global = %+v", c.Global)
	}
	v := c.Site("ipsecsite-2")
	if v.TunnelInterface == nil || v.TunnelInterface.MTU != 1416 || v.PeerIP != "any" || v.AuthenticationMode != "x.509" {
		t.Errorf("site 2 = %+v", v)
	}
}

func TestParseFirewallSyslogEdgesHealthStatus(t *testing.T) {
	fw, err := nsx.ParseFirewallConfig(open(t, "firewall-config.xml"))
	if err != nil || len(fw.Rules) != 5 || fw.DefaultPolicy.Action != "deny" || *fw.Rules[2].Enabled {
		t.Fatalf("firewall = %+v, %v", fw, err)
	}
	sl, err := nsx.ParseSyslogConfig(open(t, "syslog-config.xml"))
	if err != nil || !sl.Configured() || sl.Protocol != "udp" || len(sl.ServerAddresses) != 2 {
		t.Fatalf("syslog = %+v, %v", sl, err)
	}
	if (&nsx.SyslogConfig{}).Configured() {
		t.Error("an empty syslog config is not configured")
	}
	el, err := nsx.ParseEdgeList(open(t, "edges-page.xml"))
	if err != nil || el.Page.PagingInfo.TotalCount != 2 || len(el.Page.Edges) != 2 {
		t.Fatalf("edges = %+v, %v", el, err)
	}
	e := el.Page.Edges[0]
	if e.ID != "edge-1" || e.Name != "edge-01" || e.AppliancesSummary == nil || *e.AppliancesSummary.ActiveVseHaIndex != 1 {
		t.Errorf("edge = %+v", e)
	}
	h, err := nsx.ParseHealthSummary(open(t, "healthsummary-ha.xml"))
	if err != nil || len(h.VMs) != 2 || h.VMs[1].HaState != "active" || h.VMs[1].HaIndex != 1 || len(h.ActiveAlarms) != 1 {
		t.Fatalf("health = %+v, %v", h, err)
	}
	st, err := nsx.ParseEdgeStatus(open(t, "status-ha.xml"))
	if err != nil || *st.ActiveVseHaIndex != 1 || len(st.VMs) != 2 || len(st.Features) != 2 || !st.Features[0].Configured {
		t.Fatalf("status = %+v, %v", st, err)
	}
}

func TestParsePeerConfig(t *testing.T) {
	pc, err := nsx.ParsePeerConfig(open(t, "peerconfig-route-based.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := &nsx.PeerConfig{
		SiteID: "ipsecsite-2", SiteName: "dc-vti", VPNType: "Route-based VPN", EdgeID: "edge-1",
		Phase1: nsx.PeerPhase1{InitiationMode: "initiator", IKEVersion: "ikev2", AuthMethod: "psk", AuthAlgorithm: "sha-256",
			EncryptionAlgorithm: "aes256", SALifetime: 28800 * time.Second, NegotiationMode: "main", DHGroup: "DH14"},
		Phase2:    nsx.PeerPhase2{Protocol: "ESP", SALifetime: time.Hour, EncapsulationMode: "Tunnel mode", PFS: true, PFSDHGroup: "DH14"},
		DPD:       nsx.PeerDPD{Enabled: true, Interval: 30 * time.Second, Timeout: 150 * time.Second},
		TunnelMTU: 1416,
	}
	if !reflect.DeepEqual(pc, want) {
		t.Errorf("got  %+v\nwant %+v", pc, want)
	}
}

func TestParsePeerConfig_Bad(t *testing.T) {
	tests := map[string]string{
		"empty":          "",
		"comments-only":  "# Phase 1\n# Phase 2\n",
		"no-colon":       "IKE version ikev2\n",
		"bad-lifetime":   "# Phase 1\nSA life time : forever\n",
		"bad-pfs":        "# Phase 2\nEnable perfect forward secrecy : perhaps\n",
		"bad-mtu":        "Tunnel Interface MTU : big bytes\n",
		"lifetime-units": "# Phase 1\nSA life time : 8 hours\n",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if pc, err := nsx.ParsePeerConfig(strings.NewReader(in)); err == nil {
				t.Fatalf("accepted: %+v", pc)
			}
		})
	}
}

// Ensure a PSK line of a template is kept as a Secret and unknown keys are kept.
func TestParsePeerConfig_SecretAndOther(t *testing.T) {
	pc, err := nsx.ParsePeerConfig(strings.NewReader("Pre-shared key : hunter2\nLocal ID : 198.51.100.1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if pc.PSK != "hunter2" || pc.Other["local id"] != "198.51.100.1" {
		t.Errorf("got %+v", pc)
	}
	if s := pc.PSK.String(); strings.Contains(s, "hunter2") {
		t.Error("PSK printed")
	}
}

// Ensure no message is lost when a build puts it somewhere the documented shape does not.
func TestParseStatistics_NestedAndState(t *testing.T) {
	s, err := nsx.ParseStatistics(open(t, "statistics-nested-and-state.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range s.Messages() {
		got = append(got, m.SiteID+"|"+m.Level+"|"+m.Kind+"|"+m.Path+"|"+m.Text)
	}
	want := []string{
		"ipsecsite-5|tunnel|state|siteStatistics[1]/tunnelStats[1]/tunnelState|" + nsx.MsgIKEv2NoProposalChosen,
		"ipsecsite-5|tunnel|failure|siteStatistics[1]/tunnelStats[1]/status/failureMessage|" + nsx.MsgIKEv2NoProposalChosen,
		"|site|informational|lastInformationalMessage|IPsec service restarted",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A pluto state is not a message.
	for _, m := range s.Messages() {
		if strings.Contains(m.Text, "STATE_MAIN") {
			t.Errorf("state text taken for a message: %+v", m)
		}
	}
}
