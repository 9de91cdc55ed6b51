package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"ipsecbot/incident"
	"ipsecbot/store"
)

// An incident channel's life is a series of ops (escalate, hand over, update, resolve,
// remind, archive), each a list of side effects in Slack recorded in the store as planned,
// then done with the Slack ID they produced, or failed with why. A bot that stops in the
// middle finishes the planned steps when it starts again; done ones are never repeated.
// A step cut off while its call was in flight is run again. Pins, invites, topics and
// edits are harmless to repeat (already_pinned, already_in_channel); a step that would
// make a second channel, message or bookmark first looks for the one Slack may already
// hold and adopts it (handoff_adopt.go), so each happens once.

// stepFunc performs one side effect and returns the Slack ID it produced and the sets to
// commit with it.
type stepFunc func(ctx context.Context, x *opRun) (string, []incident.Set, error)

// opRun is one step of an op being run: the incident as last stored, the op, the step's
// name, and whether it may already have happened (the first step a start resumes).
type opRun struct {
	s     *Server
	inc   store.Incident
	op    store.Op
	step  string
	rerun bool
}

func (x *opRun) h() *store.Handoff {
	if x.inc.Handoff == nil {
		return &store.Handoff{}
	}
	return x.inc.Handoff
}

// errNoChannel fails the steps that need the incident channel when it could not be created.
var errNoChannel = errors.New("the incident channel was not created")

func (x *opRun) channel() (string, error) {
	if c := x.h().Channel; c != "" {
		return c, nil
	}
	return "", errNoChannel
}

// steps is every step the ops plan, by name.
var steps map[string]stepFunc

func init() {
	steps = map[string]stepFunc{
		"create-channel":  stepCreateChannel,
		"invite":          stepInvite,
		"post-brief":      stepPostBrief,
		"pin-brief":       stepPinBrief,
		"set-topic":       stepSetTopic,
		"bookmark-thread": stepBookmarkThread,
		"bookmark-report": stepBookmarkFile("report", "Report", "report.md"),
		"bookmark-pcap":   stepBookmarkFile("pcap", "Capture", ""),
		"index-line":      stepIndexLine,
		"pointer":         stepPointer,
		"update-brief":    stepUpdateBrief,
		"announce":        stepAnnounce,
		"invite-target":   stepInviteTarget,
		"open-dm":         stepOpenDM,
		"dm-brief":        stepDMBrief,
		"post-update":     stepPostUpdate,
		"unpin-previous":  stepUnpinPrevious,
		"pin-update":      stepPinUpdate,
		"closing-summary": stepClosingSummary,
		"thread-note":     stepThreadNote,
		"post-reminder":   stepPostReminder,
		"archive-channel": stepArchiveChannel,
		"archive-note":    stepArchiveNote,
	}
}

// opLocks runs one incident's ops one at a time (a resumed op and a new one, two clicks).
type opLocks struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

func (l *opLocks) lock(id string) func() {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]*sync.Mutex{}
	}
	m, ok := l.locks[id]
	if !ok {
		m = &sync.Mutex{}
		l.locks[id] = m
	}
	l.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// runOp runs the planned steps of op seq in order. A step that fails is recorded and the
// others still run; when ctx ends (the bot stopping) the step in flight stays planned for
// the next start. It returns the incident as last stored.
func (s *Server) runOp(ctx context.Context, id string, seq int) (store.Incident, error) {
	return s.runSteps(ctx, id, seq, false)
}

// runSteps is runOp; resumed says the op was left unfinished by an earlier process, whose
// last step may have reached Slack.
func (s *Server) runSteps(ctx context.Context, id string, seq int, resumed bool) (store.Incident, error) {
	defer s.opLocks.lock(id)()
	inc, err := s.db.Incident(id)
	if err != nil {
		return inc, err
	}
	for {
		if inc.Handoff == nil || inc.Handoff.Op(seq) == nil {
			return inc, fmt.Errorf("incident %s has no op %d", id, seq)
		}
		op := *inc.Handoff.Op(seq)
		i := slices.IndexFunc(op.Steps, func(st store.Step) bool { return st.State == store.StepPlanned })
		if i < 0 {
			return inc, nil
		}
		name := op.Steps[i].Name
		fn, ok := steps[name]
		if !ok {
			fn = func(context.Context, *opRun) (string, []incident.Set, error) {
				return "", nil, fmt.Errorf("unknown step %q", name)
			}
		}
		out, sets, err := fn(ctx, &opRun{s: s, inc: inc, op: op, step: name, rerun: resumed})
		resumed = false
		if err != nil && ctx.Err() != nil {
			return inc, ctx.Err() // stopped: the step stays planned
		}
		var next store.Incident
		var werr error
		if err != nil {
			s.log.Warn("incident channel step failed", "incident", id, "op", op.Kind, "step", name, "err", err)
			next, werr = s.incidents.StepFailed(id, seq, name, err)
		} else {
			next, werr = s.incidents.StepDone(id, seq, name, out, sets...)
		}
		if werr != nil {
			return inc, werr
		}
		inc = next
	}
}

// resumeOps finishes, in the background, the ops a previous process left with steps planned.
func (s *Server) resumeOps() error {
	incs, err := s.incidents.Pending()
	if err != nil {
		return err
	}
	for _, inc := range incs {
		// One goroutine per incident: its ops finish in the order they were asked.
		var seqs []int
		for _, op := range inc.Handoff.Ops {
			if !op.Done {
				seqs = append(seqs, op.Seq)
			}
		}
		id := inc.ID
		s.work.Go(func(ctx context.Context) {
			for _, seq := range seqs {
				if _, err := s.runSteps(ctx, id, seq, true); err != nil && ctx.Err() == nil {
					s.log.Error("resumed incident op failed", "incident", id, "op", seq, "err", err)
				}
			}
		})
	}
	return nil
}

// view gathers what the brief is written from.
func (s *Server) view(inc store.Incident) incident.View {
	d, err := s.db.IncidentDetail(inc.ID)
	if err != nil {
		s.log.Warn("incident unreadable", "incident", inc.ID, "err", err)
		d = store.IncidentDetail{Incident: inc}
	}
	v, err := incident.NewView(d, s.artifacts, s.cfg.Slack.Cadence)
	if err != nil {
		s.log.Warn("report unreadable", "incident", inc.ID, "err", err)
	}
	return v
}

// nextUpdate is when an escalated incident's next status update is due.
func (s *Server) nextUpdate(inc store.Incident) time.Time {
	return incident.NextUpdate(inc, s.cfg.Slack.Cadence)
}

var slackStyle = incident.Style{Slack: true}
