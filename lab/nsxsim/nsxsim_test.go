package nsxsim_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"ipsecbot/diag/nsx"
	"ipsecbot/lab/nsxsim"
)

const (
	user     = "admin"
	password = "lab-Passw0rd!"
	edgeID   = "edge-1"
)

// authFailedEdge is an edge whose tunnel is down with the procedure's IKEv2 authentication message.
func authFailedEdge(t testing.TB) nsxsim.EdgeContent {
	t.Helper()
	bundle, err := nsxsim.Bundle(map[string][]byte{
		"var/log/messages": []byte("Nov 27 04:18:39 edge-01-0 charon: 15[IKE] <s2s|1> received AUTHENTICATION_FAILED notify error\n"),
	}, time.Date(2026, 11, 27, 4, 20, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	return nsxsim.EdgeContent{
		ID: edgeID, Name: "edge-01",
		Statistics: &nsx.Statistics{
			Sites: []nsx.SiteStatistics{{
				SiteID: "ipsecsite-1",
				IKEStatus: &nsx.IKEStatus{ChannelStatus: "down", ChannelState: "STATE_MAIN_I1 (sent MI1, expecting MR1)",
					LocalIPAddress: "198.51.100.1", PeerID: "203.0.113.2", PeerIPAddress: "203.0.113.2", ChannelIKEVersion: "IKEv2"},
				Tunnels: []nsx.TunnelStats{{TunnelStatus: "down", FailureMessage: nsx.MsgIKEv2AuthFailed,
					LocalSubnet: "10.1.1.0/24", PeerSubnet: "10.2.2.0/24"}},
			}},
			TimeStamp: 1795752000,
		},
		IPsec: &nsx.IPsecConfig{Enabled: true, Sites: []nsx.IPsecSite{{
			Enabled: true, Name: "branch-fw", SiteID: "ipsecsite-1", LocalIP: "198.51.100.1", PeerIP: "203.0.113.2",
			EncryptionAlgorithm: "aes256", AuthenticationMode: "psk", PSK: "planted-psk-value", EnablePFS: true, DHGroup: "dh14",
			LocalSubnets: []string{"10.1.1.0/24"}, PeerSubnets: []string{"10.2.2.0/24"}, IKEOption: "ikev2",
		}}},
		Firewall: &nsx.FirewallConfig{Enabled: &yes, DefaultPolicy: &nsx.FirewallPolicy{Action: "deny"}, Rules: []nsx.FirewallRule{{
			ID: "131080", Action: "accept", Enabled: &yes,
			Application: &nsx.FirewallApplication{Services: []nsx.FirewallService{{Protocol: "udp", Ports: []string{"500", "4500"}}}},
		}}},
		Syslog: &nsx.SyslogConfig{Protocol: "udp", ServerAddresses: []string{"192.0.2.50"}},
		PeerConfigText: map[string]string{"ipsecsite-1": "# IPsec site Id : ipsecsite-1\n# Phase 1\nIKE version : ikev2\nSA life time : 28800 seconds\n" +
			"# Phase 2\nSa life time : 3600 seconds\nEnable perfect forward secrecy : true\n"},
		TechSupport: bundle,
		CLI: func(cmd string) (string, bool) {
			if cmd == "show edge edge-1 service ipsec" {
				return "-----------------------------------------------------------------------\nvShield Edge IPSec Service Status:\nIPSec Server is running.\n", true
			}
			return "", false
		},
	}
}

// start runs a simulated Manager for the test and a client that trusts its CA through a file.
func start(t *testing.T, edges ...nsxsim.EdgeContent) (*nsxsim.Manager, *nsx.Client) {
	t.Helper()
	m, err := nsxsim.Start(t.Context(), "127.0.0.1:0", nsxsim.Config{User: user, Password: password, Edges: edges})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, client(t, m, password, nil)
}

func client(t *testing.T, m *nsxsim.Manager, pass string, tune func(*nsx.Manager)) *nsx.Client {
	t.Helper()
	caFile := filepath.Join(t.TempDir(), "nsx-ca.pem")
	if err := os.WriteFile(caFile, m.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	mc := nsx.Manager{Name: "lab-mgr", URL: m.URL(), User: user, Password: pass, CAFile: caFile,
		Timeout: 5 * time.Second, Backoff: time.Millisecond}
	if tune != nil {
		tune(&mc)
	}
	c, err := nsx.New(mc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestClient_EveryEndpoint(t *testing.T) {
	m, c := start(t, authFailedEdge(t))
	ctx := t.Context()

	edges, err := c.Edges(ctx)
	if err != nil || len(edges) != 1 || edges[0].ID != edgeID || edges[0].Name != "edge-01" {
		t.Fatalf("Edges = %+v, %v", edges, err)
	}
	stats, raw, err := c.IPsecStatistics(ctx, edgeID)
	if err != nil {
		t.Fatal(err)
	}
	msgs := stats.Messages()
	if len(msgs) != 1 || msgs[0].Text != nsx.MsgIKEv2AuthFailed || msgs[0].Path != "siteStatistics[1]/tunnelStats[1]/failureMessage" {
		t.Errorf("Messages = %+v", msgs)
	}
	if !bytes.Contains(raw, []byte("<failureMessage>"+nsx.MsgIKEv2AuthFailed+"</failureMessage>")) {
		t.Errorf("raw statistics lack the failure message:\n%s", raw)
	}
	cfg, err := c.IPsecConfig(ctx, edgeID)
	if err != nil || len(cfg.Sites) != 1 || cfg.Sites[0].IKEOption != "ikev2" {
		t.Fatalf("IPsecConfig = %+v, %v", cfg, err)
	}
	if !cfg.Sites[0].PSK.Masked() {
		t.Errorf("the lab sent the PSK in clear: %q", string(cfg.Sites[0].PSK))
	}
	fw, err := c.FirewallConfig(ctx, edgeID)
	if err != nil {
		t.Fatal(err)
	}
	if ok, rule := fw.Allows(mustAddr("203.0.113.2"), mustAddr("198.51.100.1"), "udp", 4500); !ok || rule != "131080" {
		t.Errorf("UDP 4500: %v %s", ok, rule)
	}
	if ok, _ := fw.Allows(mustAddr("203.0.113.2"), mustAddr("198.51.100.1"), "esp", 0); ok {
		t.Error("ESP should hit the default deny")
	}
	sl, err := c.SyslogConfig(ctx, edgeID)
	if err != nil || !sl.Configured() {
		t.Errorf("SyslogConfig = %+v, %v", sl, err)
	}
	pc, err := c.PeerConfig(ctx, edgeID, "ipsecsite-1")
	if err != nil || pc.Phase1.IKEVersion != "ikev2" || pc.Phase2.SALifetime != time.Hour || !pc.Phase2.PFS {
		t.Errorf("PeerConfig = %+v, %v", pc, err)
	}
	if _, err := c.PeerConfig(ctx, edgeID, "ipsecsite-9"); !isStatus(err, http.StatusNotFound) {
		t.Errorf("unknown site: %v", err)
	}
	h, err := c.HealthSummary(ctx, edgeID)
	if err != nil || len(h.VMs) != 1 {
		t.Errorf("HealthSummary = %+v, %v", h, err)
	}
	st, err := c.EdgeStatus(ctx, edgeID)
	if err != nil || st.ActiveVseHaIndex == nil {
		t.Errorf("EdgeStatus = %+v, %v", st, err)
	}
	app, err := c.ActiveAppliance(ctx, edgeID)
	if err != nil || app != (nsx.Appliance{Index: 0, Name: "edge-01-0", VMID: "vm-101", HaState: "active", HaVnic: "vNic_1", Source: "healthsummary"}) {
		t.Errorf("ActiveAppliance = %+v, %v", app, err)
	}
	out, err := c.CentralCLI(ctx, "show edge edge-1 service ipsec")
	if err != nil || !strings.Contains(out, "IPSec Server is running.") {
		t.Errorf("CentralCLI = %q, %v", out, err)
	}
	if _, err := c.CentralCLI(ctx, "show edge edge-9 service ipsec"); !isStatus(err, http.StatusBadRequest) {
		t.Errorf("unknown CLI command: %v", err)
	}
	if _, err := c.IPsecConfig(ctx, "edge-99"); !isStatus(err, http.StatusNotFound) {
		t.Errorf("unknown edge: %v", err)
	}
	before := m.Calls(nsxsim.EndpointIPsecConfig)
	if _, err := c.IPsecConfig(ctx, "../edge-1"); err == nil || m.Calls(nsxsim.EndpointIPsecConfig) != before {
		t.Errorf("a bad edge id must be refused before any request: %v", err)
	}
}

func isStatus(err error, status int) bool {
	e, ok := errors.AsType[*nsx.APIError](err)
	return ok && e.Status == status
}

func TestClient_EdgesPaging(t *testing.T) {
	var edges []nsxsim.EdgeContent
	for i := 1; i <= 600; i++ {
		edges = append(edges, nsxsim.EdgeContent{ID: fmt.Sprintf("edge-%d", i), Name: fmt.Sprintf("e%03d", i)})
	}
	m, c := start(t, edges...)
	got, err := c.Edges(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 600 || got[0].ID != "edge-1" || got[599].ID != "edge-600" {
		t.Fatalf("got %d edges, first %v", len(got), got[0])
	}
	if n := m.Calls(nsxsim.EndpointEdges); n != 3 {
		t.Errorf("pages fetched = %d, want 3", n)
	}
}

// Ensure a wrong password is named plainly and not retried.
func TestClient_Unauthorized(t *testing.T) {
	m, _ := start(t, authFailedEdge(t))
	c := client(t, m, "wrong", nil)
	_, _, err := c.IPsecStatistics(t.Context(), edgeID)
	if !errors.Is(err, nsx.ErrUnauthorized) || errors.Is(err, nsx.ErrForbidden) {
		t.Fatalf("err = %v", err)
	}
	if want := "lab-mgr: 401 Unauthorized for user admin: check the password"; err.Error() != want {
		t.Errorf("message = %q, want %q", err, want)
	}
	if n := m.Calls(nsxsim.EndpointStatistics); n != 1 {
		t.Errorf("calls = %d, want 1 (no retry on 401)", n)
	}
}

func TestClient_ServerErrors(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			m, c := start(t, authFailedEdge(t))
			m.SetFaults(nsxsim.Faults{Status: status})
			_, _, err := c.IPsecStatistics(t.Context(), edgeID)
			apiErr, ok := errors.AsType[*nsx.APIError](err)
			if !ok || apiErr.Status != status || apiErr.Code == 0 || apiErr.Details == "" || apiErr.Module != "vShield Edge" {
				t.Fatalf("err = %#v", err)
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("lab-mgr: GET /api/4.0/edges/edge-1/ipsec/statistics: %d ", status)) {
				t.Errorf("message = %q", err)
			}
			if n := m.Calls(nsxsim.EndpointStatistics); n != 1+nsx.DefaultMaxRetries {
				t.Errorf("attempts = %d, want %d", n, 1+nsx.DefaultMaxRetries)
			}
		})
	}
}

// Ensure a passing hiccup is absorbed by the retries.
func TestClient_RetryRecovers(t *testing.T) {
	for name, f := range map[string]nsxsim.Faults{
		"503-twice": {Status: http.StatusServiceUnavailable, FailFirst: 2},
		"drop-once": {Drop: true, FailFirst: 1},
	} {
		t.Run(name, func(t *testing.T) {
			m, c := start(t, authFailedEdge(t))
			m.SetFaults(f)
			if _, _, err := c.IPsecStatistics(t.Context(), edgeID); err != nil {
				t.Fatal(err)
			}
			if n, want := m.Calls(nsxsim.EndpointStatistics), f.FailFirst+1; n != want {
				t.Errorf("attempts = %d, want %d", n, want)
			}
		})
	}
}

func TestClient_DroppedConnections(t *testing.T) {
	m, c := start(t, authFailedEdge(t))
	m.SetFaults(nsxsim.Faults{Drop: true})
	_, err := c.IPsecConfig(t.Context(), edgeID)
	if err == nil || !strings.Contains(err.Error(), "(3 attempts)") {
		t.Fatalf("err = %v", err)
	}
	if n := m.Calls(nsxsim.EndpointIPsecConfig); n != 3 {
		t.Errorf("attempts = %d, want 3", n)
	}
}

func TestClient_Malformed(t *testing.T) {
	m, c := start(t, authFailedEdge(t))
	m.SetFaults(nsxsim.Faults{Malformed: true, Endpoints: []string{nsxsim.EndpointStatistics}})
	_, raw, err := c.IPsecStatistics(t.Context(), edgeID)
	if !errors.Is(err, nsx.ErrMalformed) || len(raw) == 0 {
		t.Fatalf("err = %v, raw %d bytes", err, len(raw))
	}
	if _, ok := errors.AsType[*nsx.DecodeError](err); !ok || !strings.HasPrefix(err.Error(), "lab-mgr: GET ") {
		t.Errorf("err = %v", err)
	}
	if n := m.Calls(nsxsim.EndpointStatistics); n != 1 {
		t.Errorf("attempts = %d, want 1 (a malformed answer is not retried)", n)
	}
	if _, err := c.IPsecConfig(t.Context(), edgeID); err != nil {
		t.Errorf("the fault is limited to statistics: %v", err)
	}
}

func TestClient_Timeout(t *testing.T) {
	m, _ := start(t, authFailedEdge(t))
	c := client(t, m, password, func(mc *nsx.Manager) { mc.Timeout = 100 * time.Millisecond; mc.MaxRetries = 1 })
	m.SetFaults(nsxsim.Faults{Latency: 5 * time.Second})
	_, err := c.SyslogConfig(t.Context(), edgeID)
	te, ok := errors.AsType[*nsx.TimeoutError](err)
	if !ok || te.Attempts != 2 || te.After != 100*time.Millisecond {
		t.Fatalf("err = %v (%T)", err, err)
	}
	if want := "lab-mgr: GET /api/4.0/edges/edge-1/syslog/config: no answer within 100ms (2 attempts)"; err.Error() != want {
		t.Errorf("message = %q, want %q", err, want)
	}
}

// Ensure cancelling a call in flight returns at once and leaves no goroutine behind.
func TestClient_CancelNoLeak(t *testing.T) {
	defer goleak.VerifyNone(t)
	m, err := nsxsim.Start(context.Background(), "127.0.0.1:0", nsxsim.Config{User: user, Password: password,
		Edges: []nsxsim.EdgeContent{authFailedEdge(t)}, Faults: nsxsim.Faults{Latency: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c, err := nsx.New(nsx.Manager{Name: "lab-mgr", URL: m.URL(), User: user, Password: password, CAPEM: m.CAPEM()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, _, err := c.IPsecStatistics(ctx, edgeID)
		errc <- err
	}()
	for m.Calls(nsxsim.EndpointStatistics) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n := m.Calls(nsxsim.EndpointStatistics); n != 1 {
		t.Errorf("attempts = %d: a cancelled call must not retry", n)
	}
}

func TestClient_TechSupportLogs(t *testing.T) {
	_, c := start(t, authFailedEdge(t))
	var buf bytes.Buffer
	n, err := c.TechSupportLogs(t.Context(), edgeID, &buf, 1<<20)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("n=%d err=%v", n, err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != "var/log/messages" {
		t.Fatalf("bundle: %v %v", hdr, err)
	}
	body, _ := io.ReadAll(tr)
	if !strings.Contains(string(body), "AUTHENTICATION_FAILED") {
		t.Errorf("bundle log = %q", body)
	}
}

func TestClient_TechSupportLogsCapped(t *testing.T) {
	_, c := start(t, authFailedEdge(t))
	var buf bytes.Buffer
	n, err := c.TechSupportLogs(t.Context(), edgeID, &buf, 16)
	if !errors.Is(err, nsx.ErrTooLarge) || n != 16 || buf.Len() != 16 {
		t.Fatalf("n=%d len=%d err=%v", n, buf.Len(), err)
	}
	if _, err := c.TechSupportLogs(t.Context(), "edge-99", &buf, 16); !isStatus(err, http.StatusNotFound) {
		t.Errorf("unknown edge: %v", err)
	}
}

func TestClient_ActiveApplianceHA(t *testing.T) {
	e := authFailedEdge(t)
	e.Health = &nsx.EdgeHealthSummary{ID: edgeID, Name: "edge-01", HaVnicInUse: "vNic_1", VMs: []nsx.VMHealthSummary{
		{ID: "vm-211", Name: "edge-01-0", HaState: "standby", HaIndex: 0},
		{ID: "vm-212", Name: "edge-01-1", HaState: "active", HaIndex: 1},
	}}
	one := 1
	e.Status = &nsx.EdgeStatus{ActiveVseHaIndex: &one, VMs: []nsx.EdgeVMStatus{
		{Index: 0, ID: "vm-211", Name: "edge-01-0", HaState: "standby"},
		{Index: 1, ID: "vm-212", Name: "edge-01-1", HaState: "active"},
	}}
	m, c := start(t, e)
	app, err := c.ActiveAppliance(t.Context(), edgeID)
	if err != nil || app.Index != 1 || app.Name != "edge-01-1" || app.Source != "healthsummary" {
		t.Fatalf("from health summary: %+v %v", app, err)
	}
	// A Manager before 6.4.0 has no health summary: the status document answers.
	m.SetFaults(nsxsim.Faults{Status: http.StatusNotFound, Endpoints: []string{nsxsim.EndpointHealthSummary}})
	app, err = c.ActiveAppliance(t.Context(), edgeID)
	if err != nil || app.Index != 1 || app.VMID != "vm-212" || app.Source != "status" {
		t.Fatalf("from status: %+v %v", app, err)
	}
	m.SetFaults(nsxsim.Faults{Status: http.StatusForbidden})
	if _, err := c.ActiveAppliance(t.Context(), edgeID); !errors.Is(err, nsx.ErrForbidden) {
		t.Errorf("403: %v", err)
	}
}

// Ensure a client that does not trust the lab's CA fails on the certificate, once.
func TestClient_UntrustedCertificate(t *testing.T) {
	m, _ := start(t, authFailedEdge(t))
	other, err := nsxsim.Start(t.Context(), "127.0.0.1:0", nsxsim.Config{User: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	c, err := nsx.New(nsx.Manager{Name: "lab-mgr", URL: m.URL(), User: user, Password: password, CAPEM: other.CAPEM()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Edges(t.Context())
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v", err)
	}
	if n := m.Calls(nsxsim.EndpointEdges); n != 0 {
		t.Errorf("calls = %d", n)
	}
}

// The user story: with the lab's CA and basic auth, a plain HTTPS GET of ipsec/statistics (and
// curl, when installed) shows the authentication failure.
func TestUserStory_CurlStatistics(t *testing.T) {
	m, _ := start(t, authFailedEdge(t))
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, m.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	url := m.URL() + "/api/4.0/edges/edge-1/ipsec/statistics"
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	out, err := exec.CommandContext(t.Context(), curl, "-sS", "--fail", "--cacert", caFile, "-u", user+":"+password, url).CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), nsx.MsgIKEv2AuthFailed) {
		t.Errorf("curl output lacks the failure message:\n%s", out)
	}
	out, _ = exec.CommandContext(t.Context(), curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", caFile, "-u", user+":nope", url).CombinedOutput()
	if string(out) != "401" {
		t.Errorf("wrong password: status %s", out)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// Ensure the caller's own deadline is reported as such, not as the Manager's timeout.
func TestClient_CallerDeadline(t *testing.T) {
	m, c := start(t, authFailedEdge(t))
	m.SetFaults(nsxsim.Faults{Latency: 5 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := c.IPsecConfig(ctx, edgeID)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if _, ok := errors.AsType[*nsx.TimeoutError](err); ok {
		t.Errorf("the caller's deadline is not the Manager's timeout: %v", err)
	}
	if n := m.Calls(nsxsim.EndpointIPsecConfig); n > 1 {
		t.Errorf("attempts = %d: no retry once the caller's deadline passed", n)
	}
}
