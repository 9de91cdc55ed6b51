package handlers

import (
	"fmt"
	"log/slog"
	"sync"
	"unicode/utf8"

	"ipsecbot/incident"
	"ipsecbot/store"
)

// auditWriter writes audit records from one goroutine, so an acknowledgement never waits
// for a database commit. Close drains the queue; no record is dropped.
type auditWriter struct {
	db    *store.DB
	order *incident.Lifecycle // orders the records with the incidents' writes
	log   *slog.Logger

	mu      sync.Mutex
	queue   []store.AuditRecord
	wake    chan struct{}
	closed  bool
	stopped chan struct{}
}

func newAuditWriter(db *store.DB, order *incident.Lifecycle, lg *slog.Logger) *auditWriter {
	w := &auditWriter{db: db, order: order, log: lg, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go w.loop()
	return w
}

// maxAuditArgs bounds the command text an audit record keeps: a command is a few words, and
// a 250 KB one must not make every record that size.
const maxAuditArgs = 1 << 10

// capArgs cuts s to maxAuditArgs bytes (on a rune boundary) and says how long it was.
func capArgs(s string) string {
	if len(s) <= maxAuditArgs {
		return s
	}
	cut := maxAuditArgs
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… [truncated: %d bytes]", s[:cut], len(s))
}

// Add queues a record, its Args capped. After Close it writes synchronously.
func (w *auditWriter) Add(r store.AuditRecord) {
	r.Args = capArgs(r.Args)
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.write(r)
		return
	}
	w.queue = append(w.queue, r)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *auditWriter) loop() {
	defer close(w.stopped)
	for range w.wake {
		for {
			w.mu.Lock()
			batch := w.queue
			w.queue = nil
			closed := w.closed
			w.mu.Unlock()
			for _, r := range batch {
				w.write(r)
			}
			if len(batch) == 0 {
				if closed {
					return
				}
				break
			}
		}
	}
}

func (w *auditWriter) write(r store.AuditRecord) {
	w.order.Background(func() {
		if err := w.db.Audit(r); err != nil {
			w.log.Error("audit record not written", "user", r.User, "command", r.Command, "outcome", r.Outcome, "err", err)
		}
	})
}

// Close writes what is queued and stops the writer.
func (w *auditWriter) Close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.stopped
}
