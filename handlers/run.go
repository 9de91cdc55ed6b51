package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"ipsecbot/diag"
	"ipsecbot/diag/fault"
	"ipsecbot/incident"
	"ipsecbot/store"
)

var errShuttingDown = errors.New("shutting down")

// run is one diagnosis the bot drives in Slack.
type run struct {
	edge                    string
	requester, channel      string
	responseURL             string
	captureSeconds, maxSecs int
	dataPath                bool          // step 8 asked for
	claimed                 *incident.Run // the bot's claim of the edge; the run finishes it

	// An automatic run (the watcher started it) has no command to answer: it diagnoses peer,
	// its incident's origin is automatic, and it says itself in the thread link returns (its
	// tunnel's alert) once the incident is known; "" or a nil link: a message of its own.
	automatic bool
	peer      string
	link      func(incident string) (threadTS string)

	// Set once the incident is open, before the run's goroutine goes on.
	incident string
	outDir   string
	threadTS string // the thread the run posts in when it is not its own message's (an alert's)

	// Set by the run's goroutine.
	rootTS      string // the message kept current; its thread (or threadTS) holds the details
	viaResponse bool   // the bot cannot post in the channel: answers go through responseURL
}

// thread is where the run's details, files and notes go: the thread it was given, else its
// own message's.
func (r *run) thread() string { return cmp.Or(r.threadTS, r.rootTS) }

// startDiagnosis opens an incident for edge and starts its run, or returns the run already
// going for that edge (joined). The edge is claimed before the incident is written, so a
// second command for it joins at once and commands for other edges never wait on this
// one's database commit.
func (s *Server) startDiagnosis(edge string, secs int, user, channel, responseURL string) (*run, bool, error) {
	return s.startDiagnosisFor(edge, secs, false, user, channel, responseURL)
}

// startDiagnosisFor is startDiagnosis, with step 8 (the data path) when dataPath.
func (s *Server) startDiagnosisFor(edge string, secs int, dataPath bool, user, channel, responseURL string) (*run, bool, error) {
	claimed, owner := s.incidents.Claim(edge)
	if !owner {
		inc, err := claimed.Incident()
		return &run{edge: edge, requester: inc.Requester, incident: inc.ID}, true, err
	}
	e, _ := s.cfg.Edge(edge)
	r := &run{
		edge: edge, requester: user, channel: channel, responseURL: responseURL,
		captureSeconds: secs, maxSecs: maxCapture(e), claimed: claimed, dataPath: dataPath,
	}
	if err := s.openRun(r); err != nil {
		claimed.Finish(nil, err)
		return r, false, err
	}
	return r, false, nil
}

// openRun starts the run's goroutine, then opens its incident, which the goroutine waits for:
// a bot that is shutting down refuses the run before any incident is written.
func (s *Server) openRun(r *run) error {
	opened := make(chan bool, 1)
	if !s.work.Go(func(ctx context.Context) {
		if <-opened {
			s.drive(ctx, r)
		}
	}, func(ctx context.Context, err error) { s.failed(ctx, r, err) }) {
		return errShuttingDown
	}
	o := incident.Opening{
		Requester: r.requester, Channel: r.channel, CaptureSeconds: r.captureSeconds,
		Why: fmt.Sprintf("diagnosis of %s requested", r.edge),
	}
	if r.automatic {
		o.Origin, o.Site, o.Why = store.OriginAutomatic, r.peer, fmt.Sprintf("automatic diagnosis of %s started by the watcher", r.edge)
	}
	inc, err := r.claimed.Open(o)
	if err != nil {
		opened <- false
		return fmt.Errorf("open incident: %w", err)
	}
	r.incident, r.outDir = inc.ID, filepath.Join(s.artifacts, inc.ID)
	if r.link != nil {
		r.threadTS = r.link(inc.ID)
	}
	opened <- true
	return nil
}

// note appends to an incident's timeline; a failure is logged and Slack goes on.
func (s *Server) note(id string, kind store.EventKind, text, actor string) {
	if err := s.incidents.Note(id, kind, text, actor); err != nil {
		s.log.Error("incident event not written", "incident", id, "err", err)
	}
}

// drive runs the diagnosis and keeps Slack current: one channel message updated as steps
// finish, step details in its thread, the verdict and the files at the end. Slack failures
// never stop the run; the incident record is written either way.
func (s *Server) drive(ctx context.Context, r *run) {
	s.metrics.inProgress.Inc()
	defer s.metrics.inProgress.Dec()
	var report *diag.Report
	var err error
	// The edge stays claimed until Slack has the verdict and the files: a command meanwhile
	// joins this run.
	defer func() { r.claimed.Finish(report, err) }()

	p := &progress{incident: r.incident, edge: r.edge, requester: r.requester, started: time.Now()}
	s.postRoot(ctx, r, p)

	q := newEventQueue()
	defer q.close() // also when Diagnose panics: the consumer must not wait forever
	var consumer sync.WaitGroup
	consumer.Go(func() { s.followProgress(ctx, r, p, q) })
	report, err = s.engine.Execute(ctx, r.claimed, diag.Request{
		Edge: r.edge, Peer: r.peer, CaptureSeconds: r.captureSeconds, Incident: r.incident,
		OutDir: r.outDir, Requester: r.requester, Automatic: r.automatic, DataPath: r.dataPath,
	}, q.push)
	q.close()
	consumer.Wait()

	if err != nil && ctx.Err() != nil {
		s.interrupted(ctx, r, report)
		return
	}
	if err != nil {
		s.failed(ctx, r, err)
		return
	}
	if report.Incident == "" {
		report.Incident = r.incident
	}
	s.finished(ctx, r, report)
}

// interrupted tells Slack about a run the bot's shutdown cut short. ctx is already cancelled,
// so this gets a short context of its own. With the engine's report (the verdict from what
// the window collected) the channel message becomes that verdict and the files follow;
// without one, the thread gets the interruption note. What cannot be posted now, the next
// start notes.
func (s *Server) interrupted(ctx context.Context, r *run, report *diag.Report) {
	s.log.Warn("diagnosis cancelled by shutdown", "incident", r.incident)
	wctx, cancel := s.work.wrapUp(ctx, interruptPostTimeout)
	defer cancel()
	if report == nil {
		if inc, err := s.db.Incident(r.incident); err == nil && inc.Status == store.StatusInterrupted {
			s.noteInterrupted(wctx, []store.Incident{inc})
		}
		return
	}
	if report.Incident == "" {
		report.Incident = r.incident
	}
	if s.finished(wctx, r, report) && r.rootTS != "" {
		if err := s.incidents.NoteInterruption(r.incident); err != nil {
			s.log.Error("incident event not written", "incident", r.incident, "err", err)
		}
	}
}

// postRoot posts the message the run keeps current (in its thread when it was given one).
// When the bot may not post in the channel, the run answers through the command's
// response_url instead; an automatic run has none, and posts its verdict when it has it.
func (s *Server) postRoot(ctx context.Context, r *run, p *progress) {
	ts, err := s.api.post(ctx, r.channel, r.threadTS, p.text(), p.blocks())
	if err == nil {
		s.setRoot(r, ts)
		return
	}
	if r.automatic {
		s.log.Warn("automatic diagnosis: progress not posted; the verdict will be", "incident", r.incident, "channel", r.channel, "err", err)
		s.note(r.incident, store.EventSlack, "progress not posted: "+err.Error(), incident.Bot)
		return
	}
	s.log.Warn("cannot post in channel; answering through response_url", "incident", r.incident, "channel", r.channel, "err", err)
	r.viaResponse = true
	s.note(r.incident, store.EventSlack, "channel post failed: "+err.Error(), incident.Bot)
	msg := &slack.WebhookMessage{ResponseType: slack.ResponseTypeInChannel, Text: p.text(),
		Blocks: &slack.Blocks{BlockSet: p.blocks()}}
	if !isChannelError(err) {
		msg.ResponseType = slack.ResponseTypeEphemeral
	}
	if err := s.api.respond(ctx, r.responseURL, msg); err != nil {
		s.log.Error("progress not posted", "incident", r.incident, "err", err)
	}
}

// setRoot keeps ts as the run's message and records the run's thread with its incident, so
// the escalation and the notes that come later point at it.
func (s *Server) setRoot(r *run, ts string) {
	r.rootTS = ts
	if _, err := s.incidents.Update(r.incident, incident.Bot, incident.Thread(r.channel, r.thread())); err != nil {
		s.log.Error("incident not updated", "incident", r.incident, "err", err)
	}
}

// followProgress turns the run's events into thread replies, root updates and timeline
// events, coalescing the root updates when events arrive faster than Slack answers. Once ctx
// is cancelled (shutdown), the events still coming (the window's end, the logs) are posted
// on a short context of their own, and a failure then is only logged at debug level: the
// verdict that follows says it all.
func (s *Server) followProgress(ctx context.Context, r *run, p *progress, q *eventQueue) {
	post := ctx
	for {
		evs, ok := q.wait()
		if !ok {
			return
		}
		if post == ctx && ctx.Err() != nil {
			var cancel context.CancelFunc
			post, cancel = s.work.wrapUp(ctx, interruptPostTimeout)
			defer cancel()
		}
		logFailure := s.log.Warn
		if ctx.Err() != nil {
			logFailure = s.log.Debug
		}
		for _, ev := range evs {
			switch ev.Kind {
			case diag.EventStarted:
				p.total = ev.Total
			case diag.EventStepStarted:
				p.step, p.title, p.index, p.total = ev.Step, ev.Title, ev.Index, ev.Total
			case diag.EventWindow:
				p.window = ev.Summary
			case diag.EventStepFinished, diag.EventStepFailed:
				p.window = "" // the window's steps finish once it has passed
				line := stepLine(ev)
				p.done = append(p.done, line)
				p.title = ""
				if r.rootTS != "" && post.Err() == nil {
					if _, err := s.api.post(post, r.channel, r.thread(), line, []slack.Block{section(stepDetail(ev))}); err != nil {
						logFailure("step detail not posted", "incident", r.incident, "err", err)
					}
				}
			}
		}
		if r.rootTS != "" && post.Err() == nil {
			if err := s.api.update(post, r.channel, r.rootTS, p.text(), p.blocks()); err != nil {
				logFailure("progress not updated", "incident", r.incident, "err", err)
			}
		}
	}
}

// failed records a run that could not produce a report.
func (s *Server) failed(ctx context.Context, r *run, err error) {
	s.log.Error("diagnosis failed", "incident", r.incident, "err", err)
	if _, uerr := s.incidents.EndDiagnosis(r.incident, store.StatusOpen, incident.Bot, "",
		incident.Summary("diagnosis failed: "+err.Error()), incident.Noting(store.EventFailed, err.Error())); uerr != nil {
		s.log.Error("incident not updated", "incident", r.incident, "err", uerr)
	}
	text := fmt.Sprintf(":x: %s · %s: the diagnosis failed. %s", r.incident, r.edge, fault.Sentence(err))
	blocks := []slack.Block{section(escape(text))}
	_ = s.publish(ctx, r, text, blocks) // logged and noted in the timeline
}

// finished posts the verdict (the engine recorded it) and uploads the files into its thread.
// It reports whether the verdict was posted.
func (s *Server) finished(ctx context.Context, r *run, rep *diag.Report) bool {
	note := ""
	if r.viaResponse {
		note = fmt.Sprintf("Files are kept with %s; invite the bot to this channel to get them posted.", r.incident)
	}
	if err := s.publish(ctx, r, verdictText(rep), verdictBlocks(rep, r.requester, r.captureSeconds, r.maxSecs, note)); err != nil {
		return false
	}
	if !r.viaResponse && r.rootTS != "" {
		s.uploadFiles(ctx, r, rep)
	}
	return true
}

// publish puts the final message where the run's progress went: the run's message is
// replaced; if that fails for good, the message goes into its thread; without a message,
// through the response_url, or for an automatic run as a new message where its progress
// would have been. A message that cannot be posted at all is logged and noted in the
// incident's timeline, and returned.
func (s *Server) publish(ctx context.Context, r *run, text string, blocks []slack.Block) error {
	var err error
	switch {
	case r.rootTS == "" && r.automatic:
		var ts string
		if ts, err = s.api.post(ctx, r.channel, r.threadTS, text, blocks); err == nil {
			s.setRoot(r, ts)
		}
	case r.rootTS == "":
		msg := &slack.WebhookMessage{ResponseType: slack.ResponseTypeInChannel, Text: text, Blocks: &slack.Blocks{BlockSet: blocks}}
		err = s.api.respond(ctx, r.responseURL, msg)
	default:
		if err = s.api.update(ctx, r.channel, r.rootTS, text, blocks); err != nil {
			s.log.Warn("verdict update failed; posting it in the thread", "incident", r.incident, "err", err)
			_, err = s.api.post(ctx, r.channel, r.thread(), text, blocks)
		}
	}
	if err != nil {
		s.log.Error("verdict not posted", "incident", r.incident, "err", err)
		s.note(r.incident, store.EventSlack, "verdict not posted: "+err.Error(), incident.Bot)
	}
	return err
}

// eventQueue hands a run's events from the engine (whose listeners must not block) to the
// goroutine that talks to Slack.
type eventQueue struct {
	mu     sync.Mutex
	evs    []diag.Event
	closed bool
	wake   chan struct{}
}

func newEventQueue() *eventQueue { return &eventQueue{wake: make(chan struct{}, 1)} }

func (q *eventQueue) push(ev diag.Event) {
	q.mu.Lock()
	q.evs = append(q.evs, ev)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// wait returns the queued events, blocking until there are some; false once closed and empty.
func (q *eventQueue) wait() ([]diag.Event, bool) {
	for {
		q.mu.Lock()
		evs, closed := q.evs, q.closed
		q.evs = nil
		q.mu.Unlock()
		if len(evs) > 0 {
			return evs, true
		}
		if closed {
			return nil, false
		}
		<-q.wake
	}
}
