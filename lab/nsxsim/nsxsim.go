// Package nsxsim is a simulated NSX-v Manager on loopback: HTTPS with a certificate made at
// start, basic auth, the edge endpoints the IPsec procedure reads (in the XML of diag/nsx's
// types), error documents, the 303 + gzip tech support download, the central CLI, and fault
// switches for tests. It is content-agnostic: the caller gives each edge's documents.
package nsxsim

import (
	"context"
	"crypto/subtle"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"ipsecbot/diag/nsx"
)

// Config is what the simulated Manager serves.
type Config struct {
	User     string
	Password string
	Edges    []EdgeContent
	Faults   Faults
	// Clock is the Manager's clock for time-varying statistics (nil: time.Now).
	Clock func() time.Time
	// Logger receives one line per request (nil: discarded).
	Logger *slog.Logger
}

// EdgeContent is one edge's documents. A nil document is served as an empty one of its kind.
type EdgeContent struct {
	ID   string // edge-1
	Name string // edge-01
	// Statistics is encoded for ipsec/statistics unless StatisticsXML is set, which is served
	// as it is (for documents the types cannot produce, e.g. odd or broken ones).
	Statistics    *nsx.Statistics
	StatisticsXML []byte
	// StatisticsAt, when set, makes the document at each request from the Manager's clock
	// (tunnels that drop and rekey over time; see Timeline).
	StatisticsAt func(now time.Time) *nsx.Statistics
	IPsec        *nsx.IPsecConfig
	Firewall     *nsx.FirewallConfig
	Syslog       *nsx.SyslogConfig
	// PeerConfigText is the text template of each site, keyed by siteId.
	PeerConfigText map[string]string
	// TechSupport is the bundle (gzip bytes; see Bundle) behind the 303.
	TechSupport []byte
	// CLI answers central CLI commands: ok false means the command is not this edge's.
	CLI func(command string) (out string, ok bool)
	// Health and Status; nil: made up from the edge (one appliance, "<Name>-0", active).
	Health *nsx.EdgeHealthSummary
	Status *nsx.EdgeStatus
	// Summary adds fields to the edge's entry in GET /api/4.0/edges (ID and Name are set from above).
	Summary *nsx.EdgeSummary
}

// Endpoint names, for per-endpoint faults and call counts.
const (
	EndpointEdges         = "edges"
	EndpointHealthSummary = "healthsummary"
	EndpointStatus        = "status"
	EndpointIPsecConfig   = "ipsec/config"
	EndpointStatistics    = "ipsec/statistics"
	EndpointPeerConfig    = "peerconfig"
	EndpointFirewall      = "firewall/config"
	EndpointSyslog        = "syslog/config"
	EndpointTechSupport   = "techsupportlogs"
	EndpointBundle        = "bundle" // the download behind the 303
	EndpointCLI           = "cli"
)

// Faults are switches for tests; SetFaults changes them at run time.
type Faults struct {
	// Latency delays every answer (the wait ends early if the client goes away).
	Latency time.Duration
	// EndpointLatency adds a delay per endpoint (Endpoint* names), e.g. for a benchmark of
	// concurrent collection.
	EndpointLatency map[string]time.Duration
	// Status, when non-zero (500, 503...), is answered instead of the document, with an
	// <error> body like the Manager's.
	Status int
	// FailFirst limits Status (and Drop, Malformed) to the first N matching calls; 0: all.
	FailFirst int
	// Drop closes the connection without answering.
	Drop bool
	// Malformed answers 200 with a document cut in the middle.
	Malformed bool
	// Endpoints limits Status, Drop and Malformed to these endpoints; empty: all.
	Endpoints []string
}

func (f Faults) applies(endpoint string) bool {
	if len(f.Endpoints) == 0 {
		return true
	}
	for _, e := range f.Endpoints {
		if e == endpoint {
			return true
		}
	}
	return false
}

// Manager is a running simulated NSX Manager.
type Manager struct {
	cfg   Config
	ca    *authority
	ln    net.Listener
	srv   *http.Server
	url   string
	done  chan struct{}
	log   *slog.Logger
	mu    sync.Mutex
	edges map[string]*EdgeContent
	order []string
	fault Faults
	fails int            // calls the current faults have failed
	calls map[string]int // per endpoint
	stop  func() bool    // unregisters the close-on-cancel of Start's ctx
}

// Start listens on addr (default "127.0.0.1:0"), generates the CA and server certificate, and
// serves until ctx ends or Close is called.
func Start(ctx context.Context, addr string, cfg Config) (*Manager, error) {
	if cfg.User == "" {
		return nil, errors.New("nsxsim: no user")
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("nsxsim: listen address %q: %w", addr, err)
	}
	ca, err := newAuthority(host)
	if err != nil {
		return nil, fmt.Errorf("nsxsim: certificates: %w", err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("nsxsim: %w", err)
	}
	m := &Manager{
		cfg:   cfg,
		ca:    ca,
		ln:    ln,
		done:  make(chan struct{}),
		log:   cfg.Logger,
		edges: map[string]*EdgeContent{},
		fault: cfg.Faults,
		calls: map[string]int{},
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	for i := range cfg.Edges {
		m.putEdge(cfg.Edges[i])
	}
	m.url = "https://" + ln.Addr().String()
	m.srv = &http.Server{
		Handler:           m.routes(),
		TLSConfig:         ca.serverTLS(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(m.done)
		_ = m.srv.ServeTLS(ln, "", "") // returns on Close
	}()
	m.stop = context.AfterFunc(ctx, func() { _ = m.Close() })
	return m, nil
}

// URL is the Manager's base URL, https://127.0.0.1:PORT.
func (m *Manager) URL() string { return m.url }

// Addr is the listening address.
func (m *Manager) Addr() string { return m.ln.Addr().String() }

// CAPEM is the PEM of the CA that signed the server certificate (the client's ca_file).
func (m *Manager) CAPEM() []byte { return append([]byte(nil), m.ca.caPEM...) }

// SetFaults replaces the fault switches and restarts FailFirst's count.
func (m *Manager) SetFaults(f Faults) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fault, m.fails = f, 0
}

// SetEdge adds or replaces an edge's content.
func (m *Manager) SetEdge(e EdgeContent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.putEdge(e)
}

func (m *Manager) putEdge(e EdgeContent) {
	if _, ok := m.edges[e.ID]; !ok {
		m.order = append(m.order, e.ID)
	}
	m.edges[e.ID] = &e
}

// Calls is how many requests an endpoint received (authenticated or not).
func (m *Manager) Calls(endpoint string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls[endpoint]
}

// Close stops the server and drops open connections.
func (m *Manager) Close() error {
	m.stop()
	err := m.srv.Close()
	<-m.done
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (m *Manager) routes() http.Handler {
	mux := http.NewServeMux()
	edge := func(endpoint string, h func(http.ResponseWriter, *http.Request, *EdgeContent)) http.HandlerFunc {
		return m.guard(endpoint, func(w http.ResponseWriter, r *http.Request) {
			e := m.edge(r.PathValue("edgeId"))
			if e == nil {
				writeError(w, http.StatusNotFound, 202, "core-services",
					"The requested object : "+r.PathValue("edgeId")+" could not be found. Object identifiers are case sensitive.")
				return
			}
			h(w, r, e)
		})
	}
	mux.HandleFunc("GET /api/4.0/edges", m.guard(EndpointEdges, m.serveEdges))
	mux.HandleFunc("GET /api/4.0/edges/{edgeId}/healthsummary", edge(EndpointHealthSummary, serveHealth))
	mux.HandleFunc("GET /api/4.0/edges/{edgeId}/status", edge(EndpointStatus, serveStatus))
	mux.HandleFunc("GET /api/4.0/edges/{edgeId}/ipsec/config", edge(EndpointIPsecConfig, serveIPsecConfig))
	mux.HandleFunc("GET /api/4.0/edges/{edgeId}/ipsec/statistics", edge(EndpointStatistics, m.serveStatistics))
	mux.HandleFunc("GET /api/4.0/edges/{edgeId}/peerconfig", edge(EndpointPeerConfig, servePeerConfig))
	mux.HandleFunc("GET /api/4.0/edges/{edgeId}/firewall/config", edge(EndpointFirewall, serveFirewall))
	mux.HandleFunc("GET /api/4.0/edges/{edgeId}/syslog/config", edge(EndpointSyslog, serveSyslog))
	mux.HandleFunc("GET /api/4.0/edges/{edgeId}/techsupportlogs", edge(EndpointTechSupport, serveTechSupportRedirect))
	mux.HandleFunc("GET /tech_support_logs/vse/{file}", m.guard(EndpointBundle, m.serveBundle))
	mux.HandleFunc("POST /api/1.0/nsx/cli", m.guard(EndpointCLI, m.serveCLI))
	mux.HandleFunc("/", m.guard("", func(w http.ResponseWriter, r *http.Request) {
		// The catch-all also takes other methods on known paths: answer those 405, as a GET would work.
		probe := r.Clone(r.Context())
		probe.Method = http.MethodGet
		if _, pattern := mux.Handler(probe); pattern != "/" {
			w.Header().Set("Allow", http.MethodGet)
			writeError(w, http.StatusMethodNotAllowed, 0, "", "Method "+r.Method+" is not supported for "+r.URL.Path+".")
			return
		}
		writeError(w, http.StatusNotFound, 0, "", "The requested URI "+r.URL.Path+" was not found.")
	}))
	return mux
}

func (m *Manager) edge(id string) *EdgeContent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.edges[id]
}

// guard counts the call, applies latency, checks basic auth and then the faults.
func (m *Manager) guard(endpoint string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.calls[endpoint]++
		f := m.fault
		failing := f.applies(endpoint) && (f.Status != 0 || f.Drop || f.Malformed) && (f.FailFirst == 0 || m.fails < f.FailFirst)
		if failing {
			m.fails++
		}
		m.mu.Unlock()
		m.log.Debug("nsxsim request", "method", r.Method, "path", r.URL.Path, "endpoint", endpoint, "fault", failing)

		if d := f.Latency + f.EndpointLatency[endpoint]; d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		user, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(m.cfg.User)) != 1 ||
			subtle.ConstantTimeCompare([]byte(pass), []byte(m.cfg.Password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="NSX Manager"`)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		switch {
		case failing && f.Drop:
			dropConnection(w)
			return
		case failing && f.Status != 0:
			writeError(w, f.Status, faultCode(f.Status), "vShield Edge", faultDetails(f.Status))
			return
		case failing && f.Malformed:
			w.Header().Set("Content-Type", "application/xml")
			_, _ = io.WriteString(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ipsecStatusAndStats><siteStatistics><siteId>ipsec")
			return
		}
		h(w, r)
	}
}

// dropConnection closes the TCP connection without an HTTP answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // HTTP/2: abort the stream
}

func faultCode(status int) int {
	if status == http.StatusServiceUnavailable {
		return 10350
	}
	return 10001
}

// faultDetails are the documented meanings of the statuses (503: "NSX Edge is Unreachable").
func faultDetails(status int) string {
	switch status {
	case http.StatusServiceUnavailable:
		return "NSX Edge is unreachable. Check the NSX Edge appliance status."
	case http.StatusInternalServerError:
		return "Internal server error: the request could not be completed."
	}
	return http.StatusText(status)
}

// writeError answers with NSX's <error> document.
func writeError(w http.ResponseWriter, status, code int, module, details string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(nsx.APIErrorBody{Details: details, ErrorCode: code, ModuleName: module})
}

// writeXML answers 200 with v encoded.
func writeXML(w http.ResponseWriter, v any) {
	out, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		writeError(w, http.StatusInternalServerError, 10001, "nsxsim", "encode: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(xml.Header)+len(out)))
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(out)
}

func (m *Manager) serveEdges(w http.ResponseWriter, r *http.Request) {
	start, size := 0, 256
	if v := r.URL.Query().Get("startIndex"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, 15012, "vShield Edge", "Invalid value "+v+" for startIndex.")
			return
		}
		start = n
	}
	if v := r.URL.Query().Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1024 {
			writeError(w, http.StatusBadRequest, 15012, "vShield Edge", "Invalid value "+v+" for pageSize: 1 to 1024.")
			return
		}
		size = n
	}
	m.mu.Lock()
	var all []nsx.EdgeSummary
	for _, id := range m.order {
		all = append(all, summaryOf(m.edges[id]))
	}
	m.mu.Unlock()
	page := nsx.PagedEdgeList{Page: nsx.EdgePage{PagingInfo: nsx.PagingInfo{
		PageSize: size, StartIndex: start, TotalCount: len(all), SortOrderAscending: true, SortBy: "id",
	}}}
	if start < len(all) {
		page.Page.Edges = all[start:min(start+size, len(all))]
	}
	writeXML(w, page)
}

func summaryOf(e *EdgeContent) nsx.EdgeSummary {
	s := nsx.EdgeSummary{EdgeType: "gatewayServices", EdgeStatus: "GREEN", State: "deployed", TenantID: "default", APIVersion: "4.0"}
	if e.Summary != nil {
		s = *e.Summary
	}
	s.ObjectID, s.ID, s.Name = e.ID, e.ID, e.Name
	return s
}

func serveHealth(w http.ResponseWriter, _ *http.Request, e *EdgeContent) {
	if e.Health != nil {
		writeXML(w, e.Health)
		return
	}
	writeXML(w, nsx.EdgeHealthSummary{
		ID: e.ID, Name: e.Name, EdgeType: "gatewayServices", BuildNumber: "6.4.6-14819921",
		PublishStatus: "APPLIED", HaVnicInUse: "vNic_1",
		EnabledFeatures: []nsx.FeatureSummary{{FeatureName: "ipsec"}, {FeatureName: "firewall"}, {FeatureName: "syslog"}},
		VMs:             []nsx.VMHealthSummary{{ID: "vm-101", Name: e.Name + "-0", HaAdminState: "up", HaState: "active", MpConnectivityStatus: "UP", HaIndex: 0}},
	})
}

func serveStatus(w http.ResponseWriter, _ *http.Request, e *EdgeContent) {
	if e.Status != nil {
		writeXML(w, e.Status)
		return
	}
	zero := 0
	writeXML(w, nsx.EdgeStatus{
		SystemStatus: "good", ActiveVseHaIndex: &zero, EdgeStatus: "GREEN", PublishStatus: "APPLIED",
		VMs:      []nsx.EdgeVMStatus{{EdgeVMStatus: "GREEN", HaState: "active", Index: 0, ID: "vm-101", Name: e.Name + "-0"}},
		Features: []nsx.FeatureStatus{{Service: "ipsec", Configured: e.IPsec != nil, ServerStatus: "up"}},
	})
}

// orEmpty writes doc, or an empty document of its type when the scenario gave none.
func orEmpty[T any](w http.ResponseWriter, doc *T) {
	if doc == nil {
		doc = new(T)
	}
	writeXML(w, doc)
}

func serveIPsecConfig(w http.ResponseWriter, _ *http.Request, e *EdgeContent) {
	orEmpty(w, e.IPsec) // PSKs are nsx.Secrets: they encode as NSX's mask
}

func (m *Manager) serveStatistics(w http.ResponseWriter, _ *http.Request, e *EdgeContent) {
	if e.StatisticsAt != nil {
		now := time.Now
		if m.cfg.Clock != nil {
			now = m.cfg.Clock
		}
		writeXML(w, e.StatisticsAt(now()))
		return
	}
	if e.StatisticsXML != nil {
		w.Header().Set("Content-Type", "application/xml")
		_, _ = w.Write(e.StatisticsXML)
		return
	}
	orEmpty(w, e.Statistics)
}

func servePeerConfig(w http.ResponseWriter, r *http.Request, e *EdgeContent) {
	q := r.URL.Query()
	if q.Get("objectType") != "ipsecSiteConfig" {
		writeError(w, http.StatusBadRequest, 15012, "vShield Edge", "Invalid objectType "+q.Get("objectType")+".")
		return
	}
	text, ok := e.PeerConfigText[q.Get("objectId")]
	if !ok {
		writeError(w, http.StatusNotFound, 202, "core-services",
			"The requested object : "+q.Get("objectId")+" could not be found. Object identifiers are case sensitive.")
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, text)
}

func serveFirewall(w http.ResponseWriter, _ *http.Request, e *EdgeContent) { orEmpty(w, e.Firewall) }

func serveSyslog(w http.ResponseWriter, _ *http.Request, e *EdgeContent) { orEmpty(w, e.Syslog) }

// bundlePrefix is the file name the Manager gives an edge's bundle; the edge ID follows it.
const bundlePrefix = "NSX_Edge_Support_"

func serveTechSupportRedirect(w http.ResponseWriter, _ *http.Request, e *EdgeContent) {
	stamp := time.Now().UTC().Format("010206_150405")
	w.Header().Set("Location", "/tech_support_logs/vse/"+bundlePrefix+e.ID+"_"+stamp+"GMT+00:00.log.gz")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusSeeOther)
}

func (m *Manager) serveBundle(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	id, _, _ := strings.Cut(strings.TrimPrefix(file, bundlePrefix), "_")
	e := m.edge(id)
	if !strings.HasPrefix(file, bundlePrefix) || e == nil || e.TechSupport == nil {
		writeError(w, http.StatusNotFound, 0, "", "The requested URI "+r.URL.Path+" was not found.")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(e.TechSupport)))
	_, _ = w.Write(e.TechSupport)
}

// notAcceptable is the Manager's answer to a central CLI call without Accept: text/plain.
const notAcceptable = `The resource identified by this request is only capable of generating responses with characteristics not acceptable according to the request "accept" headers.`

func (m *Manager) serveCLI(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("action") != "execute" {
		writeError(w, http.StatusBadRequest, 15012, "core-services", "Invalid action: use action=execute.")
		return
	}
	if !strings.Contains(r.Header.Get("Accept"), "text/plain") {
		writeError(w, http.StatusNotAcceptable, 0, "", notAcceptable)
		return
	}
	var req nsx.CLIRequest
	if err := xml.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, 15012, "core-services", "Invalid request body: "+err.Error())
		return
	}
	m.mu.Lock()
	var clis []func(string) (string, bool)
	for _, id := range m.order {
		if f := m.edges[id].CLI; f != nil {
			clis = append(clis, f)
		}
	}
	m.mu.Unlock()
	cmd := strings.TrimSpace(req.Command)
	for _, f := range clis {
		if out, ok := f(cmd); ok {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, out)
			return
		}
	}
	// [UNVERIFIED] how the Manager answers an unknown central CLI command; an error document here.
	writeError(w, http.StatusBadRequest, 15012, "core-services", "Invalid command: "+cmd)
}
