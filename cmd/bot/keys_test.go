package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Ensure `bot analyze --keys` writes Wireshark's tables beside the capture, and a keys file
// that does not parse is refused with its line before anything is read.
func TestAnalyze_KeysWriteWiresharkTables(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(fixtures, "ikev2-psk_mismatch", "capture.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	capture := filepath.Join(dir, "capture.pcap")
	keys := filepath.Join(t.TempDir(), "keys.txt")
	if err := os.WriteFile(capture, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keys, []byte("esp 192.0.2.1 192.0.2.2 0xc1a2b3c4 aes-cbc 0x0011 sha1-96 0x2233\n"+
		"ike 0c9aec197505ef48 a1b2c3d4e5f60718 aes-cbc-128 0011 2233 sha1-96 4455 6677\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runBot(t, "analyze", "--pcap", capture, "--keys", keys)
	if code != 0 || !strings.Contains(stderr, "wrote esp_sa and ikev2_decryption_table in "+dir) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	esp, _ := os.ReadFile(filepath.Join(dir, "esp_sa"))
	if !strings.Contains(string(esp), `"IPv4","192.0.2.1","192.0.2.2","0xc1a2b3c4","AES-CBC [RFC3602]","0x0011","HMAC-SHA-1-96 [RFC2404]","0x2233"`) {
		t.Errorf("esp_sa:\n%s", esp)
	}
	ike, _ := os.ReadFile(filepath.Join(dir, "ikev2_decryption_table"))
	if !strings.Contains(string(ike), `0c9aec197505ef48,a1b2c3d4e5f60718,0011,2233,"AES-CBC-128 [RFC3602]",4455,6677,"HMAC_SHA1_96 [RFC2404]"`) {
		t.Errorf("ikev2_decryption_table:\n%s", ike)
	}

	if err := os.WriteFile(keys, []byte("# ok\nesp 192.0.2.1 192.0.2.2 0xc1 rc4 00 null -\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runBot(t, "analyze", "--pcap", capture, "--keys", keys)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "line 2: unknown ESP encryption \"rc4\"") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("bad keys: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, _, stderr = runBot(t, "analyze", "--log", filepath.Join(fixtures, "ikev2-psk_mismatch", "edgeA-charon.log"), "--keys", keys)
	if code != 2 || !strings.Contains(stderr, "--keys goes with --pcap") {
		t.Errorf("keys without a capture: exit %d, stderr %q", code, stderr)
	}
}
