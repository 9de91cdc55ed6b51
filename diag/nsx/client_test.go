package nsx_test

import (
	"bytes"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag/nsx"
)

// tlsServer is a real HTTPS server with h as handler and a client that trusts it.
func tlsServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *nsx.Client) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	c, err := nsx.New(nsx.Manager{Name: "mgr-t", URL: srv.URL, User: "auditor", Password: "pw", CAPEM: ca,
		Timeout: 2 * time.Second, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return srv, c
}

func TestNew_Invalid(t *testing.T) {
	tests := map[string]nsx.Manager{
		"http-url":   {Name: "m", URL: "http://nsx.example", User: "admin"},
		"no-host":    {Name: "m", URL: "https://", User: "admin"},
		"no-user":    {Name: "m", URL: "https://nsx.example"},
		"bad-ca-pem": {Name: "m", URL: "https://nsx.example", User: "admin", CAPEM: []byte("not a pem")},
		"no-ca-file": {Name: "m", URL: "https://nsx.example", User: "admin", CAFile: "/nonexistent/ca.pem"},
	}
	for name, m := range tests {
		t.Run(name, func(t *testing.T) {
			if c, err := nsx.New(m); err == nil {
				c.Close()
				t.Fatal("accepted")
			}
		})
	}
}

// Ensure a 403 names the user and the call, and an <errors> body is decoded.
func TestClient_ForbiddenAndErrorList(t *testing.T) {
	errorsList := readFile(t, "errors-list.xml")
	_, c := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/syslog/config") {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusBadRequest)
		w.Write(errorsList)
	})
	_, err := c.SyslogConfig(t.Context(), "edge-1")
	if !errors.Is(err, nsx.ErrForbidden) {
		t.Fatalf("err = %v", err)
	}
	if want := "mgr-t: 403 Forbidden for user auditor on GET /api/4.0/edges/edge-1/syslog/config: the user's NSX role does not allow it"; err.Error() != want {
		t.Errorf("message = %q", err)
	}
	_, err = c.FirewallConfig(t.Context(), "edge-1")
	apiErr, ok := errors.AsType[*nsx.APIError](err)
	if !ok || apiErr.Status != 400 || apiErr.Code != 15012 || !strings.Contains(apiErr.Details, "edge-99 could not be found") {
		t.Fatalf("err = %#v", err)
	}
}

// Ensure a non-XML error page keeps its text in the error, on one line.
func TestClient_HTMLErrorPage(t *testing.T) {
	_, c := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html>\n<body>Bad\tGateway\x00</body></html>")
	})
	_, err := c.HealthSummary(t.Context(), "edge-1")
	if apiErr, ok := errors.AsType[*nsx.APIError](err); !ok || apiErr.Details != "<html> <body>Bad Gateway</body></html>" {
		t.Fatalf("err = %#v", err)
	}
}

// Ensure the client never follows a bundle redirect off the Manager (the credentials would go along).
func TestClient_TechSupportRedirectOffHost(t *testing.T) {
	var offHost int
	elsewhere := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { offHost++ }))
	defer elsewhere.Close()
	_, c := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/bundle.gz", http.StatusSeeOther)
	})
	var buf bytes.Buffer
	if _, err := c.TechSupportLogs(t.Context(), "edge-1", &buf, 1<<20); err == nil || !strings.Contains(err.Error(), "not on the Manager") {
		t.Fatalf("err = %v", err)
	}
	if offHost != 0 || buf.Len() != 0 {
		t.Errorf("followed the redirect off the Manager")
	}
}

func TestClient_TechSupportNotGzip(t *testing.T) {
	_, c := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/b.log.gz" {
			io.WriteString(w, "<html>login</html>")
			return
		}
		http.Redirect(w, r, "/b.log.gz", http.StatusSeeOther)
	})
	var buf bytes.Buffer
	if _, err := c.TechSupportLogs(t.Context(), "edge-1", &buf, 1<<20); !errors.Is(err, nsx.ErrMalformed) || buf.Len() != 0 {
		t.Fatalf("err = %v, wrote %d", err, buf.Len())
	}
}

// Ensure the central CLI call has the documented shape: POST, action=execute, Accept text/plain, <nsxcli>.
func TestClient_CentralCLIRequest(t *testing.T) {
	var got string
	_, c := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = r.Method + " " + r.URL.Path + "?" + r.URL.RawQuery + " " + r.Header.Get("Accept") + " " + r.Header.Get("Content-Type") + " " + string(body)
		io.WriteString(w, "IPSec Server is running.\n")
	})
	out, err := c.CentralCLI(t.Context(), "show edge edge-1 service ipsec")
	if err != nil || out != "IPSec Server is running.\n" {
		t.Fatalf("out = %q, %v", out, err)
	}
	want := "POST /api/1.0/nsx/cli?action=execute text/plain application/xml <nsxcli><command>show edge edge-1 service ipsec</command></nsxcli>"
	if got != want {
		t.Errorf("request = %q\nwant      %q", got, want)
	}
	for _, bad := range []string{"", "show edge edge-1\nreboot", strings.Repeat("x", 600)} {
		if _, err := c.CentralCLI(t.Context(), bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// Ensure a download that stalls mid-way ends with a *TimeoutError after Timeout of silence,
// keeping what arrived.
func TestClient_TechSupportStalls(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/b.log.gz" {
			http.Redirect(w, r, "/b.log.gz", http.StatusSeeOther)
			return
		}
		w.Write([]byte{0x1f, 0x8b, 8, 0})
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	c, err := nsx.New(nsx.Manager{Name: "mgr-t", URL: srv.URL, User: "admin", CAPEM: ca, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var buf bytes.Buffer
	n, err := c.TechSupportLogs(t.Context(), "edge-1", &buf, 1<<20)
	if _, ok := errors.AsType[*nsx.TimeoutError](err); !ok || n != 4 {
		t.Fatalf("n=%d err=%v (%T)", n, err, err)
	}
}
