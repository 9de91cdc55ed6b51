package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/diag/fault"
	"ipsecbot/store"
)

// Reply is the immediate answer to a slash command: the HTTP response body, or the Socket
// Mode acknowledgement's payload.
type Reply struct {
	Text      string
	Blocks    []slack.Block
	InChannel bool
}

// replyBody is Reply in Slack's wire shape.
type replyBody struct {
	ResponseType string        `json:"response_type"`
	Text         string        `json:"text"`
	Blocks       []slack.Block `json:"blocks,omitempty"`
}

func (r Reply) body() replyBody {
	t := slack.ResponseTypeEphemeral
	if r.InChannel {
		t = slack.ResponseTypeInChannel
	}
	return replyBody{ResponseType: t, Text: truncate(r.Text, maxMessageText), Blocks: r.Blocks}
}

// Audit outcomes and metric labels.
const (
	outcomeOK          = "ok"
	outcomeJoined      = "joined"
	outcomeDenied      = "denied"
	outcomeUsage       = "usage"
	outcomeUnknownEdge = "unknown_edge"
	outcomeNotFound    = "not_found"
	outcomeError       = "error"
	outcomeBusy        = "shutting_down"
	outcomeRefused     = "refused"
)

// ackBudget bounds what an acknowledgement may wait for (user group lookups, the incident
// commit), well inside Slack's 3 seconds.
const ackBudget = 2 * time.Second

// handleInvocation answers a slash command within Slack's deadline: it parses, checks access,
// audits, and starts any slow work in the background.
func (s *Server) handleInvocation(ctx context.Context, inv Invocation) Reply {
	ctx, cancel := context.WithTimeout(ctx, ackBudget)
	defer cancel()
	cmd, err := parseCommand(inv.Text)
	if err != nil {
		s.record(inv.User, inv.Channel, "/ipsec", inv.Text, outcomeUsage, "")
		return s.usageReply(ctx, inv.User, inv.Channel, err.Error())
	}
	name := "/ipsec " + cmd.Name
	switch cmd.Name {
	case "help":
		s.record(inv.User, inv.Channel, name, inv.Text, outcomeOK, "")
		return s.usageReply(ctx, inv.User, inv.Channel, "")
	case "diagnose":
		return s.diagnoseCommand(ctx, inv, cmd)
	case "escalate":
		return s.escalateCommand(ctx, inv, cmd)
	case "commander", "resolve":
		return s.handoffCommand(ctx, inv, cmd)
	}
	// The read-only commands need any one permission.
	if !s.access.any(ctx, inv.User, inv.Channel) {
		s.record(inv.User, inv.Channel, name, inv.Text, outcomeDenied, "any")
		return Reply{Text: fmt.Sprintf(":no_entry: `%s` needs one of the permissions diagnose, capture, escalate or resolve, and you (%s) have none here.", name, inv.User)}
	}
	switch cmd.Name {
	case "status":
		return s.statusCommand(ctx, inv, cmd)
	case "incident":
		return s.briefCommand(inv, cmd)
	case "update":
		return s.handoffCommand(ctx, inv, cmd)
	default:
		return s.incidentsCommand(inv)
	}
}

// record writes the audit record and counts the command.
func (s *Server) record(user, channel, command, args, outcome, detail string) {
	out := outcome
	if detail != "" {
		out += ": " + detail
	}
	s.audits.Add(store.AuditRecord{Time: time.Now().UTC(), User: user, Channel: channel, Command: command, Args: args, Outcome: out})
	s.metrics.commands.WithLabelValues(command, outcome).Inc()
}

// usageReply lists what the caller may run, after msg when the command was malformed.
func (s *Server) usageReply(ctx context.Context, user, channel, msg string) Reply {
	var b strings.Builder
	if msg != "" {
		fmt.Fprintf(&b, ":warning: %s\n\n", escape(msg))
	}
	anyPerm := s.access.any(ctx, user, channel)
	n := 0
	for _, u := range usages {
		if u.name != "help" && (u.needs == "" && !anyPerm || u.needs != "" && !s.access.allowed(ctx, u.needs, user, channel)) {
			continue
		}
		fmt.Fprintf(&b, "`%s` — %s\n", u.syntax, u.does)
		n++
	}
	if n <= 1 {
		fmt.Fprintf(&b, "You have no permissions here yet. Ask an administrator to add your user ID (%s) to the bot's access list.\n", user)
	} else if !s.access.allowed(ctx, PermCapture, user, channel) && s.access.allowed(ctx, PermDiagnose, user, channel) {
		b.WriteString("(`capture SECONDS` needs the capture permission, which you do not have.)\n")
	}
	return Reply{Text: b.String()}
}

func (s *Server) unknownEdgeReply(name string) Reply {
	names := s.cfg.EdgeNames()
	msg := fmt.Sprintf(":warning: There is no edge %q in the inventory.", escape(name))
	if c := closestNames(name, names); len(c) > 0 {
		msg += " Did you mean " + quoteList(c) + "?"
	} else {
		msg += " Known edges: " + quoteList(names) + "."
	}
	return Reply{Text: msg}
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "`" + escape(n) + "`"
	}
	return strings.Join(q, ", ")
}

// maxCapture is the longest capture window an edge allows.
func maxCapture(e *config.Edge) int {
	return int(e.Capture.TimeLimit() / time.Second)
}

func (s *Server) denied(user, channel, command, args string, p Permission) Reply {
	s.record(user, channel, command, args, outcomeDenied, string(p))
	return Reply{Text: fmt.Sprintf(":no_entry: You (%s) do not have the *%s* permission here, which `%s` needs. Ask an administrator to add you to `access.%s`.", user, p, command, p)}
}

func (s *Server) diagnoseCommand(ctx context.Context, inv Invocation, cmd Command) Reply {
	const name = "/ipsec diagnose"
	if !s.access.allowed(ctx, PermDiagnose, inv.User, inv.Channel) {
		return s.denied(inv.User, inv.Channel, name, inv.Text, PermDiagnose)
	}
	if cmd.CaptureSeconds > 0 && !s.access.allowed(ctx, PermCapture, inv.User, inv.Channel) {
		return s.denied(inv.User, inv.Channel, name, inv.Text, PermCapture)
	}
	edge, ok := s.cfg.Edge(cmd.Edge)
	if !ok {
		s.record(inv.User, inv.Channel, name, inv.Text, outcomeUnknownEdge, "")
		return s.unknownEdgeReply(cmd.Edge)
	}
	if cmd.CaptureSeconds > maxCapture(edge) {
		s.record(inv.User, inv.Channel, name, inv.Text, outcomeUsage, "capture too long")
		return Reply{Text: fmt.Sprintf(":warning: %s allows captures of at most %d seconds.", edge.Name, maxCapture(edge))}
	}
	r, joined, err := s.startDiagnosisFor(edge.Name, cmd.CaptureSeconds, cmd.DataPath, inv.User, inv.Channel, inv.ResponseURL)
	return s.startedReply(inv.User, inv.Channel, name, inv.Text, r, joined, err)
}

// startedReply is the acknowledgement of a diagnosis started (or joined).
func (s *Server) startedReply(user, channel, command, args string, r *run, joined bool, err error) Reply {
	switch {
	case errors.Is(err, errShuttingDown):
		s.record(user, channel, command, args, outcomeBusy, "")
		return Reply{Text: ":hourglass: The bot is restarting; try again in a minute."}
	case err != nil:
		s.record(user, channel, command, args, outcomeError, err.Error())
		s.log.Error("diagnosis not started", "edge", r.edge, "err", err)
		return Reply{Text: ":x: The diagnosis could not be started. " + escape(fault.Sentence(err))}
	case joined:
		s.record(user, channel, command, args, outcomeJoined, r.incident)
		return Reply{Text: fmt.Sprintf(":hourglass_flowing_sand: %s is already being diagnosed as %s (requested by <@%s>); the verdict will be posted in its thread.", r.edge, r.incident, r.requester)}
	}
	s.record(user, channel, command, args, outcomeOK, r.incident)
	return Reply{Text: fmt.Sprintf(":mag: Diagnosing %s as %s. Progress and the verdict will be posted in this channel.", r.edge, r.incident)}
}

func (s *Server) statusCommand(ctx context.Context, inv Invocation, cmd Command) Reply {
	const name = "/ipsec status"
	edges := s.cfg.EdgeNames()
	if cmd.Edge != "" {
		if _, ok := s.cfg.Edge(cmd.Edge); !ok {
			s.record(inv.User, inv.Channel, name, inv.Text, outcomeUnknownEdge, "")
			return s.unknownEdgeReply(cmd.Edge)
		}
		edges = []string{cmd.Edge}
	}
	if s.status == nil {
		s.record(inv.User, inv.Channel, name, inv.Text, outcomeError, "no status source")
		return Reply{Text: "Tunnel status is not available in this bot."}
	}
	if !s.accept(inv, name, "", func(ctx context.Context) { s.postStatus(ctx, edges, inv.ResponseURL) }) {
		return Reply{Text: ":hourglass: The bot is restarting; try again in a minute."}
	}
	return Reply{Text: fmt.Sprintf("Reading tunnel status of %s from NSX Manager…", strings.Join(edges, ", "))}
}

// postStatus reads each edge's tunnels and answers through the response_url.
func (s *Server) postStatus(ctx context.Context, edges []string, responseURL string) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var b strings.Builder
	for _, edge := range edges {
		tunnels, err := s.status(ctx, edge)
		if err != nil {
			s.log.Warn("tunnel status unavailable", "edge", edge, "err", err)
			fmt.Fprintf(&b, ":x: *%s*: status unavailable. %s\n", escape(edge), escape(fault.Sentence(err)))
			continue
		}
		if len(tunnels) == 0 {
			fmt.Fprintf(&b, "*%s*: no IPsec tunnels\n", escape(edge))
		}
		for _, t := range tunnels {
			icon := ":large_green_circle:"
			if !strings.EqualFold(t.State, "up") {
				icon = ":red_circle:"
			}
			fmt.Fprintf(&b, "%s *%s* · %s · %s · %s", icon, escape(edge), escape(t.Site), escape(t.Tunnel), escape(t.State))
			if t.Detail != "" {
				fmt.Fprintf(&b, " — %s", escape(truncate(t.Detail, 200)))
			}
			b.WriteString("\n")
		}
	}
	msg := &slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, Text: b.String(),
		Blocks: &slack.Blocks{BlockSet: []slack.Block{section(tailLines(b.String(), maxSectionText))}}}
	if err := s.api.respond(ctx, responseURL, msg); err != nil {
		s.log.Error("status reply not posted", "err", err)
	}
}

// openStatuses are the statuses `/ipsec incidents` lists.
var openStatuses = []store.Status{store.StatusOpen, store.StatusDiagnosing, store.StatusEscalated, store.StatusInterrupted}

func (s *Server) incidentsCommand(inv Invocation) Reply {
	const name = "/ipsec incidents"
	incs, err := s.db.Incidents(store.IncidentFilter{Statuses: openStatuses, Limit: 20})
	if err != nil {
		s.record(inv.User, inv.Channel, name, inv.Text, outcomeError, err.Error())
		s.log.Error(name+" failed", "err", err)
		return Reply{Text: ":x: " + escape(fault.Sentence(err))}
	}
	s.record(inv.User, inv.Channel, name, inv.Text, outcomeOK, "")
	if len(incs) == 0 {
		return Reply{Text: "No open incidents."}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*Open incidents* (%d)", len(incs))
	for _, inc := range incs {
		fmt.Fprintf(&b, "\n• *%s* · `%s` · %s", inc.ID, escape(inc.Edge), inc.Status)
		if inc.Cause != "" {
			fmt.Fprintf(&b, " · `%s`", escape(inc.Cause))
		}
		fmt.Fprintf(&b, " · opened %s", diag.FormatTime(inc.Created))
	}
	return Reply{Text: b.String(), Blocks: []slack.Block{section(b.String())}}
}
