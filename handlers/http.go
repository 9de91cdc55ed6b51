package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/slack-go/slack"
)

// Handler serves POST /slack/commands, POST /slack/interactive, GET /healthz and GET /metrics,
// and to loopback clients only the read-only GET /incidents and GET /incidents/{id} (incidents.go).
// Slack requests are refused before anything else unless their v0 signature is valid and
// recent (401) and their body within the limit (413).
//
// A signed request is also refused when its body is not a form (415), when the same
// signature was accepted within the signature's validity (409: a replay), and when its
// response_url is not Slack's (400). Slack's own retries (X-Slack-Retry-Num) are answered 200
// and not acted on again. A panic in one request ends that request alone with a 500.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	replays := newReplayGuard(maxRemembered)
	mux.Handle("POST /slack/commands", s.verified(replays, s.serveCommand))
	mux.Handle("POST /slack/interactive", s.verified(replays, s.serveInteractive))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.Handle("GET /metrics", metricsHandler(s.registry))
	mux.Handle("GET "+IncidentsPath, s.localOnly(s.serveIncidentList))
	mux.Handle("GET "+IncidentsPath+"/{id}", s.localOnly(s.serveIncidentDetail))
	mux.Handle("GET "+HealthPath, s.localOnly(s.serveHealth))
	mux.Handle("GET "+HealthChartPath, s.localOnly(s.serveHealthChart))
	mux.Handle("GET "+BackupPath, s.localOnly(s.serveBackup))
	return s.recovered(mux)
}

// recovered answers 500 to a request whose handler panicked, after logging the panic; the
// server and every other request go on.
func (s *Server) recovered(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler { // a deliberate abort: net/http ends the response quietly
				panic(p)
			}
			s.log.Error("request handler panicked", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			s.metrics.commands.WithLabelValues("http", "panic").Inc()
			http.Error(w, "internal error", http.StatusInternalServerError)
		}()
		next.ServeHTTP(w, r)
	})
}

// formType is the only body Slack sends to the command and interactivity endpoints.
const formType = "application/x-www-form-urlencoded"

type receivedKey struct{}

// verified reads the body within the size limit and checks Slack's signature over it
// (HMAC-SHA256 of "v0:ts:body", constant-time, timestamp within 5 minutes) before next runs.
func (s *Server) verified(replays *replayGuard, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received := time.Now()
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != formType {
			s.metrics.commands.WithLabelValues("http", "unsupported_type").Inc()
			http.Error(w, "want "+formType, http.StatusUnsupportedMediaType)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				s.metrics.commands.WithLabelValues("http", "too_large").Inc()
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		sv, err := slack.NewSecretsVerifier(r.Header, s.secret)
		if err == nil {
			_, _ = sv.Write(body)
			err = sv.Ensure()
		}
		if err != nil {
			s.metrics.commands.WithLabelValues("http", "unauthorized").Inc()
			s.log.Warn("refused unsigned or stale Slack request", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if n := r.Header.Get("X-Slack-Retry-Num"); n != "" {
			// The first delivery was acted on; acting on its retry would do it all twice.
			s.metrics.commands.WithLabelValues("http", "retry").Inc()
			s.log.Info("Slack retry answered without acting again", "path", r.URL.Path, "retry", n, "reason", r.Header.Get("X-Slack-Retry-Reason"))
			w.WriteHeader(http.StatusOK)
			return
		}
		switch replays.admit(r.Header.Get("X-Slack-Signature"), received) {
		case replaySeen:
			s.metrics.commands.WithLabelValues("http", "replay").Inc()
			s.log.Warn("refused a replayed Slack request", "path", r.URL.Path, "remote", r.RemoteAddr)
			http.Error(w, "request already received", http.StatusConflict)
			return
		case replayFull:
			s.metrics.commands.WithLabelValues("http", "replay_full").Inc()
			s.log.Error("too many Slack requests within the replay window; refusing", "path", r.URL.Path)
			http.Error(w, "too many requests", http.StatusTooManyRequests)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next(w, r.WithContext(context.WithValue(r.Context(), receivedKey{}, received)))
	})
}

func (s *Server) observeAck(r *http.Request) {
	if t, ok := r.Context().Value(receivedKey{}).(time.Time); ok {
		s.metrics.ackLatency.Observe(time.Since(t).Seconds())
	}
}

func (s *Server) serveCommand(w http.ResponseWriter, r *http.Request) {
	sc, err := slack.SlashCommandParse(r)
	if err != nil {
		http.Error(w, "malformed slash command", http.StatusBadRequest)
		return
	}
	if !s.slackURL(sc.ResponseURL) {
		s.refuseResponseURL(w, sc.UserID, sc.ChannelID, "/ipsec", sc.Text, sc.ResponseURL)
		return
	}
	reply := s.handleInvocation(r.Context(), Invocation{
		Command: sc.Command, Text: sc.Text, User: sc.UserID, Channel: sc.ChannelID,
		ResponseURL: sc.ResponseURL, TriggerID: sc.TriggerID,
	})
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(reply.body())
	s.observeAck(r)
}

func (s *Server) serveInteractive(w http.ResponseWriter, r *http.Request) {
	cb, err := slack.InteractionCallbackParse(r)
	if err != nil {
		http.Error(w, "malformed interaction payload", http.StatusBadRequest)
		return
	}
	if !s.slackURL(cb.ResponseURL) {
		s.refuseResponseURL(w, cb.User.ID, cb.Channel.ID, "interaction "+string(cb.Type), "", cb.ResponseURL)
		return
	}
	s.dispatchActions(cb)
	w.WriteHeader(http.StatusOK)
	s.observeAck(r)
}

// dispatchActions starts the work of each button press after the acknowledgement.
func (s *Server) dispatchActions(cb slack.InteractionCallback) {
	actions := actionsFromCallback(cb)
	if len(actions) == 0 {
		s.record(cb.User.ID, cb.Channel.ID, "interaction "+string(cb.Type), "", outcomeUsage, "not handled")
	}
	for _, a := range actions {
		failed := s.unitFailed(a.User, a.Channel, "button "+a.ActionID, a.Value, a.ResponseURL)
		if !s.work.Go(func(ctx context.Context) { s.handleAction(ctx, a) }, failed) {
			s.record(a.User, a.Channel, "button "+a.ActionID, a.Value, outcomeBusy, "")
		}
	}
}
