package handlers

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the bot's Prometheus series; each Server registers its own on its registry.
type metrics struct {
	commands    *prometheus.CounterVec // by command and outcome
	ackLatency  prometheus.Histogram   // from request read to acknowledgement written
	inProgress  prometheus.Gauge       // diagnoses running
	slackErrors *prometheus.CounterVec // failed Slack API attempts by method
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ipsecbot_commands_total", Help: "Slack commands and button actions by command and outcome.",
		}, []string{"command", "outcome"}),
		ackLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ipsecbot_ack_latency_seconds", Help: "Time from receiving a Slack request to acknowledging it.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		inProgress: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ipsecbot_diagnoses_in_progress", Help: "Diagnoses currently running.",
		}),
		slackErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ipsecbot_slack_api_errors_total", Help: "Failed Slack API attempts by method (retries included).",
		}, []string{"method"}),
	}
	for _, c := range []prometheus.Collector{m.commands, m.ackLatency, m.inProgress, m.slackErrors} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
