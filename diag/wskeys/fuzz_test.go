package wskeys

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParse: any input is parsed or refused with one line; what parses writes tables whose
// records are one line each.
func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add("esp * * 0x1 null - null -")
	f.Add("ike 0011223344556677 8899aabbccddeeff aes-gcm16-256 00 00 none - -")
	f.Add("esp 192.0.2.1 192.0.2.2 0x1 aes-cbc 0x\"00 null -")
	f.Fuzz(func(t *testing.T, in string) {
		k, err := Parse(strings.NewReader(in))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of more than one line: %q", err)
			}
			return
		}
		var esp, ike bytes.Buffer
		if err := WriteESP(&esp, k.ESP); err != nil {
			t.Fatal(err)
		}
		if err := WriteIKEv2(&ike, k.IKE); err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(esp.Bytes(), []byte("\n")); n != len(k.ESP) {
			t.Fatalf("%d esp_sa lines for %d SAs", n, len(k.ESP))
		}
		if n := bytes.Count(ike.Bytes(), []byte("\n")); n != len(k.IKE) {
			t.Fatalf("%d ikev2 lines for %d SAs", n, len(k.IKE))
		}
	})
}
