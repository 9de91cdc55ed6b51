package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// NewSlackClient builds the Web API client: our own timeout (slack-go's default client has
// none), the API URL when set (a proxy or a test server), and the app-level token for
// Socket Mode when given. Retries are ours (slackAPI), not slack-go's.
func NewSlackClient(botToken, appToken, apiURL string, timeout time.Duration) *slack.Client {
	opts := []slack.Option{slack.OptionHTTPClient(&http.Client{Timeout: timeout})}
	if apiURL != "" {
		if !strings.HasSuffix(apiURL, "/") {
			apiURL += "/"
		}
		opts = append(opts, slack.OptionAPIURL(apiURL))
	}
	if appToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(appToken))
	}
	return slack.New(botToken, opts...)
}

// RetryPolicy bounds how Slack calls are retried.
type RetryPolicy struct {
	MaxAttempts   int           // including the first
	MaxRetryAfter time.Duration // a 429 asking to wait longer than this is not retried
	Backoff       time.Duration // first wait for 5xx and network errors; doubles
}

// DefaultRetryPolicy: 4 attempts, Retry-After honoured up to 30 s, 500 ms backoff otherwise.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 4, MaxRetryAfter: 30 * time.Second, Backoff: 500 * time.Millisecond}

// slackAPI is the one place Slack calls go through: retries, error metrics, logging.
type slackAPI struct {
	client  *slack.Client
	http    *http.Client // response_url posts
	retry   RetryPolicy
	metrics *metrics
	log     *slog.Logger
}

// transientSlackErrors are Slack error codes worth another attempt.
var transientSlackErrors = map[string]bool{
	"internal_error": true, "fatal_error": true, "service_unavailable": true,
	"request_timeout": true, "ratelimited": true,
}

// channelErrors mean the bot cannot post where the command came from; the command's
// response_url still works there.
var channelErrors = map[string]bool{
	"not_in_channel": true, "channel_not_found": true, "is_archived": true,
	"restricted_action": true, "cannot_dm_bot": true, "access_denied": true,
}

// isChannelError reports whether err says the bot cannot post in that channel.
func isChannelError(err error) bool {
	if e, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		return channelErrors[e.Err]
	}
	return false
}

// retryWait says whether err is worth retrying and how long to wait first.
func (a *slackAPI) retryWait(err error, attempt int) (time.Duration, bool) {
	backoff := a.retry.Backoff << (attempt - 1)
	if e, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		return e.RetryAfter, e.RetryAfter <= a.retry.MaxRetryAfter
	}
	if e, ok := errors.AsType[slack.StatusCodeError](err); ok {
		return backoff, e.Code == http.StatusTooManyRequests || e.Code >= 500
	}
	if e, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		return backoff, transientSlackErrors[e.Err]
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return backoff, true
	}
	return 0, false
}

// call runs fn until it succeeds, fails for good, or the policy's attempts are used up.
func (a *slackAPI) call(ctx context.Context, method string, fn func(ctx context.Context) error) error {
	return a.callOnce(ctx, method, fn, nil)
}

// callOnce is call for a method whose repeat would make a second thing (a message, a
// bookmark): before an attempt that follows one Slack may have acted on, found looks for
// what that attempt made, and a true ends the call without acting again.
func (a *slackAPI) callOnce(ctx context.Context, method string, fn func(ctx context.Context) error, found func(ctx context.Context) (bool, error)) error {
	var last error
	for attempt := 1; ; attempt++ {
		if found != nil && last != nil && mayHaveActed(last) {
			ok, err := found(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w (looking for what the failed attempt made: %v)", method, last, err)
			}
			if ok {
				return nil
			}
		}
		err := fn(ctx)
		if err == nil {
			return nil
		}
		last = err
		a.metrics.slackErrors.WithLabelValues(method).Inc()
		wait, retry := a.retryWait(err, attempt)
		if !retry || attempt >= a.retry.MaxAttempts || ctx.Err() != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		a.log.Warn("slack call failed, retrying", "method", method, "attempt", attempt, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w", method, err)
		case <-t.C:
		}
	}
}

// mayHaveActed reports whether Slack may have done what a failed call asked: every failure
// but a rate limit, which Slack answers before acting.
func mayHaveActed(err error) bool {
	if _, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		return false
	}
	if e, ok := errors.AsType[slack.StatusCodeError](err); ok && e.Code == http.StatusTooManyRequests {
		return false
	}
	return slackErr(err) != "ratelimited"
}

// post sends a message (to a thread when threadTS is set) and returns its timestamp. Every
// text leaving the bot is cut to Slack's limits here (blocks are cut where they are built).
func (a *slackAPI) post(ctx context.Context, channel, threadTS, text string, blocks []slack.Block) (string, error) {
	return a.postOnce(ctx, channel, threadTS, text, blocks, nil, nil)
}

// postOnce is post with metadata, when meta is set, and found (see callOnce) giving the
// timestamp of the message an earlier attempt posted, "" when there is none.
func (a *slackAPI) postOnce(ctx context.Context, channel, threadTS, text string, blocks []slack.Block,
	meta *slack.SlackMetadata, found func(ctx context.Context) (string, error)) (string, error) {
	opts := []slack.MsgOption{slack.MsgOptionText(truncate(text, maxMessageText), false)}
	if len(blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	if meta != nil {
		opts = append(opts, slack.MsgOptionMetadata(*meta))
	}
	var ts string
	var check func(ctx context.Context) (bool, error)
	if found != nil {
		check = func(ctx context.Context) (bool, error) {
			var err error
			ts, err = found(ctx)
			return ts != "", err
		}
	}
	err := a.callOnce(ctx, "chat.postMessage", func(ctx context.Context) error {
		var err error
		_, ts, err = a.client.PostMessageContext(ctx, channel, opts...)
		return err
	}, check)
	return ts, err
}

// update replaces a message's text and blocks.
func (a *slackAPI) update(ctx context.Context, channel, ts, text string, blocks []slack.Block) error {
	opts := []slack.MsgOption{slack.MsgOptionText(truncate(text, maxMessageText), false), slack.MsgOptionBlocks(blocks...)}
	return a.call(ctx, "chat.update", func(ctx context.Context) error {
		_, _, _, err := a.client.UpdateMessageContext(ctx, channel, ts, opts...)
		return err
	})
}

// respond posts to a command's or action's response_url.
func (a *slackAPI) respond(ctx context.Context, url string, msg *slack.WebhookMessage) error {
	if url == "" {
		return errors.New("response_url: none given")
	}
	msg.Text = truncate(msg.Text, maxMessageText)
	return a.call(ctx, "response_url", func(ctx context.Context) error {
		return slack.PostWebhookCustomHTTPContext(ctx, url, a.http, msg)
	})
}

// upload sends one file into a channel's thread with the files.getUploadURLExternal /
// upload / files.completeUploadExternal flow. The file is reopened for every attempt
// because the upload step streams it.
// comment, when not empty, is posted with the file (Slack's initial comment).
func (a *slackAPI) upload(ctx context.Context, channel, threadTS, path, name, title, comment string) error {
	return a.call(ctx, "files.upload", func(ctx context.Context) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if st.Size() == 0 {
			return fmt.Errorf("%s is empty", name)
		}
		_, err = a.client.UploadFileContext(ctx, slack.UploadFileParameters{
			Reader: f, FileSize: int(st.Size()), Filename: name, Title: title, InitialComment: comment,
			Channel: channel, ThreadTimestamp: threadTS,
		})
		return err
	})
}

// groupMembers lists a user group's members (usergroups.users.list).
func (a *slackAPI) groupMembers(ctx context.Context, group string) ([]string, error) {
	var users []string
	err := a.call(ctx, "usergroups.users.list", func(ctx context.Context) error {
		var err error
		users, err = a.client.GetUserGroupMembersContext(ctx, group)
		return err
	})
	return users, err
}
