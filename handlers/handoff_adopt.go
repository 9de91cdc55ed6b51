package handlers

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"ipsecbot/store"
)

// A step that may already have happened looks for what it made before acting again, and
// adopts it: the first planned step of an op a start resumes (the process before may have
// been killed after Slack acted and before the store heard), and any step whose call is
// retried after a failure Slack may have acted on (a timeout, a 5xx). Only then: the
// lookups are rate limited methods (docs/incident-practice.md, "Exactly once after a kill").
//
//   - a message carries metadata naming the incident, the op and the step; one posted by
//     the bot since a little before the op began, in the channel (conversations.history) or
//     the thread (conversations.replies), is the step's;
//   - a channel whose name conversations.create says is taken is the step's when the bot
//     created it, no earlier than a little before the op began, and no other incident
//     records it; otherwise the next name is tried, as for anyone else's channel;
//   - a bookmark with the step's title and link in the channel is the step's.
//
// A lookup that fails is logged and the step acts as it would have: a second message is
// better than none.

// stepEvent is the event_type of the metadata every step message carries.
const stepEvent = "ipsecbot_incident_step"

// lookBack is how long before its op began a step's Slack objects are looked for: Slack's
// clock and the bot's differ, and the op's time is taken before its first call.
const lookBack = 5 * time.Minute

// maxPages bounds the pages one lookup reads.
const maxPages = 10

// identity is who the bot is in Slack (auth.test), asked once.
type identity struct {
	mu        sync.Mutex
	user, bot string
}

// self returns the bot's user ID and bot ID.
func (s *Server) self(ctx context.Context) (user, bot string, err error) {
	s.me.mu.Lock()
	defer s.me.mu.Unlock()
	if s.me.user != "" {
		return s.me.user, s.me.bot, nil
	}
	var r *slack.AuthTestResponse
	err = s.api.call(ctx, "auth.test", func(ctx context.Context) error {
		var err error
		r, err = s.api.client.AuthTestContext(ctx)
		return err
	})
	if err != nil {
		return "", "", err
	}
	s.me.user, s.me.bot = r.UserID, r.BotID
	return r.UserID, r.BotID, nil
}

// since is the Slack timestamp lookups start from.
func (x *opRun) since() time.Time { return x.op.At.Add(-lookBack) }

func slackTS(t time.Time) string { return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000) }

// look runs a lookup; a failure is logged and reads as nothing found.
func (x *opRun) look(ctx context.Context, what string, find func(ctx context.Context) (string, error)) string {
	id, err := find(ctx)
	if err != nil {
		if ctx.Err() == nil {
			x.s.log.Warn("incident channel step: looking for what it made failed; acting again", "incident", x.inc.ID,
				"op", x.op.Seq, "step", x.step, "looked_for", what, "err", err)
		}
		return ""
	}
	if id != "" {
		x.s.log.Info("incident channel step: adopted what Slack already held", "incident", x.inc.ID, "op", x.op.Seq, "step", x.step,
			"found", what, "id", id)
	}
	return id
}

// once runs act unless the step may already have happened and find finds what it made.
func (x *opRun) once(ctx context.Context, what string, find func(ctx context.Context) (string, error), act func(found func(ctx context.Context) (string, error)) (string, error)) (string, error) {
	look := func(ctx context.Context) (string, error) { return x.look(ctx, what, find), nil }
	if x.rerun {
		if id, _ := look(ctx); id != "" {
			return id, nil
		}
	}
	return act(look)
}

// --- messages ---

// metadata marks a step's message as the step's.
func (x *opRun) metadata() *slack.SlackMetadata {
	return &slack.SlackMetadata{EventType: stepEvent, EventPayload: map[string]any{"incident": x.inc.ID, "op": x.op.Seq, "step": x.step}}
}

// carries reports whether m carries x's step metadata.
func (x *opRun) carries(m slack.Message) bool {
	p := m.Metadata.EventPayload
	return m.Metadata.EventType == stepEvent && fmt.Sprint(p["incident"]) == x.inc.ID &&
		fmt.Sprint(p["op"]) == strconv.Itoa(x.op.Seq) && fmt.Sprint(p["step"]) == x.step
}

// postStep posts the step's message (in thread when set) once and returns its timestamp.
func (x *opRun) postStep(ctx context.Context, channel, thread, text string, blocks []slack.Block) (string, error) {
	return x.once(ctx, "message", func(ctx context.Context) (string, error) { return x.findMessage(ctx, channel, thread) },
		func(found func(ctx context.Context) (string, error)) (string, error) {
			return x.s.api.postOnce(ctx, channel, thread, text, blocks, x.metadata(), found)
		})
}

// findMessage is the timestamp of the step's message the bot posted in channel (in thread
// when set) since a little before the op began, "" when there is none.
func (x *opRun) findMessage(ctx context.Context, channel, thread string) (string, error) {
	user, bot, err := x.s.self(ctx)
	if err != nil {
		return "", err
	}
	oldest, cursor := slackTS(x.since()), ""
	for range maxPages {
		var msgs []slack.Message
		var more bool
		if thread == "" {
			err = x.s.api.call(ctx, "conversations.history", func(ctx context.Context) error {
				r, err := x.s.api.client.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
					ChannelID: channel, Cursor: cursor, Oldest: oldest, Limit: 200, IncludeAllMetadata: true})
				if err == nil {
					msgs, more, cursor = r.Messages, r.HasMore, r.ResponseMetaData.NextCursor
				}
				return err
			})
		} else {
			err = x.s.api.call(ctx, "conversations.replies", func(ctx context.Context) error {
				var err error
				msgs, more, cursor, err = x.s.api.client.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
					ChannelID: channel, Timestamp: thread, Cursor: cursor, Oldest: oldest, Limit: 200, IncludeAllMetadata: true})
				return err
			})
		}
		if err != nil {
			return "", err
		}
		for _, m := range msgs {
			if (m.User == user || bot != "" && m.BotID == bot) && x.carries(m) {
				return m.Timestamp, nil
			}
		}
		if !more || cursor == "" {
			return "", nil
		}
	}
	return "", nil
}

// --- channels ---

// channelList reads the workspace's public channels page by page, as far as a lookup needs.
type channelList struct {
	byName map[string]slack.Channel
	cursor string
	pages  int
	done   bool
}

// find returns the channel named name, reading more pages while it is not seen.
func (l *channelList) find(ctx context.Context, api *slackAPI, name string) (slack.Channel, bool, error) {
	for {
		if ch, ok := l.byName[name]; ok {
			return ch, true, nil
		}
		if l.done || l.pages >= maxPages {
			return slack.Channel{}, false, nil
		}
		var chs []slack.Channel
		err := api.call(ctx, "conversations.list", func(ctx context.Context) error {
			var err error
			chs, l.cursor, err = api.client.GetConversationsContext(ctx, &slack.GetConversationsParameters{
				Cursor: l.cursor, Limit: 1000, ExcludeArchived: true, Types: []string{"public_channel"}})
			return err
		})
		if err != nil {
			return slack.Channel{}, false, err
		}
		l.pages++
		l.done = l.cursor == ""
		if l.byName == nil {
			l.byName = map[string]slack.Channel{}
		}
		for _, ch := range chs {
			l.byName[ch.Name] = ch
		}
	}
}

// findChannel is the ID of the channel named name when it is the step's (see the top of
// this file), "" when it is someone else's.
func (x *opRun) findChannel(ctx context.Context, list *channelList, name string) (string, error) {
	ch, ok, err := list.find(ctx, x.s.api, name)
	if err != nil || !ok {
		return "", err
	}
	user, _, err := x.s.self(ctx)
	if err != nil {
		return "", err
	}
	if ch.Creator != user || ch.Created.Time().Before(x.since().Truncate(time.Second)) {
		return "", nil
	}
	other, err := x.s.channelOwner(ch.ID, x.inc.ID)
	if err != nil || other != "" {
		return "", err
	}
	return ch.ID, nil
}

// channelOwner is the incident other than except that records channel as its own, "" when
// none does.
func (s *Server) channelOwner(channel, except string) (string, error) {
	incs, err := s.db.Incidents(store.IncidentFilter{})
	if err != nil {
		return "", err
	}
	for _, inc := range incs {
		if inc.ID != except && inc.Handoff != nil && inc.Handoff.Channel == channel {
			return inc.ID, nil
		}
	}
	return "", nil
}

// --- bookmarks ---

// bookmark adds the step's bookmark to channel once and returns its ID.
func (x *opRun) bookmark(ctx context.Context, channel, title, link string) (string, error) {
	return x.once(ctx, "bookmark", func(ctx context.Context) (string, error) { return x.findBookmark(ctx, channel, title, link) },
		func(found func(ctx context.Context) (string, error)) (string, error) {
			var id string
			err := x.s.api.callOnce(ctx, "bookmarks.add", func(ctx context.Context) error {
				bm, err := x.s.api.client.AddBookmarkContext(ctx, channel, slack.AddBookmarkParameters{Title: title, Type: "link", Link: link})
				id = bm.ID
				return err
			}, func(ctx context.Context) (bool, error) {
				var err error
				id, err = found(ctx)
				return id != "", err
			})
			return id, err
		})
}

// findBookmark is the ID of channel's bookmark with title and link, "" when there is none.
func (x *opRun) findBookmark(ctx context.Context, channel, title, link string) (string, error) {
	var bms []slack.Bookmark
	err := x.s.api.call(ctx, "bookmarks.list", func(ctx context.Context) error {
		var err error
		bms, err = x.s.api.client.ListBookmarksContext(ctx, channel)
		return err
	})
	if err != nil {
		return "", err
	}
	for _, bm := range bms {
		if bm.Title == title && bm.Link == link {
			return bm.ID, nil
		}
	}
	return "", nil
}
