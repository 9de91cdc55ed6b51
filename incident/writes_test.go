package incident

import (
	"sync"
	"testing"
	"time"

	"ipsecbot/store"
)

// Ensure opening an incident waits for the background write in flight, and that a background
// write that comes once the opening waits (the next of a queue, as the audit writer's) goes
// after it: an opening waits for one commit, never for a whole queue.
func TestOpen_GoesAheadOfQueuedWrites(t *testing.T) {
	l := newLifecycle(t)
	inc := incidentAt(t, l, "edge-01", store.StatusOpen)
	var mu sync.Mutex
	var order []string
	did := func(what string) {
		mu.Lock()
		order = append(order, what)
		mu.Unlock()
	}

	inFlight, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		l.Background(func() {
			close(inFlight)
			<-release
			did("in flight")
		})
	})
	<-inFlight
	wg.Go(func() {
		if _, err := l.Open(Opening{Edge: "edge-02", Requester: "U1"}); err != nil {
			t.Error(err)
		}
		did("open")
	})
	// The opening waits once no new background write can start.
	waitUntil(t, func() bool {
		if l.order.TryRLock() {
			l.order.RUnlock()
			return false
		}
		return true
	})
	queued := make(chan struct{})
	wg.Go(func() {
		close(queued)
		if err := l.Note(inc.ID, store.EventStep, "queued behind the opening", Bot); err != nil {
			t.Error(err)
		}
		did("queued")
	})
	<-queued
	close(release)
	wg.Wait()
	if len(order) != 3 || order[0] != "in flight" || order[1] != "open" || order[2] != "queued" {
		t.Errorf("order of the writes: %v", order)
	}
}

// waitUntil polls cond (an event of another goroutine) until it holds.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-t.Context().Done():
			t.Fatal("gave up waiting")
		default:
		}
		time.Sleep(time.Millisecond)
	}
}
