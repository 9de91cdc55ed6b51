package syslog

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the receiver's Prometheus series.
type Metrics struct {
	received prometheus.Counter
	dropped  *prometheus.CounterVec
}

// NewMetrics registers the receiver's series on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ipsecbot_syslog_messages_received_total", Help: "Syslog messages (UDP datagrams and TCP frames) received from the edges and kept.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ipsecbot_syslog_messages_dropped_total", Help: "Syslog messages, or TCP connections, dropped: unknown sender, malformed, oversize, write error, connection limit.",
		}, []string{"reason"}),
	}
	for _, c := range []prometheus.Collector{m.received, m.dropped} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
