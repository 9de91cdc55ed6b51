package watch

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// Ensure automatic diagnosis starts on unstable and down only, on enabled edges, at most once
// per tunnel within Every (on a fake clock), and joins the edge's running diagnosis.
func TestAutoDiagnose_RateLimitAndJoin(t *testing.T) {
	now := time.Date(2026, 3, 4, 3, 0, 0, 0, time.UTC)
	release := make(chan struct{})
	var mu sync.Mutex
	var started []string
	a := &AutoDiagnose{
		Start: func(k Key) error {
			mu.Lock()
			started = append(started, k.Edge+"/"+k.Site)
			mu.Unlock()
			<-release
			return errors.New("capture failed") // logged, never fatal
		},
		Enabled: func(edge string) bool { return edge != "edge-09" },
		Every:   time.Hour,
		Now:     func() time.Time { return now },
	}
	tr := func(edge, site, tunnel, to string) Transition {
		return Transition{Key: Key{Edge: edge, Site: site, Tunnel: tunnel}, From: StateUp, To: to}
	}
	steps := []struct {
		t    Transition
		want string
	}{
		{tr("edge-01", "s1", "a-b", StateUp), AutoIgnored},
		{tr("edge-01", "s1", "a-b", StateUnknown), AutoIgnored},
		{tr("edge-09", "s1", "a-b", StateDown), AutoIgnored},
		{tr("edge-01", "s1", "a-b", StateUnstable), AutoStarted},
		{tr("edge-01", "s2", "c-d", StateDown), AutoJoined}, // the edge's run is on
		{tr("edge-02", "s1", "a-b", StateDown), AutoStarted},
	}
	for i, s := range steps {
		if got := a.Decide(s.t); got != s.want {
			t.Fatalf("step %d %v: %s, want %s", i, s.t, got, s.want)
		}
	}
	close(release)
	a.Wait()
	now = now.Add(30 * time.Minute)
	if got := a.Decide(tr("edge-01", "s1", "a-b", StateDown)); got != AutoLimited {
		t.Errorf("again within the hour: %s, want limited", got)
	}
	if got := a.Decide(tr("edge-01", "s2", "c-d", StateDown)); got != AutoLimited {
		t.Errorf("a tunnel that joined within the hour: %s, want limited", got)
	}
	now = now.Add(31 * time.Minute)
	if got := a.Decide(tr("edge-01", "s1", "a-b", StateDown)); got != AutoStarted {
		t.Errorf("after the hour: %s, want started", got)
	}
	a.Wait()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(started)
	if !slices.Equal(started, []string{"edge-01/s1", "edge-01/s1", "edge-02/s1"}) {
		t.Errorf("started %v", started)
	}
}
