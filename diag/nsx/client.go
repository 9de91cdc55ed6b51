package nsx

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"ipsecbot/diag/fault"
)

// Defaults for the zero values of Manager.
const (
	DefaultTimeout    = 30 * time.Second
	DefaultMaxRetries = 2 // three attempts in all
	DefaultBackoff    = 500 * time.Millisecond
	// maxBodyBytes caps an XML answer; statistics of a few hundred sites stay far below it.
	maxBodyBytes = 32 << 20
	// edgePageSize is the page size asked of GET /api/4.0/edges (NSX allows 1-1024).
	edgePageSize = 256
)

// Manager says how to reach one NSX Manager. The engine fills it from the configuration.
type Manager struct {
	Name     string // for messages: "nsxmgr-a"
	URL      string // https://nsxmgr-a.example (the /api prefix is added by the client)
	User     string
	Password string
	// CAFile is a PEM file of the CA that signed the Manager's certificate; empty: system roots.
	CAFile string
	// CAPEM is the same as PEM bytes (e.g. the lab's CA), used when CAFile is empty.
	CAPEM []byte
	// Timeout bounds one request (one attempt); for a download, the wait for each chunk.
	Timeout time.Duration
	// MaxRetries is how many times a GET is retried after a 5xx, a timeout or a dropped
	// connection (0: DefaultMaxRetries; negative: never).
	MaxRetries int
	// Backoff is the wait before the first retry; it doubles each time, with jitter.
	Backoff time.Duration
	// IdleConns is how many connections are kept open for reuse (default 8): as many as
	// requests run at once (the watcher's concurrency), or each sweep pays TLS handshakes again.
	IdleConns int
}

// String describes m without its password (also used by %v and %+v).
func (m Manager) String() string {
	return fmt.Sprintf("nsx.Manager{Name:%s URL:%s User:%s Password:%s CAFile:%s}", m.Name, m.URL, m.User, Secret(m.Password), m.CAFile)
}

// GoString is String, for %#v.
func (m Manager) GoString() string { return m.String() }

// LogValue implements slog.LogValuer without the password.
func (m Manager) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", m.Name), slog.String("url", m.URL), slog.String("user", m.User))
}

// Client calls one NSX Manager. It is safe for concurrent use.
type Client struct {
	m    Manager
	base *url.URL
	hc   *http.Client
}

// New checks m and returns a client for it. It makes no request.
func New(m Manager) (*Client, error) {
	if m.Name == "" {
		m.Name = m.URL
	}
	u, err := url.Parse(strings.TrimRight(m.URL, "/"))
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("nsx manager %s: url %q: want https://host[:port]", m.Name, m.URL)
	}
	if m.User == "" {
		return nil, fmt.Errorf("nsx manager %s: no user", m.Name)
	}
	if m.Timeout <= 0 {
		m.Timeout = DefaultTimeout
	}
	switch {
	case m.MaxRetries == 0:
		m.MaxRetries = DefaultMaxRetries
	case m.MaxRetries < 0:
		m.MaxRetries = 0
	}
	if m.Backoff <= 0 {
		m.Backoff = DefaultBackoff
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	pemBytes := m.CAPEM
	if m.CAFile != "" {
		if pemBytes, err = os.ReadFile(m.CAFile); err != nil {
			return nil, fmt.Errorf("nsx manager %s: ca_file: %w", m.Name, err)
		}
	}
	if len(pemBytes) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("nsx manager %s: ca_file %s: no PEM certificate in it", m.Name, m.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: m.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: m.Timeout,
		MaxIdleConnsPerHost: cmp.Or(max(m.IdleConns, 0), 8),
		IdleConnTimeout:     90 * time.Second,
	}
	hc := &http.Client{
		Transport: tr,
		// Redirects are followed by hand (TechSupportLogs), only on the Manager itself, so
		// the credentials never go elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Client{m: m, base: u, hc: hc}, nil
}

// Name is the manager's name as configured.
func (c *Client) Name() string { return c.m.Name }

// Close releases the client's idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// idPattern is what edge and site IDs look like (edge-1, ipsecsite-4); anything else is refused
// before it reaches a URL.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func checkID(kind, id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("invalid %s %q", kind, id)
	}
	return nil
}

// Edges lists every edge of the Manager, page by page.
func (c *Client) Edges(ctx context.Context) ([]EdgeSummary, error) {
	var all []EdgeSummary
	for start := 0; ; {
		q := url.Values{"startIndex": {strconv.Itoa(start)}, "pageSize": {strconv.Itoa(edgePageSize)}}
		body, err := c.get(ctx, "/api/4.0/edges", q)
		if err != nil {
			return nil, err
		}
		page, err := ParseEdgeList(bytes.NewReader(body))
		if err != nil {
			return nil, c.wrap("GET /api/4.0/edges", err)
		}
		all = append(all, page.Page.Edges...)
		start += len(page.Page.Edges)
		if len(page.Page.Edges) == 0 || start >= page.Page.PagingInfo.TotalCount {
			return all, nil
		}
	}
}

// HealthSummary reads GET /api/4.0/edges/{edgeID}/healthsummary (NSX 6.4.0+).
func (c *Client) HealthSummary(ctx context.Context, edgeID string) (*EdgeHealthSummary, error) {
	return getDoc(ctx, c, edgeID, "healthsummary", nil, ParseHealthSummary)
}

// EdgeStatus reads GET /api/4.0/edges/{edgeID}/status (deprecated in 6.4.2 but answered).
func (c *Client) EdgeStatus(ctx context.Context, edgeID string) (*EdgeStatus, error) {
	return getDoc(ctx, c, edgeID, "status", nil, ParseEdgeStatus)
}

// IPsecConfig reads the edge's IPsec configuration. It never asks for sensitive data: PSKs
// come back masked, and are Secrets anyway.
func (c *Client) IPsecConfig(ctx context.Context, edgeID string) (*IPsecConfig, error) {
	return getDoc(ctx, c, edgeID, "ipsec/config", nil, ParseIPsecConfig)
}

// IPsecStatistics reads the edge's tunnel statistics, and returns the raw document too so the
// engine can keep it as an artifact (evidence refs point into it).
func (c *Client) IPsecStatistics(ctx context.Context, edgeID string) (*Statistics, []byte, error) {
	if err := checkID("edge id", edgeID); err != nil {
		return nil, nil, err
	}
	path := "/api/4.0/edges/" + edgeID + "/ipsec/statistics"
	body, err := c.get(ctx, path, nil)
	if err != nil {
		return nil, nil, err
	}
	s, err := ParseStatistics(bytes.NewReader(body))
	if err != nil {
		return nil, body, c.wrap("GET "+path, err)
	}
	return s, body, nil
}

// PeerConfig reads the peer configuration template of one site in its text form (6.4.2+).
func (c *Client) PeerConfig(ctx context.Context, edgeID, siteID string) (*PeerConfig, error) {
	if err := checkID("site id", siteID); err != nil {
		return nil, err
	}
	q := url.Values{"objectType": {"ipsecSiteConfig"}, "objectId": {siteID}, "templateId": {"text"}}
	return getDoc(ctx, c, edgeID, "peerconfig", q, ParsePeerConfig)
}

// FirewallConfig reads the edge firewall's rules.
func (c *Client) FirewallConfig(ctx context.Context, edgeID string) (*FirewallConfig, error) {
	return getDoc(ctx, c, edgeID, "firewall/config", nil, ParseFirewallConfig)
}

// SyslogConfig reads the edge's remote syslog settings.
func (c *Client) SyslogConfig(ctx context.Context, edgeID string) (*SyslogConfig, error) {
	return getDoc(ctx, c, edgeID, "syslog/config", nil, ParseSyslogConfig)
}

// getDoc GETs /api/4.0/edges/{edgeID}/{sub} and parses the answer.
func getDoc[T any](ctx context.Context, c *Client, edgeID, sub string, q url.Values, parse func(io.Reader) (*T, error)) (*T, error) {
	if err := checkID("edge id", edgeID); err != nil {
		return nil, err
	}
	path := "/api/4.0/edges/" + edgeID + "/" + sub
	body, err := c.get(ctx, path, q)
	if err != nil {
		return nil, err
	}
	v, err := parse(bytes.NewReader(body))
	if err != nil {
		return nil, c.wrap("GET "+path, err)
	}
	return v, nil
}

// ActiveAppliance names the edge's active appliance for HA: from the health summary (6.4.0+;
// the VM whose haState is active, or the only one), else from the status document
// (activeVseHaIndex), which is also the answer of a Manager older than 6.4.0 (no health summary:
// 404). An edge without HA has one appliance, index 0.
func (c *Client) ActiveAppliance(ctx context.Context, edgeID string) (Appliance, error) {
	h, err := c.HealthSummary(ctx, edgeID)
	if err == nil {
		if a, ok := activeInHealth(h); ok {
			return a, nil
		}
	} else if apiErr, ok := errors.AsType[*APIError](err); !ok || apiErr.Status != http.StatusNotFound {
		return Appliance{}, err
	}
	s, err := c.EdgeStatus(ctx, edgeID)
	if err != nil {
		return Appliance{}, err
	}
	if a, ok := activeInStatus(s); ok {
		return a, nil
	}
	return Appliance{}, fmt.Errorf("%s: edge %s: no active appliance in its health summary or status", c.m.Name, edgeID)
}

func activeInHealth(h *EdgeHealthSummary) (Appliance, bool) {
	for _, vm := range h.VMs {
		if strings.EqualFold(vm.HaState, "active") || len(h.VMs) == 1 {
			return Appliance{Index: vm.HaIndex, Name: vm.Name, VMID: vm.ID, HaState: vm.HaState, HaVnic: h.HaVnicInUse, Source: "healthsummary"}, true
		}
	}
	return Appliance{}, false
}

func activeInStatus(s *EdgeStatus) (Appliance, bool) {
	for _, vm := range s.VMs {
		if s.ActiveVseHaIndex != nil && vm.Index == *s.ActiveVseHaIndex ||
			s.ActiveVseHaIndex == nil && strings.EqualFold(vm.HaState, "active") {
			return Appliance{Index: vm.Index, Name: vm.Name, VMID: vm.ID, HaState: vm.HaState, Source: "status"}, true
		}
	}
	if s.ActiveVseHaIndex != nil {
		return Appliance{Index: *s.ActiveVseHaIndex, Source: "status"}, true
	}
	return Appliance{}, false
}

// CentralCLI runs a show command through the Manager's central CLI, for when SSH to the Edge is
// not allowed, and returns its text. Edges are addressed inside the command text, e.g.
// "show edge edge-1 service ipsec" — [UNVERIFIED] syntax: no public sample of the central CLI's
// edge IPsec commands was found. Not retried: it is a POST.
func (c *Client) CentralCLI(ctx context.Context, command string) (string, error) {
	command = strings.TrimSpace(command)
	if command == "" || len(command) > 512 || strings.ContainsFunc(command, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", fmt.Errorf("central cli: invalid command %q", command)
	}
	body, err := xml.Marshal(CLIRequest{Command: command})
	if err != nil {
		return "", err
	}
	const path = "/api/1.0/nsx/cli"
	q := url.Values{"action": {"execute"}}
	out, err := c.attempt(ctx, http.MethodPost, path, q, body, "text/plain")
	if err != nil {
		return "", c.finalErr("POST "+path, err, 1)
	}
	return string(out), nil
}

// get is a GET with bounded retries on 5xx, timeouts and dropped connections.
func (c *Client) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	return withRetries(ctx, c, "GET "+path, func() ([]byte, error) {
		return c.attempt(ctx, http.MethodGet, path, q, nil, "application/xml")
	})
}

// withRetries runs try until it succeeds, fails with an error not worth retrying, or
// MaxRetries retries are spent, backing off between attempts. The error is finalErr's.
func withRetries[T any](ctx context.Context, c *Client, op string, try func() (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		v, err := try()
		if err == nil {
			return v, nil
		}
		var zero T
		if attempt > c.m.MaxRetries || !retryable(err) || ctx.Err() != nil {
			return zero, c.finalErr(op, err, attempt)
		}
		if err := sleep(ctx, c.backoff(attempt)); err != nil {
			return zero, c.finalErr(op, err, attempt)
		}
	}
}

// backoff is Backoff * 2^(attempt-1), times a jitter in [0.5, 1.5).
func (c *Client) backoff(attempt int) time.Duration {
	d := c.m.Backoff << min(attempt-1, 10)
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// attemptTimeout marks an attempt that ran out of its per-request time.
type attemptTimeout struct{ err error }

func (e *attemptTimeout) Error() string { return "timeout: " + e.err.Error() }
func (e *attemptTimeout) Unwrap() error { return e.err }

// attempt makes one request and returns the body of a 2xx answer, or the error: *AuthError,
// *APIError, *attemptTimeout, or a transport error.
func (c *Client) attempt(ctx context.Context, method, path string, q url.Values, body []byte, accept string) ([]byte, error) {
	resp, data, err := c.exchange(ctx, method, path, q, body, accept)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return data, nil
	}
	return nil, c.statusErr(method+" "+path, resp.StatusCode, data)
}

// exchange makes one request under the per-request Timeout and returns the answer (its body
// already closed) and the body read up to maxBodyBytes. A transport failure comes back as
// classify makes it; any status is the caller's to judge.
func (c *Client) exchange(ctx context.Context, method, path string, q url.Values, body []byte, accept string) (*http.Response, []byte, error) {
	actx, cancel := context.WithTimeoutCause(ctx, c.m.Timeout, errAttemptTimeout)
	defer cancel()
	req, err := c.newRequest(actx, method, path, q, body, accept)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, c.classify(actx, err)
	}
	defer resp.Body.Close()
	data, err := readCapped(resp.Body, maxBodyBytes)
	if err == nil && actx.Err() != nil {
		err = actx.Err() // a body cut by the deadline can read as a clean end
	}
	if err != nil {
		return nil, nil, c.classify(actx, err)
	}
	return resp, data, nil
}

var errAttemptTimeout = errors.New("per-request timeout")

// classify turns a transport error into *attemptTimeout when the attempt's own deadline (not
// the caller's) or the network timed out.
func (c *Client) classify(actx context.Context, err error) error {
	switch context.Cause(actx) {
	case nil:
	case errAttemptTimeout:
		return &attemptTimeout{err: err}
	default:
		return err // the caller cancelled, or its own deadline passed: not ours to name
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return &attemptTimeout{err: err}
	}
	return err
}

func (c *Client) newRequest(ctx context.Context, method, path string, q url.Values, body []byte, accept string) (*http.Request, error) {
	u := *c.base
	u.Path = strings.TrimRight(c.base.Path, "/") + path
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(c.m.User, c.m.Password)
	req.Header.Set("Accept", accept)
	if body != nil {
		req.Header.Set("Content-Type", "application/xml")
	}
	return req, nil
}

// statusErr maps a non-2xx answer to our errors.
func (c *Client) statusErr(op string, status int, body []byte) error {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return &AuthError{Manager: c.m.Name, User: c.m.User, Op: op, Status: status}
	}
	e := &APIError{Manager: c.m.Name, Op: op, Status: status}
	if parsed, err := ParseAPIError(body); err == nil {
		e.Code, e.Details, e.Module = parsed.Code, parsed.Details, parsed.Module
	} else if t := printable(body, 200); t != "" {
		e.Details = t
	}
	return e
}

// printable is the start of a non-XML body, on one line, for an error message.
func printable(b []byte, n int) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "?")), " ")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

func retryable(err error) bool {
	if apiErr, ok := errors.AsType[*APIError](err); ok {
		return apiErr.Temporary()
	}
	if _, ok := errors.AsType[*AuthError](err); ok {
		return false
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return false // a wrong CA will not be right on the next try
	}
	if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrMalformed) || errors.Is(err, errNoRedirect) || errors.Is(err, context.Canceled) {
		return false
	}
	// timeouts, resets, EOF before an answer: the Manager (or the path to it) hiccupped.
	return true
}

// finalErr shapes the error a call returns after its last attempt.
func (c *Client) finalErr(op string, err error, attempts int) error {
	if t, ok := errors.AsType[*attemptTimeout](err); ok {
		return &TimeoutError{Manager: c.m.Name, Op: op, After: c.m.Timeout, Attempts: attempts, Err: t.err}
	}
	switch err.(type) {
	case *APIError, *AuthError:
		return err
	}
	if fault.Unreachable(err) {
		what := op
		if attempts > 1 {
			what = fmt.Sprintf("%s (%d attempts)", op, attempts)
		}
		return &fault.Error{Kind: fault.ErrUnreachable, At: managerDevice(c.m.Name), What: what, Err: err}
	}
	if attempts > 1 {
		return fault.At(managerDevice(c.m.Name), fmt.Errorf("%s: %s: %w (%d attempts)", c.m.Name, op, err, attempts))
	}
	return c.wrap(op, err)
}

// wrap names the manager and the call in err; an *APIError gets them as fields.
func (c *Client) wrap(op string, err error) error {
	if apiErr, ok := err.(*APIError); ok {
		named := *apiErr
		named.Manager, named.Op = c.m.Name, op
		return &named
	}
	return fault.At(managerDevice(c.m.Name), fmt.Errorf("%s: %s: %w", c.m.Name, op, err))
}

// readCapped reads all of r, or fails with ErrTooLarge past max bytes.
func readCapped(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("answer %w of %d bytes", ErrTooLarge, max)
	}
	return data, nil
}
