package lab

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"ipsecbot/diag"
	"ipsecbot/diag/ike"
)

// Ensure every scenario's content loads and is consistent: a non-empty syslog-form edge log,
// a capture that parses with only the lab's WAN addresses, SA state that matches the label.
func TestLoadContent_EveryScenario(t *testing.T) {
	for _, sc := range AllScenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			c, err := loadContent(sc, "edge-01-0")
			if err != nil {
				t.Fatal(err)
			}
			if c.edgeLog == "" || c.peerLog == "" {
				t.Fatal("empty log")
			}
			first, _, _ := strings.Cut(c.edgeLog, "\n")
			if !syslogLine.MatchString(first) {
				t.Errorf("edge log line not in syslog form: %q", first)
			}
			for _, s := range []string{c.edgeLog, c.peerLog, c.edgeSAs, c.peerSAs, listConns(c.peer)} {
				if strings.Contains(s, "192.0.2.1 ") || strings.Contains(s, "192.0.2.2 ") || strings.Contains(s, "192.0.2.2[") {
					t.Fatalf("fixture address left in content: %.200q", s)
				}
			}
			packets, ike, addrs := readCapture(t, c.capture)
			if sc.Synthesized() {
				if packets != 0 {
					t.Errorf("synthesized capture has %d packets", packets)
				}
			} else if ike == 0 {
				t.Errorf("capture holds no IKE (of %d packets)", packets)
			}
			for a := range addrs {
				if a != EdgeUplinkIP && a != PeerIP && !netip.MustParsePrefix("10.0.0.0/8").Contains(a) {
					t.Errorf("capture has address %v", a)
				}
			}
			up := c.channelUp && c.tunnelUp
			switch sc.Label {
			case diag.CauseHealthy, diag.CauseESPBlocked, diag.CauseMTUFragmentation:
				if !up {
					t.Errorf("%s: tunnel down", sc.Label)
				}
			case diag.CauseDPDPeerDead:
				if sc.Name == "dpd_peer_dead" && up {
					t.Error("dead peer but tunnel up")
				}
			default:
				if up {
					t.Errorf("%s: tunnel up", sc.Label)
				}
			}
			if c.failure != "" && !documented(c.failure) {
				t.Errorf("undocumented failure message %q", c.failure)
			}
		})
	}
}

// Ensure the statistics' failure messages are exactly the procedure's, and only where its
// table has a row for the cause.
func TestFailureMessage_OnlyDocumentedRows(t *testing.T) {
	want := map[string]string{
		"auth_failed":               msgV2AuthFailed,
		"ikev1-auth_failed":         msgV1AuthFailed,
		"peer_unreachable":          msgV2Unreachable,
		"ikev1-peer_unreachable":    msgV1Unreachable,
		"ike_proposal_mismatch":     msgV2NoProposal,
		"ipsec_proposal_mismatch":   msgIPsecProposals,
		"traffic_selector_mismatch": msgV2TrafficSelect,
		"invalid_id":                "",
		"no_trusted_ca":             "",
		"dpd_peer_dead":             "",
		"pfs_mismatch":              "",
		"unknown":                   "",
		"healthy":                   "",
	}
	for name, msg := range want {
		sc, ok := LookupScenario(name)
		if !ok {
			t.Fatalf("no scenario %s", name)
		}
		c, err := loadContent(sc, "edge-01-0")
		if err != nil {
			t.Fatal(err)
		}
		if c.failure != msg {
			t.Errorf("%s: failure %q, want %q", name, c.failure, msg)
		}
	}
}

func documented(m string) bool {
	for _, d := range []string{msgV1Unreachable, msgV1NoProposal, msgV1AuthFailed, msgV2Unreachable,
		msgV2NoProposal, msgV2AuthFailed, msgIPsecProposals, msgV2TrafficSelect} {
		if m == d {
			return true
		}
	}
	return false
}

// Ensure list-conns rendered from edgeA's swanctl.conf is what strongSwan itself printed.
func TestListConns_MatchesStrongSwan(t *testing.T) {
	for _, sc := range AllScenarios() {
		if sc.Synthesized() {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			raw, err := fixtures.ReadFile("testdata/fixtures/" + sc.Fixture + "/swanctl-list-sas.txt")
			if err != nil {
				t.Fatal(err)
			}
			want := strings.TrimSpace(section(rewriteText(string(raw)), "### swanctl --list-conns (edgeA)"))
			c, err := loadContent(sc, "edge-01-0")
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(listConns(c.edge)); got != want {
				t.Errorf("rendered:\n%s\nstrongSwan printed:\n%s", got, want)
			}
		})
	}
}

func section(file, header string) string {
	_, rest, _ := strings.Cut(file, header+"\n")
	body, _, _ := strings.Cut(rest, "\n###")
	return body
}

// Ensure the mirrored list-sas of the peer is what peerB printed where the fixture has both.
func TestMirrorListSAs_MatchesPeerB(t *testing.T) {
	for _, fx := range []string{"ikev2-esp_blocked", "ikev1-esp_blocked"} {
		t.Run(fx, func(t *testing.T) {
			raw, err := fixtures.ReadFile("testdata/fixtures/" + fx + "/swanctl-list-sas.txt")
			if err != nil {
				t.Fatal(err)
			}
			edge, peer := sasSection(string(raw), "edgeA"), sasSection(string(raw), "peerB")
			got := mirrorListSAs(edge)
			// Timers differ between the two daemons; compare what mirroring decides.
			norm := func(s string) string {
				var keep []string
				for l := range strings.Lines(s) {
					t := strings.TrimSpace(l)
					if strings.HasPrefix(t, "established") || strings.HasPrefix(t, "installed") {
						continue
					}
					if strings.HasPrefix(t, "in ") || strings.HasPrefix(t, "out ") {
						f := strings.Fields(t)
						t = f[0] + " " + f[1]
					}
					keep = append(keep, strings.Join(strings.Fields(t), " "))
				}
				return strings.Join(keep, "\n")
			}
			if norm(got) != norm(peer) {
				t.Errorf("mirrored:\n%s\npeerB printed:\n%s", norm(got), norm(peer))
			}
		})
	}
}

func TestParseSwanctlConf_Errors(t *testing.T) {
	for name, text := range map[string]string{
		"unbalanced": "connections {\n}\n}\n",
		"unclosed":   "connections {\n s2s {\n",
		"noconn":     "secrets {\n}\n",
		"garbage":    "connections {\n what\n}\n",
	} {
		if _, err := parseSwanctlConf(text); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func readCapture(t *testing.T, pcap []byte) (packets, ikePackets int, addrs map[netip.Addr]bool) {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(pcap))
	if err != nil {
		t.Fatal(err)
	}
	addrs = map[netip.Addr]bool{}
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		packets++
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			if ip.Flags&layers.IPv4MoreFragments == 0 && ip.FragOffset == 0 {
				if ike.Checksum(ip.Contents) != 0 {
					t.Fatalf("packet %d: bad IPv4 checksum", packets)
				}
			}
			a, _ := netip.AddrFromSlice(ip.SrcIP)
			b, _ := netip.AddrFromSlice(ip.DstIP)
			addrs[a], addrs[b] = true, true
		}
		if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && (u.SrcPort == 500 || u.DstPort == 500 ||
			(u.SrcPort == 4500 || u.DstPort == 4500) && len(u.Payload) >= 4 && bytes.Equal(u.Payload[:4], []byte{0, 0, 0, 0})) {
			ikePackets++
		}
	}
}

func TestRewriteText(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":                            "198.51.100.1",
		"192.0.2.1[500] to 192.0.2.2[500].":    "198.51.100.1[500] to 203.0.113.2[500].",
		"'192.0.2.2' @ 192.0.2.2[4500]":        "'203.0.113.2' @ 203.0.113.2[4500]",
		"192.0.2.10 192.0.2.1.5 x192.0.2.1":    "192.0.2.10 192.0.2.1.5 x192.0.2.1",
		"192.0.2.1...192.0.2.2":                "198.51.100.1...203.0.113.2",
		"id 192.0.2.1.":                        "id 198.51.100.1.",
		"10.1.1.0/24 === 10.2.2.0/24, 04:18:3": "10.1.1.0/24 === 10.2.2.0/24, 04:18:3",
	} {
		if got := rewriteText(in); got != want {
			t.Errorf("rewriteText(%q) = %q, want %q", in, got, want)
		}
	}
}

// Ensure the rewritten capture tells the analyzer the same story as the fixture's own, on
// the lab's addresses.
func TestCapture_AnalyzesLikeTheFixture(t *testing.T) {
	for _, sc := range AllScenarios() {
		if sc.Synthesized() {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			raw, err := fixtures.ReadFile("testdata/fixtures/" + sc.Fixture + "/capture.pcap")
			if err != nil {
				t.Fatal(err)
			}
			c, err := loadContent(sc, "edge-01-0")
			if err != nil {
				t.Fatal(err)
			}
			want, err := ike.Analyze(bytes.NewReader(raw), "fixture.pcap")
			if err != nil {
				t.Fatal(err)
			}
			got, err := ike.Analyze(bytes.NewReader(c.capture), "capture.pcap")
			if err != nil {
				t.Fatal(err)
			}
			if got.Packets != want.Packets || got.IKEMessages != want.IKEMessages || got.ESPPackets != want.ESPPackets ||
				len(got.Exchanges) != len(want.Exchanges) || len(got.Notifies) != len(want.Notifies) {
				t.Errorf("rewritten: %d packets, %d IKE, %d ESP, %d exchanges, %d notifies; fixture: %d, %d, %d, %d, %d",
					got.Packets, got.IKEMessages, got.ESPPackets, len(got.Exchanges), len(got.Notifies),
					want.Packets, want.IKEMessages, want.ESPPackets, len(want.Exchanges), len(want.Notifies))
			}
			for _, x := range got.Exchanges {
				if !strings.HasPrefix(x.Initiator, EdgeUplinkIP.String()+":") && !strings.HasPrefix(x.Initiator, PeerIP.String()+":") {
					t.Errorf("exchange initiated by %s", x.Initiator)
				}
			}
		})
	}
}

// Ensure the ESP counters and SPIs of the edge's installed SA reach the statistics and the
// policies: in esp_blocked ESP leaves (5 packets out) and nothing comes back.
func TestStatistics_ESPCounters(t *testing.T) {
	sc, _ := LookupScenario("esp_blocked")
	c, err := loadContent(sc, "edge-01-0")
	if err != nil {
		t.Fatal(err)
	}
	tun := c.statistics(time.Unix(0, 0)).Sites[0].Tunnels[0]
	if tun.PacketsOut != 5 || tun.PacketsIn != 0 || tun.LocalSPI != "b1fd9098" || tun.PeerSPI != "6aed5b9e" ||
		tun.EncryptionAlgorithm != "aes-cbc" || tun.AuthenticationAlgorithm != "hmac-sha256" {
		t.Errorf("tunnel stats = %+v", tun)
	}
	for _, p := range c.policies() {
		if p.Dir != "fwd" && p.Templates[0].SPI == 0 {
			t.Errorf("policy %s without the SA's SPI", p.Dir)
		}
	}
}
