package handlers

// Read-only incident queries on the bot's HTTP listener, for `bot incidents` while the bot runs:
// bbolt lets only one process open the store, so the terminal asks the process that holds it.
// They are served to loopback clients only, and never through a proxy, since the same listener
// takes Slack's requests and usually sits behind a public reverse proxy.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"ipsecbot/store"
)

// IncidentsPath is the list endpoint; one incident is at IncidentsPath + "/" + ID.
const IncidentsPath = "/incidents"

// DefaultIncidentLimit is the list's limit when the query names none (the CLI's default too).
const DefaultIncidentLimit = 50

// maxIncidentsAnswer bounds what the client reads from the bot: every incident of a busy year
// is a few MiB.
const maxIncidentsAnswer = 64 << 20

// proxyHeaders are set by reverse proxies; a request carrying one came from outside even when
// the proxy connects over loopback.
var proxyHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-Ip"}

// localOnly refuses (403) a request unless it comes straight from a loopback address.
func (s *Server) localOnly(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := notLocal(r); why != "" {
			s.log.Warn("refused incident query", "path", r.URL.Path, "remote", r.RemoteAddr, "why", why)
			writeIncidentsError(w, http.StatusForbidden, "incidents are served to loopback clients only, not through a proxy")
			return
		}
		next(w, r)
	})
}

// notLocal says why r is not a direct loopback request, or "" when it is.
func notLocal(r *http.Request) string {
	for _, h := range proxyHeaders {
		if _, ok := r.Header[h]; ok {
			return "carries " + h
		}
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return "unreadable remote address"
	}
	if !ap.Addr().Unmap().IsLoopback() {
		return "remote address is not loopback"
	}
	return ""
}

// serveIncidentList answers GET /incidents?status=S&edge=E&limit=N with a JSON array, newest first.
func (s *Server) serveIncidentList(w http.ResponseWriter, r *http.Request) {
	f, err := ParseIncidentFilter(r.URL.Query())
	if err != nil {
		writeIncidentsError(w, http.StatusBadRequest, err.Error())
		return
	}
	list, err := s.db.Incidents(f)
	if err != nil {
		s.log.Error("incident list", "err", err)
		writeIncidentsError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if list == nil {
		list = []store.Incident{}
	}
	writeIncidentsJSON(w, http.StatusOK, list)
}

// serveIncidentDetail answers GET /incidents/{id} with a store.IncidentDetail.
func (s *Server) serveIncidentDetail(w http.ResponseWriter, r *http.Request) {
	d, err := s.db.IncidentDetail(r.PathValue("id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeIncidentsError(w, http.StatusNotFound, err.Error())
	case err != nil:
		s.log.Error("incident detail", "id", r.PathValue("id"), "err", err)
		writeIncidentsError(w, http.StatusInternalServerError, err.Error())
	default:
		writeIncidentsJSON(w, http.StatusOK, d)
	}
}

// incidentsError is the body of every refusal: {"error": "..."}.
type incidentsError struct {
	Error string `json:"error"`
}

func writeIncidentsError(w http.ResponseWriter, status int, msg string) {
	writeIncidentsJSON(w, status, incidentsError{msg})
}

func writeIncidentsJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ParseIncidentFilter reads a list query: status (repeatable, or comma-separated), edge, and
// limit (default DefaultIncidentLimit, 0 for all). Unknown parameters are refused so a typo
// does not silently widen the list.
func ParseIncidentFilter(q url.Values) (store.IncidentFilter, error) {
	f := store.IncidentFilter{Limit: DefaultIncidentLimit}
	for key, vals := range q {
		switch key {
		case "status":
			for _, v := range vals {
				for name := range strings.SplitSeq(v, ",") {
					st, err := store.ParseStatus(name)
					if err != nil {
						return store.IncidentFilter{}, err
					}
					if !slices.Contains(f.Statuses, st) {
						f.Statuses = append(f.Statuses, st)
					}
				}
			}
		case "edge":
			if len(vals) != 1 {
				return store.IncidentFilter{}, errors.New("edge given more than once")
			}
			f.Edge = vals[0]
		case "limit":
			if len(vals) != 1 {
				return store.IncidentFilter{}, fmt.Errorf("limit must be one number, 0 or more: %q", strings.Join(vals, ","))
			}
			n, err := strconv.Atoi(vals[0])
			if err != nil || n < 0 {
				return store.IncidentFilter{}, fmt.Errorf("limit must be one number, 0 or more: %q", vals[0])
			}
			f.Limit = n
		default:
			return store.IncidentFilter{}, fmt.Errorf("unknown parameter %q (status, edge, limit)", key)
		}
	}
	slices.Sort(f.Statuses) // map order must not show in the filter
	return f, nil
}

// IncidentQuery is the list query that ParseIncidentFilter reads back as f.
func IncidentQuery(f store.IncidentFilter) url.Values {
	q := url.Values{"limit": {strconv.Itoa(f.Limit)}}
	for _, st := range f.Statuses {
		q.Add("status", string(st))
	}
	if f.Edge != "" {
		q.Set("edge", f.Edge)
	}
	return q
}

// IncidentsClient reads incidents from a running bot's HTTP listener.
type IncidentsClient struct {
	base string
	http *http.Client
}

// NewIncidentsClient asks the bot listening on listen (slack.listen, host:port). A wildcard
// host (0.0.0.0, [::] or none) is asked on 127.0.0.1. Each request ends after timeout.
func NewIncidentsClient(listen string, timeout time.Duration) (*IncidentsClient, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("slack.listen %q: %w", listen, err)
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return &IncidentsClient{
		base: "http://" + net.JoinHostPort(host, port),
		http: &http.Client{
			Timeout: timeout,
			// No proxy: the bot refuses proxied queries. No keep-alive: one query per command.
			Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		},
	}, nil
}

// URL is the bot's base URL, e.g. http://127.0.0.1:8080.
func (c *IncidentsClient) URL() string { return c.base }

// Incidents lists the incidents f selects, newest first.
func (c *IncidentsClient) Incidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error) {
	var list []store.Incident
	err := c.get(ctx, IncidentsPath+"?"+IncidentQuery(f).Encode(), &list)
	return list, err
}

// IncidentDetail reads one incident with its timeline and artifacts. When the bot has no such
// incident the error wraps store.ErrNotFound and reads as the store's own.
func (c *IncidentsClient) IncidentDetail(ctx context.Context, id string) (store.IncidentDetail, error) {
	var d store.IncidentDetail
	err := c.get(ctx, IncidentsPath+"/"+url.PathEscape(id), &d)
	return d, err
}

// BotError is an answer from the bot other than 200.
type BotError struct {
	Status  int
	Message string // the bot's own words
}

func (e *BotError) Error() string {
	if e.Status == http.StatusNotFound {
		return e.Message // the store's "incident INC-7: not found"
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
}

// Unwrap makes a 404 errors.Is store.ErrNotFound.
func (e *BotError) Unwrap() error {
	if e.Status == http.StatusNotFound {
		return store.ErrNotFound
	}
	return nil
}

func (c *IncidentsClient) get(ctx context.Context, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // the URL is said once, by the caller
		}
		return err
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, maxIncidentsAnswer)
	if resp.StatusCode != http.StatusOK {
		var e incidentsError
		if json.NewDecoder(body).Decode(&e) != nil || e.Error == "" {
			// Something else answers there, or a bot without this endpoint.
			return fmt.Errorf("HTTP %d without the bot's error document", resp.StatusCode)
		}
		return &BotError{Status: resp.StatusCode, Message: e.Error}
	}
	if err := json.NewDecoder(body).Decode(into); err != nil {
		return fmt.Errorf("the answer is not the bot's JSON: %w", err)
	}
	return nil
}
