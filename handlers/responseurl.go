package handlers

import (
	"net/http"
	"net/url"
	"strings"
)

// slackHooksHost is where Slack's response_urls point.
const slackHooksHost = "hooks.slack.com"

// slackURL reports whether raw may be posted to as a response_url: https on Slack's hooks
// host, or the host of slack.api_url when that is set (a proxy, a test server). Anything else
// would let whoever holds the signing secret make the bot post incident data anywhere. An
// empty URL is allowed: there is then nothing to post to.
func (s *Server) slackURL(raw string) bool {
	if raw == "" {
		return true
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		return false
	}
	if u.Scheme == "https" && strings.EqualFold(u.Host, slackHooksHost) {
		return true
	}
	if s.cfg.Slack.APIURL == "" {
		return false
	}
	api, err := url.Parse(s.cfg.Slack.APIURL)
	return err == nil && api.Host != "" && strings.EqualFold(u.Host, api.Host) && u.Scheme == api.Scheme
}

// refuseResponseURL answers 400 to a request whose response_url is not Slack's, and audits it.
func (s *Server) refuseResponseURL(w http.ResponseWriter, user, channel, command, args, raw string) {
	host := raw
	if u, err := url.Parse(raw); err == nil {
		host = u.Host
	}
	s.record(user, channel, command, args, outcomeRefused, "response_url host "+host)
	s.log.Warn("refused a response_url that is not Slack's", "host", host, "user", user)
	http.Error(w, "response_url is not a Slack URL", http.StatusBadRequest)
}
