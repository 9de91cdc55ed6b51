package watch

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics is an Observer that keeps the watcher's Prometheus series.
type Metrics struct {
	state     *prometheus.GaugeVec   // 1 for the tunnel's current state, 0 for the others
	drops     *prometheus.CounterVec // drops caught
	duration  prometheus.Histogram   // sweep durations
	lastSweep *prometheus.GaugeVec   // per edge: the last sweep it answered
}

// States are every state a tunnel can be shown in.
var States = []string{StateUp, StateDown, StateUnstable, StateUnknown}

// NewMetrics registers the watcher's series on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ipsecbot_watch_tunnel_state", Help: "1 for the tunnel's current watch state (up, down, unstable, unknown), 0 for the others.",
		}, []string{"edge", "site", "tunnel", "state"}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ipsecbot_watch_drops_total", Help: "Tunnel drops the watcher caught (down, or re-established without a rekey).",
		}, []string{"edge", "site", "tunnel"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ipsecbot_watch_sweep_duration_seconds", Help: "Time one sweep of every edge took.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60},
		}),
		lastSweep: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ipsecbot_watch_edge_last_success_timestamp_seconds", Help: "When the edge last answered a sweep (Unix time).",
		}, []string{"edge"}),
	}
	for _, c := range []prometheus.Collector{m.state, m.drops, m.duration, m.lastSweep} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Swept implements Observer.
func (m *Metrics) Swept(s Swept) {
	m.duration.Observe(s.Took.Seconds())
	for _, r := range s.Results {
		if r.Err == nil {
			m.lastSweep.WithLabelValues(r.Edge).Set(float64(s.At.Unix()))
		}
	}
	for i := range s.Tunnels {
		t := &s.Tunnels[i]
		shown, _ := t.Shown()
		for _, st := range States {
			v := 0.0
			if st == shown {
				v = 1
			}
			m.state.WithLabelValues(t.Edge, t.Site, t.Tunnel, st).Set(v)
		}
	}
	for _, k := range s.Drops {
		m.drops.WithLabelValues(k.Edge, k.Site, k.Tunnel).Inc()
	}
}
