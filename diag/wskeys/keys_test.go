package wskeys

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `# keys of the tunnel edge-01 -> branch-fw
esp 192.0.2.1 192.0.2.2 0xc1a2b3c4 aes-cbc 0x00112233445566778899aabbccddeeff sha256-128 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
esp 2001:db8::2 2001:db8::1 d4e5f607 aes-gcm16 00112233445566778899aabbccddeeff01020304 null -

ike 0c9aec197505ef48 A1B2C3D4E5F60718 aes-cbc-256 0x0011 0x2233 sha256-128 0x4455 0x6677
`

// Ensure a keys file becomes Wireshark's esp_sa and ikev2_decryption_table records, in
// the field order and names Wireshark's UAT tables take.
func TestWriteFiles(t *testing.T) {
	k, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	names, err := WriteFiles(dir, k)
	if err != nil || len(names) != 2 {
		t.Fatalf("names %v, err %v", names, err)
	}
	esp, _ := os.ReadFile(filepath.Join(dir, ESPFile))
	for _, want := range []string{
		`"IPv4","192.0.2.1","192.0.2.2","0xc1a2b3c4","AES-CBC [RFC3602]","0x00112233445566778899aabbccddeeff","HMAC-SHA-256-128 [RFC4868]","0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"` + "\n",
		`"IPv6","2001:db8::2","2001:db8::1","0xd4e5f607","AES-GCM with 16 octet ICV [RFC4106]","0x00112233445566778899aabbccddeeff01020304","NULL",""` + "\n",
	} {
		if !strings.Contains(string(esp), want) {
			t.Errorf("esp_sa lacks %s\n%s", want, esp)
		}
	}
	ike, _ := os.ReadFile(filepath.Join(dir, IKEv2File))
	want := `0c9aec197505ef48,a1b2c3d4e5f60718,0011,2233,"AES-CBC-256 [RFC3602]",4455,6677,"HMAC_SHA2_256_128 [RFC4868]"` + "\n"
	if !strings.HasSuffix(string(ike), want) || !strings.HasPrefix(string(ike), "#") {
		t.Errorf("ikev2_decryption_table:\n%s\nwant a comment then %s", ike, want)
	}
}

// Ensure a bad keys file is refused with the line and what is wrong.
func TestParse_Errors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "no esp or ike entry"},
		{"ah 1 2", `line 1: entry "ah" is neither esp nor ike`},
		{"esp 192.0.2.1 192.0.2.2 0x1 aes-cbc 00", "7 fields"},
		{"esp host 192.0.2.2 0x1 aes-cbc 00 null -", `"host" is not an IP address`},
		{"esp 192.0.2.1 2001:db8::1 0x1 aes-cbc 00 null -", "not of one IP version"},
		{"esp 192.0.2.1 192.0.2.2 0x123456789 aes-cbc 00 null -", "not up to 8 hex digits"},
		{"esp 192.0.2.1 192.0.2.2 0x1 rc4 00 null -", `unknown ESP encryption "rc4"`},
		{"esp 192.0.2.1 192.0.2.2 0x1 aes-cbc 0x0 null -", "encryption key: \"0x0\" is not an even number of hex digits"},
		{"esp 192.0.2.1 192.0.2.2 0x1 aes-cbc - null -", "encryption key: a key is required"},
		{"# c\n\nike 0011 2233 aes-cbc-128 00 00 sha1-96 00 00", "line 3: IKE SPI \"0011\" is not 16 hex digits"},
		{"ike 0011223344556677 0011223344556677 aes-cbc-128 00 00 sha1-96 - 00", "SK_ai: a key is required"},
	}
	for _, tt := range tests {
		_, err := Parse(strings.NewReader(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q) = %v, want one line with %q", tt.in, err, tt.want)
		}
	}
}
