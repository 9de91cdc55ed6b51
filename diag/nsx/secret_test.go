package nsx_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"ipsecbot/diag/nsx"
)

// Ensure a PSK read from a document never shows in any output the bot makes of it.
func TestSecret_NeverPrints(t *testing.T) {
	const planted = "labsecret-do-not-print"
	c, err := nsx.ParseIPsecConfig(open(t, "ipsec-config.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Sites[0].PSK) != planted {
		t.Fatalf("fixture PSK = %q", c.Sites[0].PSK)
	}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		outs = append(outs, fmt.Sprintf(verb, c), fmt.Sprintf(verb, c.Sites[0].PSK))
	}
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	x, err := xml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("config", "psk", c.Sites[0].PSK, "site", c.Sites[0])
	outs = append(outs, string(j), string(x), logBuf.String())
	for i, o := range outs {
		if strings.Contains(o, planted) || strings.Contains(o, fmt.Sprintf("%x", planted)) {
			t.Errorf("output %d shows the secret: %s", i, o)
		}
	}
	if !strings.Contains(string(x), "<psk>******</psk>") {
		t.Errorf("XML should carry NSX's mask: %s", x)
	}
	if !strings.Contains(string(j), `"PSK":"\u003csecret\u003e"`) {
		t.Errorf("JSON should say <secret>: %s", j)
	}
	if got, _ := nsx.Secret("").MarshalJSON(); string(got) != `""` {
		t.Errorf("empty secret JSON = %s", got)
	}
}

func TestManager_NoPasswordInOutput(t *testing.T) {
	m := nsx.Manager{Name: "nsxmgr-a", URL: "https://nsx.example", User: "admin", Password: "planted-password"}
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("manager", "m", m)
	for _, out := range []string{fmt.Sprint(m), fmt.Sprintf("%+v", m), fmt.Sprintf("%#v", m), fmt.Sprintf("%v", &m), logBuf.String()} {
		if strings.Contains(out, "planted-password") || !strings.Contains(out, "nsxmgr-a") {
			t.Errorf("output: %s", out)
		}
	}
}
