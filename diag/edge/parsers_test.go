package edge_test

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag/edge"
	"ipsecbot/lab/edgesim"
)

// azureSample is `show service ipsec` verbatim from MicrosoftDocs/azure-docs
// articles/vmware-cloudsimple/migration-layer2-vpn.md (docs/nsx-formats.md §1.2).
const azureSample = `-----------------------------------------------------------------------
vShield Edge IPSec Service Status:
IPSec Server is running.
AESNI is enabled.
Total Sites: 1, 1 UP, 0 Down
Total Tunnels: 1, 1 UP, 0 Down
----------------------------------
Site:  10.250.0.111_0.0.0.0/0-104.40.21.81_0.0.0.0/0
Channel: PeerIp: 104.40.21.81    LocalIP: 10.250.0.111  Version: IKEv2  Status: UP
Tunnel: PeerSubnet: 0.0.0.0/0    LocalSubnet: 0.0.0.0/0   Status: UP
----------------------------------
`

func TestParseServiceIPsecAzureSample(t *testing.T) {
	st, err := edge.ParseServiceIPsec(azureSample)
	if err != nil {
		t.Fatal(err)
	}
	want := &edge.IPsecStatus{Running: true, AESNI: true, TotalSites: 1, SitesUp: 1, TotalTunnels: 1, TunnelsUp: 1,
		Sites: []edge.Site{{
			Name:    "10.250.0.111_0.0.0.0/0-104.40.21.81_0.0.0.0/0",
			Channel: edge.Channel{PeerIP: netip.MustParseAddr("104.40.21.81"), LocalIP: netip.MustParseAddr("10.250.0.111"), Version: "IKEv2", Status: "UP"},
			Tunnels: []edge.Tunnel{{PeerSubnet: netip.MustParsePrefix("0.0.0.0/0"), LocalSubnet: netip.MustParsePrefix("0.0.0.0/0"), Status: "UP"}},
		}}}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("got %+v\nwant %+v", st, want)
	}
	// The renderer prints the real sample byte for byte: the lab speaks the documented format.
	if got := edgesim.RenderServiceIPsec(st); got != azureSample {
		t.Errorf("render differs from the real sample:\n%s", got)
	}
}

func TestParseServiceIPsecTolerates(t *testing.T) {
	raw := "\x1b[0m" + strings.ReplaceAll(azureSample, "\n", "\r\n") + "byte 512\r\x1b[K"
	raw = strings.Replace(raw, "Status: UP", "Status:   up  ", 1)
	st, err := edge.ParseServiceIPsec(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Sites) != 1 || !st.Sites[0].Channel.Up() {
		t.Errorf("got %+v", st)
	}
	notRunning := "vShield Edge IPSec Service Status:\nIPSec Server is not running.\n"
	if st, err := edge.ParseServiceIPsec(notRunning); err != nil || st.Running {
		t.Errorf("not running: %+v %v", st, err)
	}
}

func TestParseServiceIPsecErrors(t *testing.T) {
	for name, in := range map[string]string{
		"edge-error":     "% Unrecognized command\n",
		"empty":          "",
		"bad-status":     "Site:  x\nChannel: PeerIp: 1.2.3.4 LocalIP: 5.6.7.8 Version: IKEv2 Status: MAYBE\n",
		"bad-address":    "Site:  x\nChannel: PeerIp: 1.2.3 LocalIP: 5.6.7.8 Version: IKEv2 Status: UP\n",
		"tunnel-no-site": "vShield Edge IPSec Service Status:\nTunnel: PeerSubnet: 0.0.0.0/0 LocalSubnet: 0.0.0.0/0 Status: UP\n",
		"bad-totals":     "vShield Edge IPSec Service Status:\nTotal Sites: many\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := edge.ParseServiceIPsec(in); !errors.Is(err, edge.ErrFormat) {
				t.Errorf("got %v, want ErrFormat", err)
			}
		})
	}
}

// TestRoundTrip renders each typed sample as the lab Edge prints it and parses it back.
func TestRoundTrip(t *testing.T) {
	t.Run("service-ipsec", func(t *testing.T) {
		got, err := edge.ParseServiceIPsec(edgesim.RenderServiceIPsec(sampleStatus()))
		check(t, got, sampleStatus(), err)
	})
	t.Run("sa", func(t *testing.T) {
		got, err := edge.ParseSA(edgesim.RenderSA(sampleSA()))
		check(t, got, sampleSA(), err)
	})
	t.Run("sp", func(t *testing.T) {
		got, err := edge.ParseSP(edgesim.RenderSP(samplePolicies()))
		check(t, got, samplePolicies(), err)
	})
	t.Run("routes", func(t *testing.T) {
		got, err := edge.ParseRoutes(edgesim.RenderRoutes(sampleRoutes()))
		check(t, got, sampleRoutes(), err)
	})
	t.Run("interfaces", func(t *testing.T) {
		got, err := edge.ParseInterfaces(edgesim.RenderInterfaces(sampleInterfaces()))
		check(t, got, sampleInterfaces(), err)
	})
	t.Run("config", func(t *testing.T) {
		got, err := edge.ParseConfigIPsec(edgesim.RenderConfigIPsec(sampleConfig()))
		check(t, got, sampleConfig(), err)
	})
	t.Run("log", func(t *testing.T) {
		want := edge.LogLine{Time: time.Date(2026, 11, 27, 4, 18, 32, 747e6, time.UTC), HasYear: true, Host: "edge-01",
			Program: "charon", PID: 2211, Thread: 7, Group: "IKE", Conn: "s2s|1", Message: "received AUTHENTICATION_FAILED notify error"}
		got, err := edge.ParseLog(edgesim.RenderLogLine(want))
		check(t, &got, &want, err)
	})
}

func check[T any](t *testing.T, got, want T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestRenderConfigMasksPSK(t *testing.T) {
	c := sampleConfig()
	c.Sites.Sites[0].PSK = "Sup3r-Secret-PSK"
	c.Global = &edge.IPsecConfigGlobal{PSK: "Global-Secret"}
	out := edgesim.RenderConfigIPsec(c)
	if strings.Contains(out, "Sup3r") || strings.Contains(out, "Global-Secret") {
		t.Errorf("PSK shown:\n%s", out)
	}
	if c.Sites.Sites[0].PSK != "Sup3r-Secret-PSK" {
		t.Error("rendering changed the caller's value")
	}
}

// statusallSample is the SA section of strongSwan `ipsec statusall` (libreswan interop output
// quoted in docs/nsx-formats.md §7.3), the shape assumed for `show service ipsec sa`.
const statusallSample = `Status of IKE charon daemon (strongSwan 5.3.5, Linux 3.4.113-gf085705-dirty, mips):
  uptime: 19 minutes, since Nov 10 01:26:53 2016
Listening IP addresses:
  10.10.0.1
Connections:
       local:  10.10.0.1...10.10.0.10  IKEv1/2
       local:   local:  [10.10.0.1] uses pre-shared key authentication
Security Associations (1 up, 0 connecting):
       local[1]: ESTABLISHED 19 minutes ago, 10.10.0.1[10.10.0.1]...10.10.0.10[10.10.0.10]
       local[1]: IKEv2 SPIs: 72aeda37efa19f4e_i* 536070b989c23f13_r, rekeying disabled
       local[1]: IKE proposal: AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048
       local{1}:  INSTALLED, TRANSPORT, reqid 1, ESP SPIs: c195202a_i ce6e5b4a_o
       local{1}:   AES_CBC_128/HMAC_SHA1_96, 177764138 bytes_i (918088 pkts, 3s ago), 0 bytes_o, rekeying disabled
       local{1}:   10.10.0.1/32[udp] === 10.10.0.10/32[udp]
`

func TestParseSAStatusall(t *testing.T) {
	st, err := edge.ParseSA(statusallSample)
	if err != nil {
		t.Fatal(err)
	}
	if st.Up != 1 || len(st.IKESAs) != 1 {
		t.Fatalf("got %+v", st)
	}
	ike := st.IKESAs[0]
	if ike.State != "ESTABLISHED" || ike.Version != 2 || !ike.LocalIsInit || ike.Remote != netip.MustParseAddr("10.10.0.10") ||
		ike.Proposal != "AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048" || len(ike.Children) != 1 {
		t.Fatalf("IKE SA %+v", ike)
	}
	c := ike.Children[0]
	if c.SPIIn != "c195202a" || c.SPIOut != "ce6e5b4a" || c.BytesIn != 177764138 || c.PacketsIn != 918088 || c.PacketsOut != 0 ||
		c.Mode != "TRANSPORT" || len(c.LocalTS) != 1 || c.LocalTS[0] != netip.MustParsePrefix("10.10.0.1/32") {
		t.Errorf("child %+v", c)
	}
	none, err := edge.ParseSA("Security Associations (0 up, 0 connecting):\n  none\n")
	if err != nil || len(none.IKESAs) != 0 {
		t.Errorf("no SAs: %+v %v", none, err)
	}
	connecting, err := edge.ParseSA("Security Associations (0 up, 1 connecting):\n        s2s[3]: CONNECTING, 192.0.2.1[%any]...192.0.2.2[%any]\n")
	if err != nil || len(connecting.IKESAs) != 1 || connecting.IKESAs[0].State != "CONNECTING" {
		t.Errorf("connecting: %+v %v", connecting, err)
	}
}

// xfrmSample is Linux `ip xfrm policy` text, the shape assumed for `show service ipsec sp`.
const xfrmSample = "src 10.1.1.0/24 dst 10.2.2.0/24 \n\tdir out priority 375423 ptype main \n\ttmpl src 192.0.2.1 dst 192.0.2.2\n\t\tproto esp spi 0xc225109e reqid 1 mode tunnel\n" +
	"src 0.0.0.0/0 dst 0.0.0.0/0 \n\tsocket in priority 0 ptype main \n" +
	"src 10.9.9.0/24 dst 10.8.8.0/24 proto udp \n\tdir out action block priority 10 ptype main \n"

func TestParseSPXfrm(t *testing.T) {
	pols, err := edge.ParseSP(xfrmSample)
	if err != nil {
		t.Fatal(err)
	}
	if len(pols) != 3 || pols[0].Dir != "out" || pols[0].Templates[0].SPI != 0xc225109e || !pols[1].Socket ||
		pols[2].Action != "block" || pols[2].Proto != "udp" {
		t.Errorf("got %+v", pols)
	}
	if pols, err := edge.ParseSP(""); err != nil || len(pols) != 0 {
		t.Errorf("empty: %v %v", pols, err)
	}
	if _, err := edge.ParseSP("% Unrecognized command\n"); !errors.Is(err, edge.ErrFormat) {
		t.Errorf("edge error: %v", err)
	}
}

// qeRoutes are `show ip route` and `show ip forwarding` as VMware's QE docstrings show them (docs/nsx-formats.md §1.5).
const qeRoutes = `
Codes: O - OSPF derived, i - IS-IS derived, B - BGP derived,
C - connected, S - static, L1 - IS-IS level-1, L2 - IS-IS level-2,
IA - OSPF inter area, E1 - OSPF external type 1, E2 - OSPF external type 2,
N1 - OSPF NSSA external type 1, N2 - OSPF NSSA external type 2

Total number of routes: 4

C       10.110.60.0/22       [0/0]         via 10.110.63.114
C       169.0.0.0/28         [0/0]         via 169.0.0.2
S 0.0.0.0/0     [1/1]  via 10.117.83.253
B 80.80.80.0/24 [20/0] via 20.20.20.1
`

func TestParseRoutesSamples(t *testing.T) {
	rt, err := edge.ParseRoutes(qeRoutes)
	if err != nil {
		t.Fatal(err)
	}
	if rt.Total != 4 || len(rt.Routes) != 4 || rt.Routes[2].Code != "S" || rt.Routes[3].AdminDistance != 20 {
		t.Errorf("got %+v", rt)
	}
	if r := rt.Lookup(netip.MustParseAddr("10.110.61.5")); r == nil || r.Prefix.String() != "10.110.60.0/22" {
		t.Errorf("lookup: %+v", r)
	}
	fwd, err := edge.ParseRoutes("Codes: C - connected, R - remote,\n> - selected route, * - FIB route\nR>* 0.0.0.0/0 via 10.24.31.253, vNic_3\nC>* 10.24.28.0/22 is directly connected, vNic_3\n")
	if err != nil || len(fwd.Routes) != 2 || fwd.Routes[0].Interface != "vNic_3" || fwd.Routes[1].NextHop.IsValid() {
		t.Errorf("forwarding: %+v %v", fwd, err)
	}
}

// sneakuInterfaces is `show interface` from sneaku.com's ESG capture post (docs/nsx-formats.md §1.4).
const sneakuInterfaces = `Interface VDR is up, line protocol is up
  index 2 metric 1 mtu 1500 <UP,BROADCAST,RUNNING,NOARP>
  HWaddr: 12:ee:19:2e:18:f6
  inet6 fe80::10ee:19ff:fe2e:18f6/64
  proxy_arp: disabled
  Auto-duplex (Full), Auto-speed (2157Mb/s)
    input packets 0, bytes 0, dropped 0, multicast packets 0
    input errors 0, length 0, overrun 0, CRC 0, frame 0, fifo 0, missed 0
    output packets 0, bytes 0, dropped 0
    output errors 0, aborted 0, carrier 0, fifo 0, heartbeat 0, window 0
    collisions 0

Interface vNic_0 is up, line protocol is up
  index 3 metric 1 mtu 1500 <UP,BROADCAST,RUNNING,MULTICAST>
  HWaddr: 00:50:56:9d:74:93
  inet6 fe80::250:56ff:fe9d:7493/64
  inet 10.29.254.241/24
  proxy_arp: disabled
  Auto-duplex (Full), Auto-speed (2157Mb/s)
    input packets 22451, bytes 4017743, dropped 1535, multicast packets 4540
    input errors 0, length 0, overrun 0, CRC 0, frame 0, fifo 0, missed 0
    output packets 44431, bytes 7692037, dropped 0
    output errors 0, aborted 0, carrier 0, fifo 0, heartbeat 0, window 0
    collisions 0
`

func TestParseInterfacesSample(t *testing.T) {
	ifs, err := edge.ParseInterfaces(sneakuInterfaces)
	if err != nil {
		t.Fatal(err)
	}
	if len(ifs) != 2 || ifs[1].Name != "vNic_0" || ifs[1].InDropped != 1535 || ifs[1].OutBytes != 7692037 {
		t.Fatalf("got %+v", ifs)
	}
	if a, ok := ifs[1].IPv4(); !ok || a.String() != "10.29.254.241/24" {
		t.Errorf("IPv4 %v %v", a, ok)
	}
}

func TestParseConfigIPsecErrors(t *testing.T) {
	for name, in := range map[string]string{
		"no-json":   "vShield Edge IPSec Config:\n",
		"truncated": "vShield Edge IPSec Config:\n{\n \"ipsec\" : {\n  \"enabled\" : tr",
		"no-ipsec":  "vShield Edge BGP Routing Protocol Config:\n{\"bgp\": {}}\n",
	} {
		if _, err := edge.ParseConfigIPsec(in); !errors.Is(err, edge.ErrFormat) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseLogForms(t *testing.T) {
	for name, tc := range map[string]struct {
		line string
		want edge.LogLine
	}{
		"vyos-bsd": {"Jun  8 00:59:20 r1-roll charon: 07[IKE] <peer-192.0.2.2-tunnel-0|1> initiating Main Mode IKE_SA peer-192.0.2.2-tunnel-0[1] to 192.0.2.2",
			edge.LogLine{Time: time.Date(0, 6, 8, 0, 59, 20, 0, time.UTC), Host: "r1-roll", Program: "charon", Thread: 7, Group: "IKE",
				Conn: "peer-192.0.2.2-tunnel-0|1", Message: "initiating Main Mode IKE_SA peer-192.0.2.2-tunnel-0[1] to 192.0.2.2"}},
		"charon-filelog": {"2026-11-27T04:18:32.747 00[DMN] Starting IKE charon daemon (strongSwan 5.9.8, Linux 6.18.44-fc-v782, x86_64)",
			edge.LogLine{Time: time.Date(2026, 11, 27, 4, 18, 32, 747e6, time.UTC), HasYear: true, Program: "charon", Thread: 0, Group: "DMN",
				Message: "Starting IKE charon daemon (strongSwan 5.9.8, Linux 6.18.44-fc-v782, x86_64)"}},
		"kernel": {"Nov 27 04:18:40 edge-01 kernel: [ 1234.5678] vNic_0: link up",
			edge.LogLine{Time: time.Date(0, 11, 27, 4, 18, 40, 0, time.UTC), Host: "edge-01", Program: "kernel", Thread: -1, Message: "[ 1234.5678] vNic_0: link up"}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := edge.ParseLog(tc.line)
			check(t, got, tc.want, err)
		})
	}
	if _, err := edge.ParseLog("  continuation without a timestamp"); !errors.Is(err, edge.ErrFormat) {
		t.Errorf("no timestamp: %v", err)
	}
}

func TestParseFilesStoragePing(t *testing.T) {
	fs, err := edge.ParseFiles("total 1.0K\n-rw------- 1 708 Mar 16 05:45 tcpdump_vNic_0.0\n")
	if err != nil || len(fs) != 1 || fs[0] != (edge.File{Name: "tcpdump_vNic_0.0", Size: 708}) {
		t.Errorf("files: %+v %v", fs, err)
	}
	if fs, err := edge.ParseFiles("total 0\n"); err != nil || len(fs) != 0 {
		t.Errorf("no files: %+v %v", fs, err)
	}
	free, err := edge.ParseStorage("Filesystem      Size  Used Avail Use% Mounted on\n/dev/sda2       3.9G  960M  2.8G  26% /\n")
	if err != nil || free != 3006477107 {
		t.Errorf("df -h: %d %v", free, err)
	}
	sent, recv, err := edge.ParsePing("--- 10.2.2.10 ping statistics ---\n5 packets transmitted, 4 received, 20% packet loss, time 4005ms\n")
	if err != nil || sent != 5 || recv != 4 {
		t.Errorf("ping: %d %d %v", sent, recv, err)
	}
}

func TestParseStorageOutOfRange(t *testing.T) {
	if _, err := edge.ParseStorage("Filesystem Size Used Avail Use% Mounted on\n/dev/sda2 1T 1T 99999999999999999999T 1% /\n"); !errors.Is(err, edge.ErrFormat) {
		t.Errorf("huge size: %v", err)
	}
}
