package handlers

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// fatalAuthErrors end Socket Mode instead of reconnecting: no retry can fix them.
var fatalAuthErrors = map[string]bool{
	"invalid_auth": true, "not_authed": true, "account_inactive": true,
	"token_revoked": true, "not_allowed_token_type": true, "missing_scope": true,
}

// RunSocketMode serves Slack over Socket Mode until ctx ends: every envelope is acknowledged
// first (a slash command's acknowledgement carries the same reply the HTTP endpoint would
// send), then routed to the same code as HTTP. Dropped connections are reopened with backoff;
// only an authentication failure ends it early. The Slack client needs the app-level token.
func (s *Server) RunSocketMode(ctx context.Context, opts ...socketmode.Option) error {
	client := socketmode.New(s.api.client, opts...)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.keepConnected(ctx, client) }()
	var envelopes sync.WaitGroup
	defer envelopes.Wait()
	for {
		select {
		case err := <-done:
			return err
		case evt := <-client.Events:
			envelopes.Add(1)
			go func() {
				defer envelopes.Done()
				// A panic ends this envelope alone (wg.Go would re-panic it: the process).
				_ = contain(s.log, func() { s.socketEvent(ctx, client, evt) })
			}()
		}
	}
}

// keepConnected runs the client, reconnecting after failures with capped backoff.
func (s *Server) keepConnected(ctx context.Context, client *socketmode.Client) error {
	backoff := time.Second
	for {
		err := client.RunContext(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if e, ok := errors.AsType[slack.SlackErrorResponse](err); ok && fatalAuthErrors[e.Err] {
			return err
		}
		s.log.Warn("socket mode connection lost; reconnecting", "err", err, "after", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (s *Server) socketEvent(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		received := time.Now()
		sc, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			s.ack(client, evt)
			return
		}
		if !s.slackURL(sc.ResponseURL) {
			s.record(sc.UserID, sc.ChannelID, "/ipsec", sc.Text, outcomeRefused, "response_url not Slack's")
			if err := client.Ack(*evt.Request, Reply{Text: ":no_entry: This command's response_url is not a Slack URL; it was not run."}.body()); err != nil {
				s.log.Error("socket mode ack failed", "err", err)
			}
			return
		}
		reply := s.handleInvocation(ctx, Invocation{
			Command: sc.Command, Text: sc.Text, User: sc.UserID, Channel: sc.ChannelID,
			ResponseURL: sc.ResponseURL, TriggerID: sc.TriggerID,
		})
		if err := client.Ack(*evt.Request, reply.body()); err != nil {
			s.log.Error("socket mode ack failed", "err", err)
		}
		s.metrics.ackLatency.Observe(time.Since(received).Seconds())
	case socketmode.EventTypeInteractive:
		s.ack(client, evt)
		if cb, ok := evt.Data.(slack.InteractionCallback); ok {
			if !s.slackURL(cb.ResponseURL) {
				s.record(cb.User.ID, cb.Channel.ID, "interaction "+string(cb.Type), "", outcomeRefused, "response_url not Slack's")
				return
			}
			s.dispatchActions(cb)
		}
	case socketmode.EventTypeInvalidAuth:
		s.log.Error("socket mode: invalid auth")
	default:
		s.ack(client, evt)
	}
}

// ack acknowledges an envelope that has a request (hello and connection events have none).
func (s *Server) ack(client *socketmode.Client, evt socketmode.Event) {
	if evt.Request == nil || evt.Request.EnvelopeID == "" {
		return
	}
	if err := client.Ack(*evt.Request); err != nil {
		s.log.Error("socket mode ack failed", "err", err)
	}
}
