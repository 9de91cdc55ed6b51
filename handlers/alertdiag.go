package handlers

import (
	"context"
	"errors"
	"fmt"

	"ipsecbot/diag"
	"ipsecbot/store"
	"ipsecbot/watch"
)

// Diagnose runs the automatic diagnosis the watcher starts when tunnel k turns unstable or
// down (watch.AutoDiagnose's Start in bot serve) and returns when it is over. It is the run a
// `/ipsec diagnose` drives, said in the tunnel's alert thread: the progress message, the step
// details, the verdict with its buttons and the files; the incident records that thread. The
// alert links the incident while it runs and shows its cause once it is in.
//
// The watcher hands a change to the alerts before the automatic diagnosis, so the alert is
// posted (or Slack refused it twice) by the time the run asks for its thread. Without a
// thread the run posts its own message in the alert channel, so the verdict is never lost;
// the alert still links the incident when it reaches Slack. When a diagnosis of the edge
// already runs (someone asked in Slack), that one is the diagnosis: Diagnose waits for it
// and the alert is left as it is (the verdict is in the asker's thread).
func (a *Alerts) Diagnose(ctx context.Context, k watch.Key, peer string) error {
	s := a.srv
	claimed, owner := s.incidents.Claim(k.Edge)
	if !owner {
		_, err := claimed.Wait(context.WithoutCancel(ctx))
		return err
	}
	e, _ := s.cfg.Edge(k.Edge)
	r := &run{edge: k.Edge, channel: a.opts.Channel, claimed: claimed, maxSecs: maxCapture(e),
		automatic: true, peer: peer, link: func(id string) string { return a.link(k, id) }}
	if err := s.openRun(r); err != nil {
		claimed.Finish(nil, err)
		return err
	}
	// The run finishes its claim once Slack has the verdict and the files; a shutdown of the
	// bot cuts it short, and it finishes then too.
	rep, err := claimed.Wait(context.WithoutCancel(ctx))
	a.settle(k, r.incident, rep)
	return err
}

// link records incident id with the tunnel's alert (the alert says it is being diagnosed)
// and returns the alert's message, the thread the diagnosis says itself in ("" when the
// tunnel has no alert, or it is not in Slack yet).
func (a *Alerts) link(k watch.Key, id string) string {
	return a.edit(k, func(rec *store.WatchAlert) {
		rec.Incident, rec.Diagnosed, rec.Cause = id, false, ""
	})
}

// settle shows the cause of incident id's verdict in the tunnel's alert, if the alert still
// links that incident (rep nil: the diagnosis failed).
func (a *Alerts) settle(k watch.Key, id string, rep *diag.Report) {
	a.edit(k, func(rec *store.WatchAlert) {
		if rec.Incident != id {
			return
		}
		rec.Diagnosed, rec.Cause = true, ""
		if rep != nil {
			rec.Cause = string(rep.Cause)
		}
	})
}

// edit changes the tunnel's open alert with change and brings Slack up to it; it returns the
// alert's message timestamp ("" without an alert).
func (a *Alerts) edit(k watch.Key, change func(*store.WatchAlert)) string {
	ctx, cancel := context.WithTimeout(a.opts.Context, a.opts.CallBudget)
	defer cancel()
	a.mu.Lock()
	defer a.mu.Unlock()
	rec, err := a.db.WatchAlert(k.Edge, k.Site, k.Tunnel)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			a.log.Error("watch alert not read; the automatic diagnosis is not linked", "tunnel", k.String(), "err", err)
		}
		return ""
	}
	before := rec
	change(&rec)
	if rec.Incident != before.Incident || rec.Diagnosed != before.Diagnosed || rec.Cause != before.Cause {
		rec.Stale = true
		a.flush(ctx, &rec)
	}
	return rec.TS
}

// diagnosisOver settles an alert whose automatic diagnosis ended without Diagnose telling it
// (the bot stopped during the run; the next start marked the incident interrupted): the
// alert takes the incident's cause, if it has one.
func (a *Alerts) diagnosisOver(rec *store.WatchAlert) {
	if rec.Incident == "" || rec.Diagnosed || a.srv.incidents.Running(rec.Edge) {
		return
	}
	if inc, err := a.db.Incident(rec.Incident); err == nil && inc.Status != store.StatusDiagnosing {
		rec.Diagnosed, rec.Cause, rec.Stale = true, inc.Cause, true
	}
}

// diagnosisLine is what the alert says of its automatic diagnosis ("" without one).
func diagnosisLine(rec *store.WatchAlert) string {
	switch {
	case rec.Incident == "":
		return ""
	case !rec.Diagnosed:
		return fmt.Sprintf(":mag: Diagnosing automatically as *%s*.", escape(rec.Incident))
	case rec.Cause == "":
		return fmt.Sprintf(":x: The automatic diagnosis *%s* ended without a verdict; its thread says why.", escape(rec.Incident))
	}
	return fmt.Sprintf(":mag: Diagnosed automatically as *%s*: cause `%s`.", escape(rec.Incident), escape(rec.Cause))
}
