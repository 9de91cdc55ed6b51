package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/slack-go/slack"
)

// Handler serves POST /slack/commands, POST /slack/interactive, GET /healthz and GET /metrics,
// and to loopback clients only the read-only GET /incidents and GET /incidents/{id} (incidents.go).
// Slack requests are refused before anything else unless their v0 signature is valid and
// recent (401) and their body within the limit (413).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /slack/commands", s.verified(s.serveCommand))
	mux.Handle("POST /slack/interactive", s.verified(s.serveInteractive))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.Handle("GET /metrics", metricsHandler(s.registry))
	mux.Handle("GET "+IncidentsPath, s.localOnly(s.serveIncidentList))
	mux.Handle("GET "+IncidentsPath+"/{id}", s.localOnly(s.serveIncidentDetail))
	mux.Handle("GET "+HealthPath, s.localOnly(s.serveHealth))
	mux.Handle("GET "+HealthChartPath, s.localOnly(s.serveHealthChart))
	return mux
}

type receivedKey struct{}

// verified reads the body within the size limit and checks Slack's signature over it
// (HMAC-SHA256 of "v0:ts:body", constant-time, timestamp within 5 minutes) before next runs.
func (s *Server) verified(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received := time.Now()
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
		if !s.work.Go(func(ctx context.Context) { s.handleAction(ctx, a) }) {
			s.record(a.User, a.Channel, "button "+a.ActionID, a.Value, outcomeBusy, "")
		}
	}
}
