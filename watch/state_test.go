package watch

import (
	"path/filepath"
	"testing"
	"time"

	"ipsecbot/diag/nsx"
	"ipsecbot/store"
)

// reading is one scripted sweep of a tunnel: up or down, its SA (SPI, established), the
// edge's rekey counter, and whether the API failed.
type reading struct {
	at      time.Duration // since the start
	up      bool
	spi     string
	rekeys  uint64
	apiFail bool
	packets uint64
	want    string // the shown state after it
	drop    bool   // a drop row is kept
	rekey   bool   // a rekey row is kept
}

var t0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

func sampleOf(r reading) store.WatchSample {
	s := store.WatchSample{ChannelStatus: "up", TunnelStatus: "up", LocalSPI: r.spi, PeerSPI: r.spi + "p",
		PacketsIn: r.packets, PacketsOut: r.packets, Rekeys: r.rekeys, HasIKE: true}
	if !r.up {
		s = store.WatchSample{ChannelStatus: "down", TunnelStatus: "down", Failure: nsx.MsgIKEv2AuthFailed, Rekeys: r.rekeys, HasIKE: true}
	}
	return s
}

// Ensure the state machine's whole table: hold timers, drops between sweeps, rekeys, flaps,
// clearing and unknown, on explicit times.
func TestPolicy_Table(t *testing.T) {
	p := Policy{DownAfter: 2 * time.Minute, Flaps: 3, FlapWindow: 30 * time.Minute, ClearAfter: 10 * time.Minute}.withDefaults()
	m := time.Minute
	tests := []struct {
		name  string
		steps []reading
	}{
		{"steady up with rekeys is never a drop", []reading{
			{at: 0, up: true, spi: "a1", rekeys: 10, packets: 100, want: StateUp},
			{at: m, up: true, spi: "a2", rekeys: 11, packets: 5, want: StateUp, rekey: true},
			{at: 2 * m, up: true, spi: "a3", rekeys: 12, packets: 0, want: StateUp, rekey: true},
			{at: 3 * m, up: true, spi: "a3", rekeys: 12, packets: 9, want: StateUp},
		}},
		{"short down holds up, then comes back (one drop)", []reading{
			{at: 0, up: true, spi: "a1", want: StateUp},
			{at: m, up: false, want: StateUp, drop: true},
			{at: m + 90*time.Second, up: false, want: StateUp},
			{at: 3 * m, up: true, spi: "b1", want: StateUp},
		}},
		{"down for down_after is down; back up is up", []reading{
			{at: 0, up: true, spi: "a1", want: StateUp},
			{at: m, up: false, want: StateUp, drop: true},
			{at: 2 * m, up: false, want: StateUp},
			{at: 3 * m, up: false, want: StateDown},
			{at: 9 * m, up: false, want: StateDown},
			{at: 10 * m, up: true, spi: "b1", want: StateUp},
		}},
		{"re-established between sweeps without a rekey is a drop; three make unstable", []reading{
			{at: 0, up: true, spi: "a1", rekeys: 5, want: StateUp},
			{at: m, up: true, spi: "a2", rekeys: 5, want: StateUp, drop: true},
			{at: 2 * m, up: true, spi: "a3", rekeys: 5, want: StateUp, drop: true},
			{at: 3 * m, up: true, spi: "a4", rekeys: 5, want: StateUnstable, drop: true},
			{at: 4 * m, up: true, spi: "a5", rekeys: 6, want: StateUnstable, rekey: true},
			{at: 12 * m, up: true, spi: "a5", rekeys: 6, want: StateUnstable},
			{at: 13 * m, up: true, spi: "a5", rekeys: 6, want: StateUp}, // 10 min stable since the last drop
		}},
		{"counters going backwards without a rekey are a new SA", []reading{
			{at: 0, up: true, spi: "a1", packets: 500, want: StateUp},
			{at: m, up: true, spi: "a1", packets: 3, want: StateUp, drop: true},
		}},
		{"drops outside the window do not add up", []reading{
			{at: 0, up: true, spi: "a1", want: StateUp},
			{at: m, up: true, spi: "a2", want: StateUp, drop: true},
			{at: 20 * m, up: true, spi: "a3", want: StateUp, drop: true},
			{at: 40 * m, up: true, spi: "a4", want: StateUp, drop: true}, // the first has left the window
		}},
		{"flapping down and up makes unstable, a drop resets the clear timer", []reading{
			{at: 0, up: true, spi: "a1", want: StateUp},
			{at: m, up: false, want: StateUp, drop: true},
			{at: 2 * m, up: true, spi: "b1", want: StateUp},
			{at: 3 * m, up: false, want: StateUp, drop: true},
			{at: 4 * m, up: true, spi: "c1", want: StateUp},
			{at: 5 * m, up: false, want: StateUnstable, drop: true},
			{at: 6 * m, up: true, spi: "d1", want: StateUnstable},
			{at: 15 * m, up: true, spi: "d1", want: StateUnstable},
			{at: 16 * m, up: true, spi: "d1", want: StateUp},
		}},
		{"unstable then down for down_after is down; back up after 3 drops is unstable", []reading{
			{at: 0, up: true, spi: "a1", want: StateUp},
			{at: m, up: true, spi: "a2", want: StateUp, drop: true},
			{at: 2 * m, up: true, spi: "a3", want: StateUp, drop: true},
			{at: 3 * m, up: false, want: StateUnstable, drop: true},
			{at: 5 * m, up: false, want: StateDown},
			{at: 6 * m, up: true, spi: "b1", want: StateUnstable},
		}},
		{"API failure is unknown and keeps the down timer", []reading{
			{at: 0, up: true, spi: "a1", want: StateUp},
			{at: m, up: false, want: StateUp, drop: true},
			{at: 2 * m, apiFail: true, want: StateUnknown},
			{at: 3*m + 30*time.Second, up: false, want: StateDown}, // down since 1m
		}},
		{"API failure while up, then up again, is not a drop", []reading{
			{at: 0, up: true, spi: "a1", rekeys: 1, want: StateUp},
			{at: m, apiFail: true, want: StateUnknown},
			{at: 2 * m, apiFail: true, want: StateUnknown},
			{at: 3 * m, up: true, spi: "a1", rekeys: 1, want: StateUp},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tun := &store.WatchTunnel{Edge: "edge-01", Site: "s", Tunnel: "a-b"}
			for i, r := range tc.steps {
				now := t0.Add(r.at)
				var evs []store.WatchEvent
				if r.apiFail {
					evs, _ = p.fail(tun, "api: timeout", now)
				} else {
					evs, _ = p.observe(tun, sampleOf(r), now)
				}
				if got, _ := tun.Shown(); got != r.want {
					t.Fatalf("step %d (+%v): state %s, want %s (%+v)", i, r.at, got, r.want, evs)
				}
				if got := hasKind(evs, store.WatchDrop); got != r.drop {
					t.Errorf("step %d (+%v): drop row %v, want %v (%+v)", i, r.at, got, r.drop, evs)
				}
				if got := hasKind(evs, store.WatchRekey); got != r.rekey {
					t.Errorf("step %d (+%v): rekey row %v, want %v (%+v)", i, r.at, got, r.rekey, evs)
				}
			}
		})
	}
}

func hasKind(evs []store.WatchEvent, kind string) bool {
	for _, e := range evs {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

// Ensure a new SA without IKE counters counts as a rekey only near the SA lifetime.
func TestCompare_LifetimeWithoutCounters(t *testing.T) {
	est := t0.Add(-55 * time.Minute)
	prev := &store.WatchSample{TunnelStatus: "up", LocalSPI: "a", PeerSPI: "b", Established: est.Format("Jan _2 15:04:05 2006")}
	cur := &store.WatchSample{TunnelStatus: "up", LocalSPI: "c", PeerSPI: "d", Established: t0.Format("Jan _2 15:04:05 2006")}
	if c := Compare(prev, t0.Add(-time.Minute), cur, t0, time.Hour); c.Kind != store.WatchRekey {
		t.Errorf("new SA at 55 of 60 minutes: %+v, want a rekey", c)
	}
	prev.Established = t0.Add(-10 * time.Minute).Format("Jan _2 15:04:05 2006")
	if c := Compare(prev, t0.Add(-time.Minute), cur, t0, time.Hour); c.Kind != store.WatchDrop {
		t.Errorf("new SA at 10 of 60 minutes: %+v, want a drop", c)
	}
}

// Ensure the timers survive a restart: a tunnel down before it is down down_after after the
// first down reading, read by a new Watcher over the same store file.
func TestWatcher_TimersSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	p := Policy{DownAfter: 2 * time.Minute}
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(Config{Store: db, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	tun := &store.WatchTunnel{Edge: "edge-01", Site: "s", Tunnel: "a-b"}
	evs1, _ := w.policy.observe(tun, sampleOf(reading{up: true, spi: "a"}), t0)
	evs2, _ := w.policy.observe(tun, sampleOf(reading{up: false}), t0.Add(time.Minute))
	if err := db.SaveWatch([]store.WatchTunnel{*tun}, map[[3]string][]store.WatchEvent{keyOf(tun).triple(): append(evs1, evs2...)}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w, err = New(Config{Store: db, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	got := w.tunnels[keyOf(tun)]
	if got == nil || !got.DownSince.Equal(t0.Add(time.Minute)) || len(got.Drops) != 1 {
		t.Fatalf("restored %+v", got)
	}
	_, tr := w.policy.observe(got, sampleOf(reading{up: false}), t0.Add(3*time.Minute))
	if tr == nil || tr.To != StateDown || tr.From != StateUp {
		t.Fatalf("after restart: %+v, want up -> down", tr)
	}
}
