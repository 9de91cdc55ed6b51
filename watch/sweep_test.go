package watch

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ipsecbot/diag/nsx"
	"ipsecbot/lab/nsxsim"
	"ipsecbot/store"
)

// timelineSource answers from a timeline at the (bubble's) current time; hang makes it ignore
// its context until released, fail makes it fail.
type timelineSource struct {
	tl      nsxsim.Timeline
	hang    chan struct{}
	fail    atomic.Bool
	calls   atomic.Int32
	active  atomic.Int32
	maxSeen atomic.Int32
}

func (s *timelineSource) IPsecStatistics(ctx context.Context, _ string) (*nsx.Statistics, []byte, error) {
	s.calls.Add(1)
	n := s.active.Add(1)
	defer s.active.Add(-1)
	for {
		m := s.maxSeen.Load()
		if n <= m || s.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	if s.hang != nil {
		<-s.hang
	}
	select { // a request takes a while
	case <-time.After(100 * time.Millisecond):
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	if s.fail.Load() {
		return nil, nil, errors.New("nsx manager: GET statistics: 503 Service Unavailable")
	}
	return s.tl.At(time.Now()), nil, ctx.Err()
}

// Ensure a sweep reads at most Concurrency edges at once and never waits on an edge that
// ignores its context longer than the timeout: that edge is a timeout, the others answer.
func TestSweep_BoundAndTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fast := &timelineSource{tl: nsxsim.Timeline{Start: time.Now(), Tunnels: []nsxsim.TimelineTunnel{{SiteID: "s1", LocalSubnet: "a", PeerSubnet: "b"}}}}
		slow := &timelineSource{tl: fast.tl, hang: make(chan struct{})}
		var targets []Target
		for i := range 40 {
			targets = append(targets, Target{Edge: "edge-" + itoa(i), EdgeID: "edge-1", Source: fast})
		}
		targets = append(targets, Target{Edge: "edge-slow", EdgeID: "edge-2", Source: slow})
		start := time.Now()
		res := Sweep(t.Context(), targets, SweepOptions{Concurrency: 4, Timeout: 5 * time.Second, Jitter: time.Second})
		took := time.Since(start)
		close(slow.hang)
		if took > 5*time.Second+time.Second+11*(time.Second+100*time.Millisecond) {
			t.Errorf("sweep took %v", took)
		}
		if got := fast.maxSeen.Load(); got > 4 {
			t.Errorf("%d reads at once, want at most 4", got)
		}
		for _, r := range res[:40] {
			if r.Err != nil || r.Stats == nil {
				t.Fatalf("%s: %v", r.Edge, r.Err)
			}
		}
		if r := res[40]; r.Err == nil || !strings.Contains(r.Err.Error(), "no answer within the sweep timeout") {
			t.Errorf("slow edge: %v, want the timeout", r.Err)
		}
		time.Sleep(time.Second) // the released read ends before the bubble does
	})
}

// Ensure the watcher, run on a fake clock, turns a tunnel that drops every minute into
// unstable, never counts the other tunnel's rekeys, marks both unknown while the API fails,
// and resumes after a restart from the store with its timers.
func TestWatcher_RunFlapsAndRekeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	synctest.Test(t, func(t *testing.T) {
		src := &timelineSource{tl: nsxsim.Timeline{Start: time.Now(), Tunnels: []nsxsim.TimelineTunnel{
			{SiteID: "ipsecsite-1", LocalSubnet: "10.1.0.0/24", PeerSubnet: "10.2.0.0/24", FlapEvery: time.Minute, Failure: nsx.MsgIKEv2AuthFailed},
			{SiteID: "ipsecsite-2", LocalSubnet: "10.1.1.0/24", PeerSubnet: "10.2.1.0/24", RekeyEvery: 30 * time.Second},
		}}}
		db, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var got []Transition
		reg := prometheus.NewRegistry()
		metrics, err := NewMetrics(reg)
		if err != nil {
			t.Fatal(err)
		}
		cfg := Config{
			Observer: metrics,
			Targets:  []Target{{Edge: "edge-01", EdgeID: "edge-1", Source: src}},
			Store:    db,
			Policy:   Policy{DownAfter: 2 * time.Minute, Flaps: 3, FlapWindow: 30 * time.Minute, ClearAfter: 10 * time.Minute},
			Next:     func(t time.Time) time.Time { return t.Add(5 * time.Second) },
			Notifier: NotifierFunc(func(_ context.Context, tr Transition) { mu.Lock(); got = append(got, tr); mu.Unlock() }),
		}
		w, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		run := func(d time.Duration) {
			ctx, cancel := context.WithTimeout(t.Context(), d)
			defer cancel()
			if err := w.Run(ctx); err != nil {
				t.Fatal(err)
			}
		}
		run(4 * time.Minute)
		flapper := Key{"edge-01", "ipsecsite-1", "10.1.0.0/24-10.2.0.0/24"}
		rekeyer := Key{"edge-01", "ipsecsite-2", "10.1.1.0/24-10.2.1.0/24"}
		mu.Lock()
		if len(got) != 1 || got[0].Key != flapper || got[0].To != StateUnstable || got[0].LastFailure != nsx.MsgIKEv2AuthFailed {
			t.Fatalf("transitions %+v, want the flapping tunnel unstable", got)
		}
		got = nil
		mu.Unlock()

		src.fail.Store(true)
		run(30 * time.Second)
		src.fail.Store(false)
		mu.Lock()
		if len(got) != 2 || got[0].To != StateUnknown || got[1].To != StateUnknown {
			t.Errorf("while the API fails: %+v, want both tunnels unknown", got)
		}
		got = nil
		mu.Unlock()
		db.Close()

		// A restart: the same store, a new watcher.
		if db, err = store.Open(path, store.Options{}); err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		cfg.Store = db
		if w, err = New(cfg); err != nil {
			t.Fatal(err)
		}
		run(time.Minute)
		mu.Lock()
		if len(got) != 2 {
			t.Errorf("after restart: %+v, want both tunnels back from unknown", got)
		}
		for _, tr := range got {
			if tr.From != StateUnknown {
				t.Errorf("after restart: %+v, want only unknown -> the state before", tr)
			}
		}
		mu.Unlock()
		want := map[Key]string{flapper: StateUnstable, rekeyer: StateUp}
		for _, tun := range w.Tunnels() {
			if s, _ := tun.Shown(); s != want[keyOf(&tun)] {
				t.Errorf("%s: %s, want %s", keyOf(&tun), s, want[keyOf(&tun)])
			}
		}
		count := func(k Key, kind string) int {
			n, err := CountEvents(db, k, kind, time.Time{}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count(flapper, store.WatchDrop); n != 5 { // minutes 0:40, 1:40, 2:40, 3:40 (before), 4:40 (after the restart)
			t.Errorf("flapper: %d drops, want 5", n)
		}
		if n := count(rekeyer, store.WatchDrop); n != 0 {
			t.Errorf("rekeying tunnel: %d drops, want none", n)
		}
		if n := count(rekeyer, store.WatchRekey); n < 8 {
			t.Errorf("rekeying tunnel: %d rekeys, want at least 8", n)
		}
		if n := count(rekeyer, store.WatchUnknown); n != 1 {
			t.Errorf("rekeying tunnel: %d unknown rows, want 1", n)
		}
		flapLabels := map[string]string{"edge": "edge-01", "site": "ipsecsite-1", "tunnel": flapper.Tunnel}
		for _, c := range []struct {
			name   string
			labels map[string]string
			want   float64
		}{
			{"ipsecbot_watch_drops_total", flapLabels, 5},
			{"ipsecbot_watch_tunnel_state", with(flapLabels, "state", StateUnstable), 1},
			{"ipsecbot_watch_tunnel_state", with(flapLabels, "state", StateUp), 0},
		} {
			if v, ok := metricValue(t, reg, c.name, c.labels); !ok || v != c.want {
				t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, v, ok, c.want)
			}
		}
		last, _ := metricValue(t, reg, "ipsecbot_watch_edge_last_success_timestamp_seconds", map[string]string{"edge": "edge-01"})
		if now := float64(time.Now().Unix()); last > now || last < now-10 { // sweeps are 5 s apart
			t.Errorf("edge-01 last answered at %v, now is %v", last, now)
		}
		if v, ok := metricValue(t, reg, "ipsecbot_watch_sweep_duration_seconds", nil); !ok || v < 50 {
			t.Errorf("sweep duration histogram holds %v sweeps", v)
		}
	})
}

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for a, b := range m {
		out[a] = b
	}
	return out
}

// metricValue reads a gauge or counter with exactly these labels, or a histogram's count.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount()), true
			}
		}
	}
	return 0, false
}

// Ensure an edge whose API fails before it was ever read shows as one unknown line with the
// reason, which its tunnels replace (in the store too) once it answers.
func TestWatcher_UnreadEdgeIsUnknown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	synctest.Test(t, func(t *testing.T) {
		src := &timelineSource{tl: nsxsim.Timeline{Start: time.Now(), Tunnels: []nsxsim.TimelineTunnel{{SiteID: "s1", LocalSubnet: "a", PeerSubnet: "b"}}}}
		src.fail.Store(true)
		db, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		w, err := New(Config{Targets: []Target{{Edge: "edge-07", EdgeID: "edge-7", Source: src}}, Store: db})
		if err != nil {
			t.Fatal(err)
		}
		changes, err := w.SweepOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(changes) != 1 || changes[0].Key != (Key{Edge: "edge-07"}) || changes[0].To != StateUnknown || !strings.Contains(changes[0].Reason, "503") {
			t.Fatalf("first sweep: %+v", changes)
		}
		rep, err := Health(db, "", time.Hour, time.Now())
		if err != nil || len(rep.Tunnels) != 1 || rep.Tunnels[0].State != StateUnknown {
			t.Fatalf("health while unread: %+v %v", rep, err)
		}
		src.fail.Store(false)
		if _, err := w.SweepOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		saved, err := db.WatchTunnels()
		if err != nil || len(saved) != 1 || saved[0].Tunnel != "a-b" || saved[0].State != StateUp {
			t.Fatalf("after it answers: %+v %v", saved, err)
		}
	})
}

// twoTunnels is an edge document: both tunnels up with the given SPIs and established dates,
// and the edge's child SA rekey counter.
func twoTunnels(spi1, est1, spi2, est2 string, rekeys nsx.Counter) *nsx.Statistics {
	site := func(id, local, spi, est string) nsx.SiteStatistics {
		return nsx.SiteStatistics{SiteID: id, IKEStatus: &nsx.IKEStatus{ChannelStatus: "up"},
			Tunnels: []nsx.TunnelStats{{TunnelStatus: "up", LocalSubnet: local, PeerSubnet: "p", LocalSPI: spi, PeerSPI: spi + "0", EstablishedDate: est}}}
	}
	return &nsx.Statistics{Sites: []nsx.SiteStatistics{site("s1", "l1", spi1, est1), site("s2", "l2", spi2, est2)},
		IKEStatistics: []nsx.IKECounters{{IKEVersion: "ikev2", IKEChildSaRekey: rekeys}}}
}

// Ensure the edge's rekey counters are shared out: two tunnels with new SAs in one sweep but
// one rekey counted is one rekey (the tunnel whose SA was older) and one drop.
func TestWatcher_RekeyBudgetIsTheEdges(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "bot.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC()
	old, young := now.Add(-55*time.Minute).Format("Jan _2 15:04:05 2006"), now.Add(-5*time.Minute).Format("Jan _2 15:04:05 2006")
	fresh := now.Format("Jan _2 15:04:05 2006")
	src := nsxsim.NewScript(
		twoTunnels("a1", young, "b1", old, 7),
		twoTunnels("a2", fresh, "b2", fresh, 8),  // two new SAs, one rekey counted
		twoTunnels("a3", fresh, "b3", fresh, 10), // two new SAs, two rekeys counted
	)
	w, err := New(Config{Targets: []Target{{Edge: "edge-01", EdgeID: "edge-1", Source: src}}, Store: db})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := w.SweepOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	count := func(site, kind string) int {
		n, err := CountEvents(db, Key{"edge-01", site, TunnelName("l"+site[1:], "p")}, kind, time.Time{}, time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if d, r := count("s1", store.WatchDrop), count("s1", store.WatchRekey); d != 1 || r != 1 {
		t.Errorf("tunnel with the young SA: %d drops, %d rekeys; want 1 and 1", d, r)
	}
	if d, r := count("s2", store.WatchDrop), count("s2", store.WatchRekey); d != 0 || r != 2 {
		t.Errorf("tunnel with the old SA: %d drops, %d rekeys; want 0 and 2", d, r)
	}
}
