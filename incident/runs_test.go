package incident

import (
	"errors"
	"sync"
	"testing"

	"ipsecbot/diag"
	"ipsecbot/store"
)

// Ensure that of many concurrent claims of one edge exactly one owns the run and every other
// joins that same run: the joiners learn the incident the owner opened, get the events emitted
// after they listen, and the report the owner finishes with; then the edge is free again.
func TestClaim_ConcurrentOneWinsOthersJoin(t *testing.T) {
	l := newLifecycle(t)
	const n = 16
	type claim struct {
		run   *Run
		owner bool
	}
	claims := make([]claim, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			r, owner := l.Claim("edge-01")
			claims[i] = claim{r, owner}
		})
	}
	close(start)
	wg.Wait()

	var owner *Run
	for _, c := range claims {
		if c.owner {
			if owner != nil {
				t.Fatal("two claims own edge-01")
			}
			owner = c.run
		}
	}
	if owner == nil {
		t.Fatal("no claim owns edge-01")
	}
	for _, c := range claims {
		if c.run != owner {
			t.Fatal("a joiner got another run than the owner's")
		}
	}
	if other, own := l.Claim("edge-02"); !own || other == owner {
		t.Error("another edge's claim joined edge-01's run")
	}

	// The joiners wait for the incident while the owner opens it.
	ids := make(chan string, n)
	for range n - 1 {
		wg.Go(func() {
			inc, err := owner.Incident()
			if err != nil {
				t.Error(err)
			}
			ids <- inc.ID
		})
	}
	inc, err := owner.Open(Opening{Requester: "U1", Why: "diagnosis of edge-01 requested"})
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(ids)
	for id := range ids {
		if id != inc.ID {
			t.Errorf("a joiner learnt incident %q, the owner opened %s", id, inc.ID)
		}
	}
	if inc.Status != store.StatusDiagnosing || inc.Edge != "edge-01" {
		t.Errorf("opened %+v", inc)
	}

	var seen []string
	owner.Emit(diag.Event{Kind: diag.EventStarted}) // before the joiner listens: not its
	owner.Listen(func(ev diag.Event) { seen = append(seen, ev.Kind) })
	owner.Emit(diag.Event{Kind: diag.EventStepStarted})
	reports := make(chan *diag.Report, n)
	for range n - 1 {
		wg.Go(func() {
			rep, err := owner.Wait(t.Context())
			if err != nil {
				t.Error(err)
			}
			reports <- rep
		})
	}
	rep := &diag.Report{Edge: "edge-01", Incident: inc.ID}
	owner.Finish(rep, nil)
	owner.Finish(nil, errors.New("a second finish is ignored"))
	wg.Wait()
	close(reports)
	for got := range reports {
		if got != rep {
			t.Errorf("a joiner got report %p, the owner finished with %p", got, rep)
		}
	}
	if len(seen) != 1 || seen[0] != diag.EventStepStarted {
		t.Errorf("the joiner's listener saw %v, want the one event after it listened", seen)
	}
	if l.Running("edge-01") {
		t.Error("edge-01 still claimed after its run finished")
	}
	if again, own := l.Claim("edge-01"); !own || again == owner {
		t.Error("a claim after the finish joined the finished run")
	}
}

// Ensure a joiner of a run whose incident could not be opened gets that error, and one of a
// run that ended without an incident (nothing recorded) gets the run's error.
func TestRun_IncidentWhenOpenFails(t *testing.T) {
	l := New(nil, Options{})
	r, _ := l.Claim("edge-01")
	if _, err := r.Open(Opening{}); err == nil {
		t.Fatal("opened without a store")
	}
	if _, err := r.Incident(); err == nil {
		t.Error("joiner of a failed opening got no error")
	}
	r.Finish(nil, nil)

	r, _ = l.Claim("edge-01")
	boom := errors.New("engine closed")
	r.Finish(nil, boom)
	if _, err := r.Incident(); !errors.Is(err, boom) {
		t.Errorf("joiner of a run that ended unopened: %v", err)
	}
	if _, err := r.Open(Opening{Edge: "edge-02"}); err == nil {
		t.Error("a run opened an incident of another edge")
	}
}
