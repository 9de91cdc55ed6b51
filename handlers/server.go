// Package handlers is the bot's Slack surface: the signed HTTP endpoints (slash command and
// interactivity), Socket Mode, the command router, access control and audit, Block Kit
// rendering, progress updates, uploads, and the supervisor that owns the work done after
// Slack's 3-second acknowledgement. HTTP and Socket Mode decode to the same Invocation and
// Action and call the same code.
package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/incident"
	"ipsecbot/store"
)

// Diagnoser runs the procedure; *engine.Engine satisfies it.
type Diagnoser interface {
	// Execute runs the diagnosis of claimed, the run of req.Edge the bot claimed (and
	// finishes), and returns its report.
	Execute(ctx context.Context, claimed *incident.Run, req diag.Request, listeners ...diag.Listener) (*diag.Report, error)
}

// Tunnel is one IPsec tunnel's state as `/ipsec status` shows it.
type Tunnel struct {
	Site   string // the IPsec site (peer name or address)
	Tunnel string // the tunnel's subnets, "10.0.1.0/24 <-> 10.0.2.0/24"
	State  string // up, down, ...
	Detail string // the failure message, when down
}

// StatusFunc reads the tunnel states of one edge (the engine's TunnelStatus, adapted).
type StatusFunc func(ctx context.Context, edge string) ([]Tunnel, error)

// Options are a Server's collaborators and settings. Config, Store, Engine and Slack are required.
type Options struct {
	Config *config.Config
	Store  *store.DB
	// Incidents writes the incidents of Store and holds the one run per edge; share the
	// engine's (default: one of its own over Store).
	Incidents     *incident.Lifecycle
	Engine        Diagnoser
	Status        StatusFunc    // nil: /ipsec status answers that it is not available
	Slack         *slack.Client // from NewSlackClient
	SigningSecret string        // required for the HTTP endpoints
	Logger        *slog.Logger
	Registry      *prometheus.Registry // nil: a fresh one (served on /metrics)
	ArtifactsDir  string               // where each incident's files go; default: Config.ArtifactsDir()
	MaxBody       int64                // request body limit, default 256 KiB
	Retry         RetryPolicy          // zero: DefaultRetryPolicy
	HTTPClient    *http.Client         // for response_url posts; default: 15 s timeout
	// ShutdownGrace is how long Shutdown lets running diagnoses finish before cancelling them.
	ShutdownGrace time.Duration
	// Now is the clock of update reminders and archiving (default time.Now).
	Now func() time.Time
	// SweepEvery is how often incident channels are checked for due reminders and archiving
	// (default 1m; negative: never, for tests that sweep by hand).
	SweepEvery time.Duration
}

// Server is the bot: it owns the Slack client, the access list, the metrics and the
// goroutines started after an acknowledgement.
type Server struct {
	cfg       *config.Config
	db        *store.DB
	incidents *incident.Lifecycle
	engine    Diagnoser
	status    StatusFunc
	api       *slackAPI
	secret    string
	log       *slog.Logger
	registry  *prometheus.Registry
	metrics   *metrics
	access    *accessList
	artifacts string
	maxBody   int64
	grace     time.Duration
	work      *supervisor
	audits    *auditWriter

	now        func() time.Time
	sweepEvery time.Duration
	stopLoops  chan struct{} // closed by Shutdown: the sweep loop ends at once
	stopOnce   sync.Once
	opLocks    opLocks
	me         identity // the bot's own Slack IDs, asked once
}

// DefaultMaxBody bounds a Slack request body; slash commands are a few hundred bytes and
// interactive payloads a few KiB.
const DefaultMaxBody = 256 << 10

// New builds a Server. It does not start anything; call Start (and Handler or RunSocketMode).
func New(o Options) (*Server, error) {
	if o.Config == nil || o.Store == nil || o.Engine == nil || o.Slack == nil {
		return nil, errors.New("handlers: Config, Store, Engine and Slack are required")
	}
	lg := cmp.Or(o.Logger, slog.New(slog.DiscardHandler))
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	retry := o.Retry
	if retry.MaxAttempts == 0 {
		retry = DefaultRetryPolicy
	}
	api := &slackAPI{client: o.Slack, http: hc, retry: retry, metrics: m, log: lg}
	artifacts := cmp.Or(o.ArtifactsDir, o.Config.ArtifactsDir())
	incidents := o.Incidents
	if incidents == nil {
		incidents = incident.New(o.Store, incident.Options{})
	}
	if incidents.Store() != o.Store {
		return nil, errors.New("handlers: the incident lifecycle writes another store than Store")
	}
	s := &Server{
		cfg: o.Config, db: o.Store, incidents: incidents, engine: o.Engine, status: o.Status, api: api,
		secret: o.SigningSecret, log: lg, registry: reg, metrics: m,
		access:    newAccessList(o.Config.Access, api),
		artifacts: artifacts,
		maxBody:   cmp.Or(o.MaxBody, DefaultMaxBody),
		grace:     cmp.Or(o.ShutdownGrace, 10*time.Second),
		work:      newSupervisor(lg),
		now:       o.Now,
		stopLoops: make(chan struct{}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.sweepEvery = cmp.Or(o.SweepEvery, defaultSweepEvery)
	// Audit records queue behind an incident being opened like the incidents' own writes.
	s.audits = newAuditWriter(o.Store, incidents, lg)
	return s, nil
}

// Start does what must happen before serving: incidents a previous process left in
// "diagnosing" are marked interrupted and a note goes into their thread (in the background).
func (s *Server) Start(ctx context.Context) error {
	incs, err := s.markInterrupted()
	if err != nil {
		return fmt.Errorf("mark interrupted incidents: %w", err)
	}
	if len(incs) > 0 {
		s.work.Go(func(ctx context.Context) { s.noteInterrupted(ctx, incs) })
	}
	if err := s.resumeOps(); err != nil {
		return fmt.Errorf("resume incident channel work: %w", err)
	}
	if s.sweepEvery > 0 {
		s.work.Go(func(ctx context.Context) { s.sweepLoop(ctx, s.sweepEvery) })
	}
	return nil
}

// Shutdown stops taking work, lets running diagnoses finish for the grace period, then cancels
// them and waits for every goroutine the server started, until ctx ends. A cancelled run's
// engine marks its incident interrupted and classifies what was collected; Slack then gets
// that verdict and its files on a short context (interruptPostTimeout), cut off when ctx
// ends. What a run could not mark or post, the next Start does.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stopLoops) })
	err := s.work.Shutdown(ctx, s.grace)
	s.audits.Close()
	return err
}
