package handlers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"ipsecbot/handlers/slacktestx"
)

// Ensure which Slack errors are retried, and after how long.
func TestRetryWait(t *testing.T) {
	a := &slackAPI{retry: RetryPolicy{MaxAttempts: 4, MaxRetryAfter: 30 * time.Second, Backoff: 100 * time.Millisecond}}
	cases := map[string]struct {
		err   error
		wait  time.Duration
		retry bool
	}{
		"rate_limited":          {&slack.RateLimitedError{RetryAfter: 3 * time.Second}, 3 * time.Second, true},
		"rate_limited_too_long": {&slack.RateLimitedError{RetryAfter: time.Hour}, time.Hour, false},
		"wrapped_rate_limited":  {fmt.Errorf("UploadToURL: %w", &slack.RateLimitedError{RetryAfter: time.Second}), time.Second, true},
		"server_error":          {slack.StatusCodeError{Code: 503}, 200 * time.Millisecond, true},
		"429_without_header":    {slack.StatusCodeError{Code: 429}, 200 * time.Millisecond, true},
		"not_found":             {slack.StatusCodeError{Code: 404}, 0, false},
		"internal_error":        {slack.SlackErrorResponse{Err: "internal_error"}, 200 * time.Millisecond, true},
		"not_in_channel":        {slack.SlackErrorResponse{Err: "not_in_channel"}, 0, false},
		"network":               {&net.OpError{Op: "dial", Err: errors.New("connection refused")}, 200 * time.Millisecond, true},
		"local_file_unreadable": {errors.New("open capture.pcap: permission denied"), 0, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			wait, retry := a.retryWait(tc.err, 2)
			if retry != tc.retry || (retry && wait != tc.wait) {
				t.Errorf("retryWait = %v, %v; want %v, %v", wait, retry, tc.wait, tc.retry)
			}
		})
	}
}

// Ensure Socket Mode gives up, with the error, when the app token is refused: no retry can fix it.
func TestSocketMode_InvalidAuthEnds(t *testing.T) {
	checkLeaks(t)
	fake := slacktestx.New(t)
	fake.Fail("apps.connections.open", slacktestx.Fault{Error: "invalid_auth"})
	b := newTestBot(t, t.TempDir(), &fakeEngine{}, fake)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	err := b.srv.RunSocketMode(ctx, socketmode.OptionPingInterval(time.Second))
	if e, ok := errors.AsType[slack.SlackErrorResponse](err); !ok || e.Err != "invalid_auth" {
		t.Fatalf("RunSocketMode = %v, want invalid_auth", err)
	}
	if n := len(fake.Calls("apps.connections.open")); n != 1 {
		t.Errorf("%d connection attempts, want 1", n)
	}
}
