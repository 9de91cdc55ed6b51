package nsxsim_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"testing"

	"ipsecbot/diag/nsx"
	"ipsecbot/lab/nsxsim"
)

// raw makes one plain HTTPS request to the simulated Manager, as curl would.
func raw(t *testing.T, m *nsxsim.Manager, method, path, accept, body string, auth bool) (int, http.Header, string) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(m.CAPEM())
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), method, m.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth {
		req.SetBasicAuth(user, password)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestManager_HTTPSurface(t *testing.T) {
	m, _ := start(t, authFailedEdge(t))
	tests := []struct {
		name, method, path, accept, body string
		auth                             bool
		wantStatus                       int
		wantInBody                       string
	}{
		{"no-auth", "GET", "/api/4.0/edges", "", "", false, 401, "Unauthorized"},
		{"page-size-zero", "GET", "/api/4.0/edges?pageSize=0", "", "", true, 400, "<errorCode>15012</errorCode>"},
		{"unknown-uri", "GET", "/api/9.9/nothing", "", "", true, 404, "<error>"},
		{"unknown-edge", "GET", "/api/4.0/edges/edge-42/ipsec/statistics", "", "", true, 404, "edge-42 could not be found"},
		{"wrong-method", "DELETE", "/api/4.0/edges/edge-1/ipsec/statistics", "", "", true, 405, ""},
		{"cli-without-text-plain", "POST", "/api/1.0/nsx/cli?action=execute", "application/xml",
			"<nsxcli><command>show edge edge-1 service ipsec</command></nsxcli>", true, 406, "only capable of generating responses"},
		{"cli-bad-body", "POST", "/api/1.0/nsx/cli?action=execute", "text/plain", "<nsxcli>", true, 400, "Invalid request body"},
		{"cli", "POST", "/api/1.0/nsx/cli?action=execute", "text/plain",
			"<nsxcli><command>show edge edge-1 service ipsec</command></nsxcli>", true, 200, "IPSec Server is running."},
		{"statistics", "GET", "/api/4.0/edges/edge-1/ipsec/statistics", "application/xml", "", true, 200, nsx.MsgIKEv2AuthFailed},
		{"config-psk-masked", "GET", "/api/4.0/edges/edge-1/ipsec/config", "", "", true, 200, "<psk>******</psk>"},
		{"peerconfig-bad-type", "GET", "/api/4.0/edges/edge-1/peerconfig?objectType=x&objectId=ipsecsite-1", "", "", true, 400, "Invalid objectType"},
		{"bundle-unknown", "GET", "/tech_support_logs/vse/NSX_Edge_Support_edge-9_x.log.gz", "", "", true, 404, "<error>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, hdr, body := raw(t, m, tt.method, tt.path, tt.accept, tt.body, tt.auth)
			if status != tt.wantStatus || !strings.Contains(body, tt.wantInBody) {
				t.Errorf("%d %q; want %d with %q", status, body, tt.wantStatus, tt.wantInBody)
			}
			if status == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if strings.Contains(body, "planted-psk-value") {
				t.Error("PSK in clear")
			}
		})
	}
	status, hdr, _ := raw(t, m, "GET", "/api/4.0/edges/edge-1/techsupportlogs", "", "", true)
	if loc := hdr.Get("Location"); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/tech_support_logs/vse/NSX_Edge_Support_edge-1_") || !strings.HasSuffix(loc, ".log.gz") {
		t.Errorf("techsupportlogs: %d Location %q", status, loc)
	}
}
