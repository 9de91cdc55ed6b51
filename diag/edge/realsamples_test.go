package edge_test

import (
	"net/netip"
	"path/filepath"
	"testing"

	"ipsecbot/diag/edge"
)

// realSample reads testdata/transcripts/real/<name>.txt: text public sources quote, which
// neither the lab nor our renderers produced.
func realSample(t *testing.T, name string) string {
	t.Helper()
	tr, err := readTranscript(filepath.Join(transcriptDir, "real", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	return tr.output
}

// Ensure the parsers read the real Edge output public sources quote, value by value (the
// golden files only say that the output did not change).
func TestRealSamples(t *testing.T) {
	t.Run("show service ipsec", func(t *testing.T) {
		st, err := edge.ParseServiceIPsec(realSample(t, "azure-show-service-ipsec"))
		if err != nil {
			t.Fatal(err)
		}
		if !st.Running || !st.AESNI || st.TotalSites != 1 || st.SitesUp != 1 || st.TotalTunnels != 1 || len(st.Sites) != 1 {
			t.Fatalf("got %+v", st)
		}
		s := st.Sites[0]
		if s.Name != "10.250.0.111_0.0.0.0/0-104.40.21.81_0.0.0.0/0" || s.Channel.PeerIP != netip.MustParseAddr("104.40.21.81") ||
			s.Channel.LocalIP != netip.MustParseAddr("10.250.0.111") || s.Channel.Version != "IKEv2" || !s.Channel.Up() ||
			len(s.Tunnels) != 1 || s.Tunnels[0].PeerSubnet != netip.MustParsePrefix("0.0.0.0/0") || !s.Tunnels[0].Up() {
			t.Errorf("site %+v", s)
		}
	})
	t.Run("show interface", func(t *testing.T) {
		ifs, err := edge.ParseInterfaces(realSample(t, "sneaku-show-interface"))
		if err != nil {
			t.Fatal(err)
		}
		if len(ifs) != 2 || ifs[0].Name != "VDR" || ifs[1].Name != "vNic_0" {
			t.Fatalf("got %+v", ifs)
		}
		v := ifs[1]
		a, ok := v.IPv4()
		if !v.Up || !v.LineUp || v.Index != 3 || v.MTU != 1500 || v.HWAddr != "00:50:56:9d:74:93" || !ok || a.String() != "10.29.254.241/24" ||
			v.InPackets != 22451 || v.InBytes != 4017743 || v.InDropped != 1535 || v.OutPackets != 44431 || v.OutBytes != 7692037 {
			t.Errorf("vNic_0 %+v", v)
		}
	})
	t.Run("show ip route", func(t *testing.T) {
		rt, err := edge.ParseRoutes(realSample(t, "qe-show-ip-route"))
		if err != nil {
			t.Fatal(err)
		}
		if rt.Total != 4 || len(rt.Routes) != 4 {
			t.Fatalf("got %+v", rt)
		}
		r := rt.Routes[0]
		if r.Code != "C" || r.Prefix != netip.MustParsePrefix("10.110.60.0/22") || r.NextHop != netip.MustParseAddr("10.110.63.114") {
			t.Errorf("first route %+v", r)
		}
		if got := rt.Lookup(netip.MustParseAddr("192.168.3.77")); got == nil || got.NextHop != netip.MustParseAddr("192.168.3.1") {
			t.Errorf("lookup 192.168.3.77: %+v", got)
		}
	})
	t.Run("show ip forwarding", func(t *testing.T) {
		rt, err := edge.ParseRoutes(realSample(t, "qe-show-ip-forwarding"))
		if err != nil {
			t.Fatal(err)
		}
		if len(rt.Routes) != 2 || rt.Routes[0].Code != "R" || rt.Routes[0].Interface != "vNic_3" ||
			rt.Routes[0].NextHop != netip.MustParseAddr("10.24.31.253") || rt.Routes[1].NextHop.IsValid() {
			t.Errorf("got %+v", rt)
		}
	})
	t.Run("debug show files", func(t *testing.T) {
		fs, err := edge.ParseFiles(realSample(t, "sneaku-debug-show-files"))
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 1 || fs[0].Name != "tcpdump_vNic_0.0" || fs[0].Size != 708 {
			t.Errorf("got %+v", fs)
		}
	})
	t.Run("debug packet capture", func(t *testing.T) {
		// A started capture prints tcpdump's banner (and a harmless shell warning): no error reply.
		if e := edge.EdgeError(realSample(t, "sneaku-debug-packet-capture")); e != "" {
			t.Errorf("taken for an error reply: %q", e)
		}
	})
	// Not Edge output: real strongSwan text in the shapes assumed for `sa` and `show log`.
	t.Run("assumed sa shape", func(t *testing.T) {
		st, err := edge.ParseSA(realSample(t, "strongswan-statusall-sa"))
		if err != nil {
			t.Fatal(err)
		}
		if st.Up != 1 || len(st.IKESAs) != 1 {
			t.Fatalf("got %+v", st)
		}
		ike := st.IKESAs[0]
		if ike.Name != "local" || ike.State != "ESTABLISHED" || ike.Version != 2 || ike.InitiatorSPI != "72aeda37efa19f4e" || !ike.LocalIsInit ||
			ike.Local != netip.MustParseAddr("10.10.0.1") || ike.Remote != netip.MustParseAddr("10.10.0.10") || len(ike.Children) != 1 {
			t.Fatalf("IKE SA %+v", ike)
		}
		c := ike.Children[0]
		if c.State != "INSTALLED" || c.Mode != "TRANSPORT" || c.SPIIn != "c195202a" || c.SPIOut != "ce6e5b4a" || c.BytesIn != 177764138 || c.PacketsIn != 918088 {
			t.Errorf("child %+v", c)
		}
	})
	t.Run("assumed log shape", func(t *testing.T) {
		lines, bad := edge.ParseLogText(realSample(t, "vyos-charon-log"))
		if bad != 0 || len(lines) != 1 {
			t.Fatalf("got %+v, %d unparsed", lines, bad)
		}
		l := lines[0]
		if l.Host != "r1-roll" || l.Program != "charon" || l.Thread != 7 || l.Group != "IKE" || l.Conn != "peer-192.0.2.2-tunnel-0|1" ||
			l.Message != "initiating Main Mode IKE_SA peer-192.0.2.2-tunnel-0[1] to 192.0.2.2" || l.HasYear {
			t.Errorf("got %+v", l)
		}
	})
}
