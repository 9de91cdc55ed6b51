package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/watch"
	"ipsecbot/watch/syslog"
)

// hintRelay passes the receiver's flap lines to the watcher, which starts after it.
type hintRelay struct{ w atomic.Pointer[watch.Watcher] }

func (h *hintRelay) hint(edge string, at time.Time, line string) {
	if w := h.w.Load(); w != nil {
		w.Hint(edge, at, line)
	}
}

// startSyslog runs the syslog receiver when watch.syslog.listen is set: the Edges' lines are
// kept beside the store (syslog/EDGE.log), flap lines go to onFlap, its counters on reg. The
// returned logs are nil without a receiver.
func startSyslog(ctx context.Context, cfg *config.Config, reg prometheus.Registerer, lg *slog.Logger,
	onFlap func(edge string, at time.Time, line string)) (engine.ReceivedLogs, func(), error) {
	if cfg.Watch.Syslog.Listen == "" {
		return nil, func() {}, nil
	}
	senders, err := syslogSenders(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	o := syslog.Options{Dir: filepath.Join(filepath.Dir(cfg.Path(cfg.Store.Path)), "syslog"), Senders: senders, OnFlap: onFlap, Logger: lg}
	if reg != nil {
		if o.Metrics, err = syslog.NewMetrics(reg); err != nil {
			return nil, nil, err
		}
	}
	rx, err := syslog.New(o)
	if err != nil {
		return nil, nil, err
	}
	pc, ln, err := syslog.Listen(cfg.Watch.Syslog.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("watch.syslog.listen: %w", err)
	}
	lg.Info("receiving the edges' syslog", "udp", pc.LocalAddr(), "tcp", ln.Addr(), "edges", len(cfg.Edges))
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = rx.Serve(sctx, pc, ln) }()
	return rx, func() { cancel(); <-done }, nil
}

// syslogSenders maps each edge's SSH address and HA appliance addresses to the edge: an Edge
// sends its syslog from the address it is managed on. Host names are resolved once, at start.
func syslogSenders(ctx context.Context, cfg *config.Config) (map[netip.Addr]string, error) {
	out := map[netip.Addr]string{}
	for i := range cfg.Edges {
		ed := &cfg.Edges[i]
		if ed.SSH == nil {
			continue
		}
		for _, hp := range append([]string{ed.SSH.Address}, ed.SSH.HAAddresses...) {
			if hp == "" {
				continue
			}
			host := hp
			if h, _, err := net.SplitHostPort(hp); err == nil {
				host = h
			}
			if a, err := netip.ParseAddr(host); err == nil {
				out[a.Unmap()] = ed.Name
				continue
			}
			addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			if err != nil {
				return nil, fmt.Errorf("edge %s: syslog sender %s: %w", ed.Name, host, err)
			}
			for _, a := range addrs {
				out[a.Unmap()] = ed.Name
			}
		}
	}
	return out, nil
}

// autoDiagnose starts diagnoses on the edges whose auto_diagnose is on, through diagnose
// (the tunnel whose change started it, and its configured peer).
func autoDiagnose(cfg *config.Config, lg *slog.Logger, diagnose func(k watch.Key, peer string) error) *watch.AutoDiagnose {
	return &watch.AutoDiagnose{
		Enabled: cfg.AutoDiagnose,
		Logger:  lg,
		Start:   func(k watch.Key) error { return diagnose(k, peerOfSite(cfg, k.Edge, k.Site)) },
	}
}

// diagnoseQuietly runs an automatic diagnosis on the engine alone: its incident is the
// engine's own (a run without one opens it) and nothing is posted.
func diagnoseQuietly(ctx context.Context, eng *engine.Engine) func(k watch.Key, peer string) error {
	return func(k watch.Key, peer string) error {
		_, err := eng.Diagnose(ctx, diag.Request{Edge: k.Edge, Peer: peer, Requester: "watch", Automatic: true})
		return err
	}
}

// peerOfSite names the configured peer a watch site (a site ID, or the peer's address) is,
// or "" to let the engine pick the peer whose tunnel is down.
func peerOfSite(cfg *config.Config, edge, site string) string {
	ed, ok := cfg.Edge(edge)
	if !ok {
		return ""
	}
	for _, p := range ed.Peers {
		if p.Address == site || p.Name == site {
			return p.Name
		}
	}
	return ""
}
