package peer

import (
	"net/netip"
	"os"
	"slices"
	"testing"
)

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The list-conns outputs are real strongSwan 5.9.8 output of the shared fixtures (edgeA's view).
func TestParseListConns(t *testing.T) {
	tests := []struct {
		file       string
		version    string
		auth       string
		localID    string
		remoteID   string
		localTS    string
		remoteTS   string
		rekey      int
		childRekey int
	}{
		{"list-conns-ikev2-healthy.txt", "IKEv2", "pre-shared key", "192.0.2.1", "192.0.2.2", "10.1.1.0/24", "10.2.2.0/24", 14400, 3600},
		{"list-conns-ikev1-healthy_cert.txt", "IKEv1", "public key", "edgeA.lab.example", "peerB.lab.example", "10.1.1.0/24", "10.2.2.0/24", 0, 3600},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			conns, err := ParseListConns(readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(conns) != 1 {
				t.Fatalf("got %d conns, want 1", len(conns))
			}
			c := conns[0]
			if c.Name != "s2s" || c.Version != tt.version || c.LocalAuth != tt.auth || c.LocalID != tt.localID ||
				c.RemoteID != tt.remoteID || c.RekeySeconds != tt.rekey {
				t.Errorf("conn = %+v", c)
			}
			if !slices.Equal(c.LocalAddrs, []string{"192.0.2.1"}) || !slices.Equal(c.RemoteAddrs, []string{"192.0.2.2"}) {
				t.Errorf("addrs = %v / %v", c.LocalAddrs, c.RemoteAddrs)
			}
			if len(c.Children) != 1 {
				t.Fatalf("children = %+v", c.Children)
			}
			ch := c.Children[0]
			if ch.Name != "s2s-net" || ch.Mode != "TUNNEL" || ch.RekeySeconds != tt.childRekey ||
				!slices.Equal(ch.LocalTS, []string{tt.localTS}) || !slices.Equal(ch.RemoteTS, []string{tt.remoteTS}) {
				t.Errorf("child = %+v", ch)
			}
			s := c.Settings()
			if s.LocalID != tt.localID || s.PeerID != tt.remoteID || !slices.Equal(s.LocalSubnets, []string{tt.localTS}) {
				t.Errorf("settings = %+v", s)
			}
		})
	}
}

func TestParseListConns_Empty(t *testing.T) {
	for _, in := range []string{"", "\n\n", "  local: 1.2.3.4\n"} {
		if _, err := ParseListConns(in); err == nil {
			t.Errorf("ParseListConns(%q): no error", in)
		}
	}
}

func TestSelectConn(t *testing.T) {
	text := readTestdata(t, "list-conns-ikev2-healthy.txt") + "\nother: IKEv1, rekeying every 100s\n  local:  192.0.2.1\n  remote: 198.51.100.9\n"
	conns, err := ParseListConns(text)
	if err != nil {
		t.Fatal(err)
	}
	c, err := SelectConn(conns, netip.MustParseAddr("198.51.100.9"))
	if err != nil || c.Name != "other" || c.RekeySeconds != 100 {
		t.Fatalf("SelectConn = %+v, %v", c, err)
	}
	if _, err := SelectConn(conns, netip.MustParseAddr("203.0.113.77")); err == nil {
		t.Error("no error for an address no connection has")
	}
}

func TestParseListSAs(t *testing.T) {
	sas, err := ParseListSAs(readTestdata(t, "list-sas-ikev2-healthy.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sas) != 1 || sas[0].State != "ESTABLISHED" || sas[0].Version != "IKEv2" ||
		sas[0].Proposal != "AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048" {
		t.Fatalf("sas = %+v", sas)
	}
	ch := sas[0].Children
	if len(ch) != 1 || ch[0].State != "INSTALLED" || ch[0].Proposal != "AES_CBC-256/HMAC_SHA2_256_128" || ch[0].InPackets != 10 || ch[0].OutPackets != 10 {
		t.Fatalf("children = %+v", ch)
	}
	sa, c := sas[0], ch[0]
	if sa.ID != 1 || sa.InitiatorSPI != "099375f221aecbec" || sa.ResponderSPI != "7172077d801d245f" || !sa.LocalIsInit ||
		sa.Local != netip.MustParseAddr("192.0.2.1") || sa.RemoteID != "192.0.2.2" || sa.Established != 3 || sa.RekeyIn != 13795 {
		t.Errorf("IKE SA details = %+v", sa)
	}
	if c.ID != 1 || c.ReqID != 1 || c.Mode != "TUNNEL" || !c.UDPEncap || c.SPIIn != "8db7054e" || c.SPIOut != "c225109e" ||
		c.InBytes != 840 || c.OutBytes != 840 || c.RekeyIn != 3513 ||
		!slices.Equal(c.LocalTS, []netip.Prefix{netip.MustParsePrefix("10.1.1.0/24")}) ||
		!slices.Equal(c.RemoteTS, []netip.Prefix{netip.MustParsePrefix("10.2.2.0/24")}) {
		t.Errorf("CHILD SA details = %+v", c)
	}
	n := Negotiated(sas, "s2s")
	if n == nil || !slices.Equal(n.Encryption, []string{"aes256"}) || !slices.Equal(n.Digest, []string{"sha256"}) ||
		!slices.Equal(n.DHGroup, []string{"dh14"}) || !slices.Equal(n.ESPEncrypt, []string{"aes256"}) || n.PFS != nil {
		t.Fatalf("negotiated = %+v", n)
	}
	if got := Summary(sas); got != "1 IKE SA (ESTABLISHED), 1 CHILD SA, 1 installed" {
		t.Errorf("Summary = %q", got)
	}
	// A traffic selector mismatch: the IKE SA is up, no CHILD_SA.
	sas, err = ParseListSAs(readTestdata(t, "list-sas-ikev2-traffic_selector_mismatch.txt"))
	if err != nil || Summary(sas) != "1 IKE SA (ESTABLISHED), 0 CHILD SA, 0 installed" {
		t.Fatalf("ts mismatch: %+v, %v", sas, err)
	}
}

func FuzzParseListConns(f *testing.F) {
	for _, name := range []string{"list-conns-ikev2-healthy.txt", "list-conns-ikev1-healthy_cert.txt", "list-conns-ikev2-traffic_selector_mismatch.txt"} {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, in string) {
		conns, err := ParseListConns(in)
		if err == nil && len(conns) == 0 {
			t.Fatal("no error and no connection")
		}
		for i := range conns {
			_ = conns[i].Settings()
		}
	})
}

func FuzzParseListSAs(f *testing.F) {
	for _, name := range []string{"list-sas-ikev2-healthy.txt", "list-sas-ikev1-healthy_cert.txt", "list-sas-ikev2-traffic_selector_mismatch.txt"} {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, in string) {
		sas, _ := ParseListSAs(in)
		_ = Negotiated(sas, "")
		_ = Summary(sas)
	})
}
