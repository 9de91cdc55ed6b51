package interop

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"ipsecbot/config"
	"ipsecbot/diag/nsx"
)

func TestParseProposal(t *testing.T) {
	tests := map[string][3][]string{
		"aes256-sha256-modp2048": {{"aes256"}, {"sha256"}, {"dh14"}},
		"aes128-sha1-modp1024":   {{"aes128"}, {"sha1"}, {"dh2"}},
		"AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048": {{"aes256"}, {"sha256"}, {"dh14"}},
		"AES_CBC-256/HMAC_SHA2_256_128":                             {{"aes256"}, {"sha256"}, nil},
		"aes128gcm16-prfsha256-ecp256":                              {{"aes128gcm16"}, nil, {"dh19"}},
		"3des-md5-modp1536":                                         {{"3des"}, {"md5"}, {"dh5"}},
	}
	for in, want := range tests {
		enc, dig, dh := ParseProposal(in)
		if !slices.Equal(enc, want[0]) || !slices.Equal(dig, want[1]) || !slices.Equal(dh, want[2]) {
			t.Errorf("ParseProposal(%q) = %v %v %v, want %v", in, enc, dig, dh, want)
		}
	}
}

func TestNorm(t *testing.T) {
	for in, want := range map[string]string{"AES": "aes128", "aes256": "aes256", "Triple DES": "3des", "aes-gcm": "aes128gcm16"} {
		if got := NormEncryption(in); got != want {
			t.Errorf("NormEncryption(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"sha-256": "sha256", "SHA1": "sha1", "HMAC_SHA1_96": "sha1", "sha2_384": "sha384"} {
		if got := NormDigest(in); got != want {
			t.Errorf("NormDigest(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"DH14": "dh14", "modp3072": "dh15", "14": "dh14", "MODP_1024": "dh2", "group5": "dh5"} {
		if got := NormDH(in); got != want {
			t.Errorf("NormDH(%q) = %q, want %q", in, got, want)
		}
	}
}

// The settings of the shared fixtures' gateways (config/*/swanctl.conf), written as an
// operator would declare them: edgeA stands for the Edge, peerB for the third party.
func edgeA() *Settings {
	return FromDeclared(&config.PeerSettings{IKEVersion: "ikev2", Encryption: "aes256", Digest: "sha256", DHGroup: "dh14",
		PFS: true, PFSGroup: "dh14", IKELifetime: 28800, ESPLifetime: 3600, LocalID: "192.0.2.1", PeerID: "192.0.2.2",
		LocalSubnets: []string{"10.1.1.0/24"}, PeerSubnets: []string{"10.2.2.0/24"}, AuthMode: "psk"})
}

func peerB() *Settings {
	return FromDeclared(&config.PeerSettings{IKEVersion: "IKEv2", Encryption: "AES_CBC-256", Digest: "sha-256", DHGroup: "modp2048",
		PFS: true, PFSGroup: "modp2048", IKELifetime: 28800, ESPLifetime: 3600, LocalID: "192.0.2.2", PeerID: "192.0.2.1",
		LocalSubnets: []string{"10.2.2.0/24"}, PeerSubnets: []string{"10.1.1.0/24"}, AuthMode: "pre-shared key"})
}

func TestCompare_Matching(t *testing.T) {
	if ms := Compare(edgeA(), peerB()); len(ms) != 0 {
		t.Fatalf("mismatches on matching settings: %+v", ms)
	}
}

// Each fixture's injected fault as a change of peerB's settings, and the field it must show up as.
func TestCompare_Faults(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Settings)
		field  string
		sev    string
	}{
		{"ike_proposal_mismatch", func(s *Settings) {
			s.Encryption, s.Digest, s.DHGroup = []string{"aes128"}, []string{"sha1"}, []string{"dh2"}
		}, "encryption", Breaking},
		{"esp_proposal_mismatch", func(s *Settings) { s.ESPEncrypt = []string{"aes128"} }, "esp_encryption", Breaking},
		{"pfs_mismatch", func(s *Settings) { s.PFSGroup = []string{"dh15"} }, "pfs_group", Breaking},
		{"pfs_off", func(s *Settings) { off := false; s.PFS = &off }, "pfs", Breaking},
		{"id_mismatch", func(s *Settings) { s.PeerID = "peerb.example.net"; s.LocalID = "edgea" }, "local_id", Breaking},
		{"traffic_selector_mismatch", func(s *Settings) { s.LocalSubnets = []string{"10.2.3.0/24"} }, "peer_subnets", Breaking},
		{"lifetime_mismatch", func(s *Settings) { s.ESPLifetime = 20 }, "esp_lifetime", Minor},
		{"version", func(s *Settings) { s.IKEVersion = "ikev1" }, "ike_version", Breaking},
		{"auth_mode", func(s *Settings) { s.AuthMode = "x.509" }, "auth_mode", Breaking},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := peerB()
			tt.change(p)
			ms := Compare(edgeA(), p)
			i := slices.IndexFunc(ms, func(m Mismatch) bool { return m.Field == tt.field })
			if i < 0 {
				t.Fatalf("no %s mismatch in %+v", tt.field, ms)
			}
			if ms[i].Severity != tt.sev || ms[i].Text == "" {
				t.Errorf("mismatch = %+v", ms[i])
			}
			if ev := Evidence(ms, nil); len(ev) != len(ms) || ev[0].Source != "config" {
				t.Errorf("evidence = %+v", ev)
			}
			// The table's line that the evidence cites is the field's, and says mismatch.
			text, lines := Table(edgeA(), p, ms)
			rows := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
			ref := Evidence(ms, lines)[i].Ref
			var n int
			if _, err := fmt.Sscanf(ref, TableFile+":%d", &n); err != nil || n < 1 || n > len(rows) {
				t.Fatalf("ref %q into %d rows: %v", ref, len(rows), err)
			}
			if row := rows[n-1]; !strings.HasPrefix(row, tt.field+" ") || !strings.Contains(row, "mismatch ("+tt.sev+")") {
				t.Errorf("%s cites %q", ref, row)
			}
		})
	}
}

func TestCompare_UnknownIsNotAMismatch(t *testing.T) {
	if ms := Compare(edgeA(), &Settings{Source: "nothing known"}); len(ms) != 0 {
		t.Fatalf("mismatches against unknown settings: %+v", ms)
	}
	if ms := Compare(nil, peerB()); ms != nil {
		t.Fatalf("mismatches against nil: %+v", ms)
	}
}

func TestMerge(t *testing.T) {
	s := &Settings{Source: "swanctl --list-conns", LocalID: "a"}
	s.Merge(peerB())
	if s.LocalID != "a" || s.IKEVersion != "ikev2" || s.Source != "swanctl --list-conns + config (declared)" {
		t.Errorf("merged = %+v", s)
	}
}

func FuzzParseProposal(f *testing.F) {
	for _, s := range []string{"aes256-sha256-modp2048", "AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
		"aes128gcm16-prfsha256-ecp256", "3des-md5-modp1536", "ESP:AES_GCM_16-128", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		enc, dig, dh := ParseProposal(in)
		for _, l := range [][]string{enc, dig, dh} {
			for _, v := range l {
				if v == "" {
					t.Fatalf("empty algorithm from %q", in)
				}
			}
		}
		_ = NormVersion(in) + NormAuth(in)
	})
}

// Ensure an Edge site (ipsec/config, VMware's documented example values) and its peerconfig
// map to Settings, with NSX's defaults where a field is absent.
func TestFromNSX(t *testing.T) {
	site := &nsx.IPsecSite{LocalID: "11.0.0.11", LocalIP: "11.0.0.11", PeerID: "11.0.0.1", PeerIP: "any",
		EncryptionAlgorithm: "aes256", AuthenticationMode: "psk", EnablePFS: true, DHGroup: "dh2",
		LocalSubnets: []string{"192.168.11.0/24"}, PeerSubnets: []string{"192.168.1.0/24"}, IKEOption: "ikev2"}
	s := FromNSX(site, nil)
	if s.IKEVersion != "ikev2" || !slices.Equal(s.Encryption, []string{"aes256"}) || !slices.Equal(s.Digest, []string{"sha1"}) ||
		!slices.Equal(s.DHGroup, []string{"dh2"}) || !slices.Equal(s.PFSGroup, []string{"dh2"}) || s.IKELifetime != 28800 ||
		s.ESPLifetime != 3600 || s.AuthMode != "psk" || !slices.Equal(s.ESPEncrypt, s.Encryption) {
		t.Errorf("settings = %+v", s)
	}
	pc := &nsx.PeerConfig{Phase1: nsx.PeerPhase1{IKEVersion: "ikev1", SALifetime: 28800 * time.Second, DHGroup: "DH14"},
		Phase2: nsx.PeerPhase2{SALifetime: 3600 * time.Second, PFS: true, PFSDHGroup: "DH14"}}
	s = FromNSX(site, pc)
	if s.IKEVersion != "ikev1" || !slices.Equal(s.DHGroup, []string{"dh14"}) || !slices.Equal(s.PFSGroup, []string{"dh14"}) ||
		!strings.Contains(s.Source, "peerconfig") {
		t.Errorf("with peerconfig = %+v", s)
	}
	if FromNSX(nil, pc) != nil {
		t.Error("nil site gives settings")
	}
}
