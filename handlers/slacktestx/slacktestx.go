// Package slacktestx extends slack-go's slacktest server with what the bot needs and slacktest
// lacks: chat.update, the three-step file upload flow, channels (create with name_taken,
// invite, topic, archive, list with their creator and creation time), message history and
// thread replies with the metadata posted, pins, bookmarks (add, list), permalinks, direct
// messages, users and user-group members, auth.test answering as the bot (BotUserID),
// response_url endpoints, and injected failures (429 with Retry-After, Slack error codes,
// answers held before or after the method acts). It records every call, and keeps the
// state the calls built, so tests can assert what reached "Slack" and what it holds.
package slacktestx

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
)

// Call is one request the fake received.
type Call struct {
	Method string     // "chat.postMessage", "response" (a response_url post), "upload", ...
	Form   url.Values // the form body (Web API methods)
	Body   []byte     // the raw body (response_url posts: JSON)
	Path   string
	Time   time.Time
}

// Fault is an injected failure, served once in place of a method's normal answer.
type Fault struct {
	Status     int    // HTTP status (429, 500...); 0 means 200 with {"ok":false,"error":Error}
	RetryAfter int    // seconds, sent as Retry-After when set
	Error      string // Slack error code for Status 0 (e.g. "not_in_channel")
	// Delay holds the answer this long (or until the client gives up): a hanging Slack.
	// With Status and Error unset, the normal answer follows.
	Delay time.Duration
	// Hold does what the method does, then holds its answer this long (or until the client
	// gives up): Slack took the call and the client never heard, as when it is killed.
	Hold time.Duration
	// Acted does what the method does before answering with Status or Error: Slack acted
	// and the client heard a failure (a gateway's 503 after the write).
	Acted bool
}

// The bot's identity in the fake: auth.test answers these, and chat.postMessage posts as
// them (the token is the bot's).
const (
	BotUserID = "UIPSECBOT"
	BotID     = "BIPSECBOT"
)

// Someone is the creator of the channels TakeName takes.
const Someone = "USOMEONE"

// Message is a message as the fake holds it after posts and updates.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string
	Text     string
	Blocks   string // JSON as posted
	Updates  int    // how many chat.update calls changed it
	User     string // who posted it (BotUserID for chat.postMessage)
	BotID    string // set for the bot's posts
	Metadata string // the metadata JSON posted with it, "" without
}

// Upload is one file that went through the upload flow.
type Upload struct {
	FileID    string
	Filename  string
	Title     string
	Data      []byte
	Channel   string
	ThreadTS  string
	Comment   string // the initial comment posted with it
	Completed bool   // files.completeUploadExternal was called for it
}

// Server is a slacktest server with the extra endpoints.
type Server struct {
	*slacktest.Server

	mu       sync.Mutex
	calls    []Call
	faults   map[string][]Fault
	messages []*Message
	uploads  map[string]*Upload
	groups   map[string][]string
	seq      int
	lastTS   int64 // microseconds of the last message timestamp given

	channels map[string]*Channel // by ID
	users    map[string]User
	dms      map[string]string // user -> DM channel ID
}

// Channel is a channel as the fake holds it: created by conversations.create (or taken, see
// TakeName, or added, see AddChannel), with its creator, members, topic, pins and bookmarks.
type Channel struct {
	ID, Name  string
	Creator   string    // BotUserID for conversations.create
	Created   time.Time // kept to the second, as Slack's created
	Members   []string
	Topic     string
	Pins      []string // message timestamps
	Bookmarks []Bookmark
	Archived  bool
}

// Bookmark is one bookmarks.add.
type Bookmark struct{ ID, Title, Link string }

// User is what users.info answers for an ID; unknown IDs are ordinary active people.
type User struct {
	Deleted, IsBot bool
}

// New starts a fake Slack on loopback and stops it when the test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{faults: map[string][]Fault{}, uploads: map[string]*Upload{}, groups: map[string][]string{},
		channels: map[string]*Channel{}, users: map[string]User{}, dms: map[string]string{}}
	s.Server = slacktest.NewTestServer(s.bind)
	s.Server.Start()
	tb.Cleanup(s.Server.Stop)
	return s
}

// APIURL is the base URL to pass to slack.OptionAPIURL (with its trailing slash).
func (s *Server) APIURL() string { return s.GetAPIURL() }

// ResponseURL returns a response_url on the fake; posts to it are recorded as method "response".
func (s *Server) ResponseURL(name string) string { return s.GetAPIURL() + "response/" + name }

// Fail queues failures for method; each call to it consumes one before answering normally.
func (s *Server) Fail(method string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = append(s.faults[method], faults...)
}

// SetGroupMembers sets the members usergroups.users.list returns for group.
func (s *Server) SetGroupMembers(group string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[group] = users
}

// Calls returns the calls received for method ("" for all), in order.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Messages returns copies of all messages posted, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages))
	for _, m := range s.messages {
		out = append(out, *m)
	}
	return out
}

// Uploads returns copies of all uploads, in order of their file IDs.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Upload, 0, len(s.uploads))
	for i := 1; i <= s.seq; i++ {
		if u, ok := s.uploads[fmt.Sprintf("F%04d", i)]; ok {
			out = append(out, *u)
		}
	}
	return out
}

func (s *Server) bind(c slacktest.Customize) {
	c.Handle("/chat.postMessage", s.method("chat.postMessage", s.postMessage))
	c.Handle("/chat.postEphemeral", s.method("chat.postEphemeral", func(w http.ResponseWriter, f url.Values) {
		writeJSON(w, map[string]any{"ok": true, "message_ts": s.nextTS()})
	}))
	c.Handle("/chat.update", s.method("chat.update", s.update))
	// Pins of channels the fake did not create are answered ok and not kept.
	c.Handle("/pins.add", s.method("pins.add", func(w http.ResponseWriter, f url.Values) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if ch, ok := s.channels[f.Get("channel")]; ok {
			if slices.Contains(ch.Pins, f.Get("timestamp")) {
				writeJSON(w, map[string]any{"ok": false, "error": "already_pinned"})
				return
			}
			ch.Pins = append(ch.Pins, f.Get("timestamp"))
		}
		writeJSON(w, map[string]any{"ok": true})
	}))
	c.Handle("/usergroups.users.list", s.method("usergroups.users.list", func(w http.ResponseWriter, f url.Values) {
		s.mu.Lock()
		users := s.groups[f.Get("usergroup")]
		s.mu.Unlock()
		if users == nil {
			users = []string{}
		}
		writeJSON(w, map[string]any{"ok": true, "users": users})
	}))
	c.Handle("/conversations.create", s.method("conversations.create", s.createChannel))
	c.Handle("/conversations.invite", s.method("conversations.invite", s.inChannel(func(ch *Channel, f url.Values) string {
		for _, u := range strings.Split(f.Get("users"), ",") {
			if !slices.Contains(ch.Members, u) {
				ch.Members = append(ch.Members, u)
			}
		}
		return ""
	})))
	c.Handle("/conversations.setTopic", s.method("conversations.setTopic", s.inChannel(func(ch *Channel, f url.Values) string {
		ch.Topic = f.Get("topic")
		return ""
	})))
	c.Handle("/conversations.archive", s.method("conversations.archive", s.inChannel(func(ch *Channel, f url.Values) string {
		if ch.Archived {
			return "already_archived"
		}
		ch.Archived = true
		return ""
	})))
	c.Handle("/pins.remove", s.method("pins.remove", s.inChannel(func(ch *Channel, f url.Values) string {
		i := slices.Index(ch.Pins, f.Get("timestamp"))
		if i < 0 {
			return "no_pin"
		}
		ch.Pins = slices.Delete(ch.Pins, i, i+1)
		return ""
	})))
	c.Handle("/bookmarks.add", s.method("bookmarks.add", s.addBookmark))
	c.Handle("/bookmarks.list", s.method("bookmarks.list", s.listBookmarks))
	c.Handle("/conversations.list", s.method("conversations.list", s.listChannels))
	c.Handle("/conversations.history", s.method("conversations.history", s.history))
	c.Handle("/conversations.replies", s.method("conversations.replies", s.replies))
	c.Handle("/auth.test", s.method("auth.test", func(w http.ResponseWriter, f url.Values) {
		writeJSON(w, map[string]any{"ok": true, "url": "https://example.slack.com/", "team": "example", "team_id": "T0001",
			"user": "ipsec-bot", "user_id": BotUserID, "bot_id": BotID})
	}))
	c.Handle("/chat.getPermalink", s.method("chat.getPermalink", func(w http.ResponseWriter, f url.Values) {
		writeJSON(w, map[string]any{"ok": true, "channel": f.Get("channel"),
			"permalink": "https://example.slack.com/archives/" + f.Get("channel") + "/p" + strings.ReplaceAll(f.Get("message_ts"), ".", "")})
	}))
	c.Handle("/conversations.open", s.method("conversations.open", func(w http.ResponseWriter, f url.Values) {
		s.mu.Lock()
		user := f.Get("users")
		id, ok := s.dms[user]
		if !ok {
			s.seq++
			id = fmt.Sprintf("D%04d", s.seq)
			s.dms[user] = id
		}
		s.mu.Unlock()
		writeJSON(w, map[string]any{"ok": true, "channel": map[string]any{"id": id}})
	}))
	c.Handle("/users.info", s.method("users.info", func(w http.ResponseWriter, f url.Values) {
		s.mu.Lock()
		u := s.users[f.Get("user")]
		s.mu.Unlock()
		writeJSON(w, map[string]any{"ok": true, "user": map[string]any{"id": f.Get("user"), "deleted": u.Deleted, "is_bot": u.IsBot}})
	}))
	// slacktest's own answer, recorded and open to faults (reconnection tests).
	c.Handle("/apps.connections.open", s.method("apps.connections.open", func(w http.ResponseWriter, f url.Values) {
		writeJSON(w, map[string]any{"ok": true, "url": s.GetWSURL()})
	}))
	c.Handle("/files.getUploadURLExternal", s.method("files.getUploadURLExternal", s.uploadURL))
	c.Handle("/files.completeUploadExternal", s.method("files.completeUploadExternal", s.completeUpload))
	c.Handle("/upload/", s.uploadData)
	c.Handle("/response/", s.response)
}

// TakeName makes a channel name taken, as if Someone had created it now.
func (s *Server) TakeName(name string) {
	s.AddChannel(Channel{Name: name, Creator: Someone, Created: time.Now()})
}

// AddChannel adds a channel as it is given (an ID CTAKEN<n> when it has none), as if made
// outside the calls the fake serves; it returns the ID. Channels lists only the ones
// conversations.create made.
func (s *Server) AddChannel(ch Channel) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch.ID == "" {
		s.seq++
		ch.ID = fmt.Sprintf("CTAKEN%d", s.seq)
	}
	ch.Created = ch.Created.Truncate(time.Second)
	s.channels[ch.ID] = &ch
	return ch.ID
}

// AddMessage adds a message as it is given (a new timestamp when it has none), as if
// posted outside the calls the fake serves; it returns the timestamp.
func (s *Server) AddMessage(m Message) string {
	if m.TS == "" {
		m.TS = s.nextTS()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, &m)
	return m.TS
}

// SetUser sets what users.info says of id.
func (s *Server) SetUser(id string, u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = u
}

// Channels returns copies of the channels conversations.create made, in the order made.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Channel
	for _, ch := range s.channels {
		if strings.HasPrefix(ch.ID, "CNEW") {
			c := *ch
			c.Members, c.Pins, c.Bookmarks = slices.Clone(ch.Members), slices.Clone(ch.Pins), slices.Clone(ch.Bookmarks)
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Channel) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Channels created get IDs CNEW<n> and keep the name asked for; a name in use is name_taken.
func (s *Server) createChannel(w http.ResponseWriter, f url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := f.Get("name")
	for _, ch := range s.channels {
		if ch.Name == name {
			writeJSON(w, map[string]any{"ok": false, "error": "name_taken"})
			return
		}
	}
	s.seq++
	id := fmt.Sprintf("CNEW%04d", s.seq)
	s.channels[id] = &Channel{ID: id, Name: name, Creator: BotUserID, Created: time.Now().Truncate(time.Second)}
	writeJSON(w, map[string]any{"ok": true, "channel": map[string]any{"id": id, "name": name, "is_channel": true}})
}

// inChannel serves a method on a channel: fn changes it and returns a Slack error code or "".
// Channels the fake did not create are answered ok and not kept.
func (s *Server) inChannel(fn func(ch *Channel, f url.Values) string) func(http.ResponseWriter, url.Values) {
	return func(w http.ResponseWriter, f url.Values) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if ch, ok := s.channels[f.Get("channel")]; ok {
			if code := fn(ch, f); code != "" {
				writeJSON(w, map[string]any{"ok": false, "error": code})
				return
			}
		}
		writeJSON(w, map[string]any{"ok": true, "channel": map[string]any{"id": f.Get("channel")}})
	}
}

func (s *Server) addBookmark(w http.ResponseWriter, f url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	bm := Bookmark{ID: fmt.Sprintf("Bk%04d", s.seq), Title: f.Get("title"), Link: f.Get("link")}
	if ch, ok := s.channels[f.Get("channel_id")]; ok {
		ch.Bookmarks = append(ch.Bookmarks, bm)
	}
	writeJSON(w, map[string]any{"ok": true, "bookmark": map[string]any{"id": bm.ID, "title": bm.Title, "link": bm.Link}})
}

// method wraps a Web API handler: parses the form, records the call, serves queued faults.
func (s *Server) method(name string, h func(http.ResponseWriter, url.Values)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// r.Form: some methods (chat.getPermalink) are sent as GET with a query.
		var hold time.Duration
		if s.record(name, r, r.Form, nil) {
			var served bool
			if served, hold = s.serveFault(w, r, name, func() { h(httptest.NewRecorder(), r.Form) }); served {
				return
			}
		}
		if hold > 0 {
			rec := httptest.NewRecorder()
			h(rec, r.Form)
			t := time.NewTimer(hold)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
			maps.Copy(w.Header(), rec.Header())
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		h(w, r.Form)
	}
}

// record appends a call and reports whether a fault is queued for it.
func (s *Server) record(name string, r *http.Request, form url.Values, body []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{Method: name, Form: form, Body: body, Path: r.URL.Path, Time: time.Now()})
	return len(s.faults[name]) > 0
}

// serveFault consumes the next fault queued for name; false when the normal answer follows,
// with how long to hold it.
func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, name string, act func()) (bool, time.Duration) {
	s.mu.Lock()
	f := s.faults[name][0]
	s.faults[name] = s.faults[name][1:]
	s.mu.Unlock()
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true, 0
		}
	}
	if f.Status == 0 && f.Error == "" {
		return false, f.Hold
	}
	if f.Acted && act != nil {
		act()
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	if f.Status != 0 {
		w.WriteHeader(f.Status)
		return true, 0
	}
	writeJSON(w, map[string]any{"ok": false, "error": f.Error})
	return true, 0
}

// nextTS is a message timestamp from the clock, later than every one given before.
func (s *Server) nextTS() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastTS = max(time.Now().UnixMicro(), s.lastTS+1)
	return formatTS(s.lastTS)
}

func formatTS(us int64) string { return fmt.Sprintf("%d.%06d", us/1e6, us%1e6) }

// parseTS reads a Slack timestamp ("1700000000.000123") as microseconds; "" is 0.
func parseTS(ts string) int64 {
	sec, frac, _ := strings.Cut(ts, ".")
	s, _ := strconv.ParseInt(sec, 10, 64)
	frac = (frac + "000000")[:6]
	u, _ := strconv.ParseInt(frac, 10, 64)
	return s*1e6 + u
}

func (s *Server) postMessage(w http.ResponseWriter, f url.Values) {
	m := &Message{Channel: f.Get("channel"), TS: s.nextTS(), ThreadTS: f.Get("thread_ts"), Text: f.Get("text"), Blocks: f.Get("blocks"),
		User: BotUserID, BotID: BotID, Metadata: f.Get("metadata")}
	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS})
}

func (s *Server) update(w http.ResponseWriter, f url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages {
		if m.Channel == f.Get("channel") && m.TS == f.Get("ts") {
			m.Text, m.Blocks = f.Get("text"), f.Get("blocks")
			m.Updates++
			writeJSON(w, map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS, "text": m.Text})
			return
		}
	}
	writeJSON(w, map[string]any{"ok": false, "error": "message_not_found"})
}

func (s *Server) uploadURL(w http.ResponseWriter, f url.Values) {
	size, err := strconv.Atoi(f.Get("length"))
	if err != nil || size <= 0 || f.Get("filename") == "" {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}
	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("F%04d", s.seq)
	s.uploads[id] = &Upload{FileID: id, Filename: f.Get("filename")}
	s.mu.Unlock()
	// Same host as the API URL, so slack-go agrees to send the token there.
	writeJSON(w, map[string]any{"ok": true, "upload_url": s.GetAPIURL() + "upload/" + id, "file_id": id})
}

func (s *Server) uploadData(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/upload/")
	file, hdr, err := r.FormFile("file")
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	defer file.Close()
	data, err := io.ReadAll(file)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.record("upload", r, nil, nil)
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.uploads[id]
	if !ok {
		http.Error(w, "unknown upload", http.StatusNotFound)
		return
	}
	u.Data, u.Filename = data, hdr.Filename
	w.Write([]byte("OK"))
}

func (s *Server) completeUpload(w http.ResponseWriter, f url.Values) {
	var files []struct{ ID, Title string }
	if err := json.Unmarshal([]byte(f.Get("files")), &files); err != nil || len(files) == 0 {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]string
	for _, fl := range files {
		u, ok := s.uploads[fl.ID]
		if !ok || u.Data == nil {
			writeJSON(w, map[string]any{"ok": false, "error": "file_not_found"})
			return
		}
		u.Title, u.Channel, u.ThreadTS, u.Comment, u.Completed = fl.Title, f.Get("channel_id"), f.Get("thread_ts"), f.Get("initial_comment"), true
		out = append(out, map[string]string{"id": u.FileID, "title": u.Title})
	}
	writeJSON(w, map[string]any{"ok": true, "files": out})
}

// response records a response_url post (JSON body) and answers like Slack does.
func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if s.record("response", r, nil, body) {
		if served, _ := s.serveFault(w, r, "response", nil); served {
			return
		}
	}
	w.Write([]byte("ok"))
}

// ResponseMessages decodes the response_url posts received.
func (s *Server) ResponseMessages() []slack.WebhookMessage {
	var out []slack.WebhookMessage
	for _, c := range s.Calls("response") {
		var m slack.WebhookMessage
		if json.Unmarshal(c.Body, &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// Sign returns the headers Slack sends with a request body: the v0 signature
// (HMAC-SHA256 of "v0:TIMESTAMP:BODY" with the app's signing secret), the timestamp ts, and
// the form content type of slash commands and interactivity.
func Sign(secret, body string, ts time.Time) http.Header {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", stamp)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return h
}

func (s *Server) listBookmarks(w http.ResponseWriter, f url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	if ch, ok := s.channels[f.Get("channel_id")]; ok {
		for _, bm := range ch.Bookmarks {
			out = append(out, map[string]any{"id": bm.ID, "channel_id": ch.ID, "title": bm.Title, "link": bm.Link, "type": "link"})
		}
	}
	writeJSON(w, map[string]any{"ok": true, "bookmarks": out})
}

// page cuts n items at cursor (an offset) by limit (def when unset) and returns the range
// and the next cursor, "" at the end.
func page(f url.Values, n, def int) (from, to int, next string) {
	from, _ = strconv.Atoi(f.Get("cursor"))
	limit, err := strconv.Atoi(f.Get("limit"))
	if err != nil || limit <= 0 {
		limit = def
	}
	from = min(max(from, 0), n)
	to = min(from+limit, n)
	if to < n {
		next = strconv.Itoa(to)
	}
	return from, to, next
}

// listChannels serves conversations.list: every channel the fake holds, in ID order,
// archived ones left out on exclude_archived.
func (s *Server) listChannels(w http.ResponseWriter, f url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var chs []*Channel
	for _, ch := range s.channels {
		if !ch.Archived || f.Get("exclude_archived") != "true" {
			chs = append(chs, ch)
		}
	}
	slices.SortFunc(chs, func(a, b *Channel) int { return strings.Compare(a.ID, b.ID) })
	from, to, next := page(f, len(chs), 100)
	out := []map[string]any{}
	for _, ch := range chs[from:to] {
		out = append(out, map[string]any{"id": ch.ID, "name": ch.Name, "is_channel": true, "creator": ch.Creator,
			"created": ch.Created.Unix(), "is_archived": ch.Archived})
	}
	writeJSON(w, map[string]any{"ok": true, "channels": out, "response_metadata": map[string]any{"next_cursor": next}})
}

// history serves conversations.history: the channel's messages outside threads (replies
// are not in it), newest first, after oldest.
func (s *Server) history(w http.ResponseWriter, f url.Values) {
	s.serveMessages(w, f, func(m *Message) bool {
		return m.Channel == f.Get("channel") && (m.ThreadTS == "" || m.ThreadTS == m.TS)
	}, true)
}

// replies serves conversations.replies: the thread's parent and replies, oldest first.
func (s *Server) replies(w http.ResponseWriter, f url.Values) {
	s.serveMessages(w, f, func(m *Message) bool {
		return m.Channel == f.Get("channel") && (m.TS == f.Get("ts") || m.ThreadTS == f.Get("ts"))
	}, false)
}

// serveMessages answers with the messages that match and are after oldest (inclusive on
// inclusive=true), a page at a time; their metadata only on include_all_metadata.
func (s *Server) serveMessages(w http.ResponseWriter, f url.Values, match func(*Message) bool, newestFirst bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	oldest := parseTS(f.Get("oldest"))
	inclusive := f.Get("inclusive") == "true" || f.Get("inclusive") == "1"
	var msgs []*Message
	for _, m := range s.messages {
		at := parseTS(m.TS)
		if match(m) && (at > oldest || inclusive && at == oldest) {
			msgs = append(msgs, m)
		}
	}
	slices.SortFunc(msgs, func(a, b *Message) int {
		if newestFirst {
			a, b = b, a
		}
		return cmp.Compare(parseTS(a.TS), parseTS(b.TS))
	})
	from, to, next := page(f, len(msgs), 100)
	out := []map[string]any{}
	for _, m := range msgs[from:to] {
		o := map[string]any{"type": "message", "ts": m.TS, "text": m.Text}
		if m.User != "" {
			o["user"] = m.User
		}
		if m.BotID != "" {
			o["bot_id"] = m.BotID
		}
		if m.ThreadTS != "" {
			o["thread_ts"] = m.ThreadTS
		}
		if json.Valid([]byte(m.Metadata)) && f.Get("include_all_metadata") == "1" {
			o["metadata"] = json.RawMessage(m.Metadata)
		}
		out = append(out, o)
	}
	writeJSON(w, map[string]any{"ok": true, "messages": out, "has_more": next != "",
		"response_metadata": map[string]any{"next_cursor": next}})
}
