package handlers

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"ipsecbot/diag/nsx"
	"ipsecbot/handlers/slacktestx"
	"ipsecbot/lab/nsxsim"
	"ipsecbot/store"
	"ipsecbot/watch"
)

const alertChannel = "CALERTS"

// oneTunnel is an edge document with one tunnel in the given status, SA and failure message.
func oneTunnel(status, spi, failure string) *nsx.Statistics {
	return &nsx.Statistics{Sites: []nsx.SiteStatistics{{SiteID: "ipsecsite-1", IKEStatus: &nsx.IKEStatus{ChannelStatus: status},
		Tunnels: []nsx.TunnelStats{{TunnelStatus: status, LocalSubnet: "10.0.1.0/24", PeerSubnet: "10.0.2.0/24",
			LocalSPI: spi, PeerSPI: spi + "0", FailureMessage: failure}}}}}
}

// alertsBot is a bot on a fake Slack with its alerts to alertChannel (no watcher).
func alertsBot(t *testing.T) (*slacktestx.Server, *testBot, *Alerts) {
	t.Helper()
	fake := slacktestx.New(t)
	b := newTestBot(t, t.TempDir(), &fakeEngine{}, fake)
	al, err := b.srv.NewAlerts(AlertOptions{Channel: alertChannel})
	if err != nil {
		t.Fatal(err)
	}
	return fake, b, al
}

// alertWatcher is a watcher over src whose changes go to a new Alerts of bot. Its timers are
// a nanosecond (clearing: clearAfter) so every sweep is late enough for the next state; two
// drops make it unstable.
func alertWatcher(t *testing.T, b *testBot, src *nsxsim.Script, clearAfter time.Duration) (*watch.Watcher, *Alerts) {
	t.Helper()
	al, err := b.srv.NewAlerts(AlertOptions{Channel: alertChannel, ClearAfter: clearAfter})
	if err != nil {
		t.Fatal(err)
	}
	w, err := watch.New(watch.Config{
		Targets:  []watch.Target{{Edge: "edge-01", EdgeID: "edge-1", Source: src}},
		Store:    b.db,
		Policy:   watch.Policy{DownAfter: time.Nanosecond, Flaps: 2, FlapWindow: time.Hour, ClearAfter: clearAfter},
		Notifier: al, Observer: al,
	})
	if err != nil {
		t.Fatal(err)
	}
	return w, al
}

func sweep(t *testing.T, w *watch.Watcher, want ...string) {
	t.Helper()
	changes, err := w.SweepOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.To)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("sweep changed to %v, want %v", got, want)
	}
}

// alertMessages splits the alert channel's messages into top-level posts and thread replies.
func alertMessages(fake *slacktestx.Server) (roots, replies []slacktestx.Message) {
	for _, m := range fake.Messages() {
		if m.Channel != alertChannel {
			continue
		}
		if m.ThreadTS == "" {
			roots = append(roots, m)
		} else {
			replies = append(replies, m)
		}
	}
	return roots, replies
}

// blockText is every text of a message's blocks, for asserting what they say.
func blockText(t *testing.T, blocksJSON string) string {
	t.Helper()
	var blocks any
	if err := json.Unmarshal([]byte(blocksJSON), &blocks); err != nil {
		t.Fatalf("blocks %q: %v", blocksJSON, err)
	}
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["text"].(string); ok {
				b.WriteString(s + "\n")
			}
			for k, e := range x {
				if k != "text" {
					walk(e)
				}
			}
			if tx, ok := x["text"].(map[string]any); ok {
				walk(tx)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(blocks)
	return b.String()
}

func mustContain(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s lacks %q:\n%s", what, p, s)
		}
	}
}

// Ensure a tunnel going unstable opens one alert with its edge, site, tunnel, state, drops and
// last failure; that its later changes go into the alert's thread and edit it, also after the
// bot restarts on the same store file; and that clearing edits the same alert and closes it.
func TestAlerts_OneAlertPerTunnelAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	fake := slacktestx.New(t)
	b := newTestBot(t, dir, &fakeEngine{}, fake)
	src := nsxsim.NewScript(oneTunnel("up", "a1", ""), oneTunnel("up", "b1", ""), oneTunnel("up", "c1", ""))
	w, _ := alertWatcher(t, b, src, time.Nanosecond)
	sweep(t, w)                      // first reading
	sweep(t, w)                      // a drop
	sweep(t, w, watch.StateUnstable) // the second drop within the window

	roots, replies := alertMessages(fake)
	if len(roots) != 1 || len(replies) != 0 {
		t.Fatalf("after going unstable: %d alerts, %d replies; want 1, 0", len(roots), len(replies))
	}
	alert := roots[0]
	mustContain(t, "the alert", blockText(t, alert.Blocks), "IPsec tunnel unstable: edge-01 / ipsecsite-1", "10.0.1.0/24-10.0.2.0/24",
		":large_orange_circle: unstable since <!date^", "*Drops (24 h)*\n2", "*Last failure message*\nnone reported", "2 drops within 1h0m0s")

	src.Then(oneTunnel("down", "", nsx.MsgIKEv2AuthFailed))
	sweep(t, w)                  // read down: a third drop, still unstable
	sweep(t, w, watch.StateDown) // down for longer than DownAfter
	roots, replies = alertMessages(fake)
	if len(roots) != 1 || len(replies) != 1 {
		t.Fatalf("after going down: %d alerts, %d replies; want 1, 1", len(roots), len(replies))
	}
	if replies[0].ThreadTS != alert.TS {
		t.Errorf("reply in thread %s, want the alert's %s", replies[0].ThreadTS, alert.TS)
	}
	mustContain(t, "the reply", replies[0].Text, ":red_circle: unstable → *down*", "down for")
	mustContain(t, "the edited alert", blockText(t, roots[0].Blocks), "IPsec tunnel down: edge-01", ":red_circle: down since",
		"*Drops (24 h)*\n3", "Version-IKEv2 Authentication Failed")

	// Restart: a new bot, alerts and watcher on the same file.
	b.stop()
	b = newTestBot(t, dir, &fakeEngine{}, fake)
	src.Then(oneTunnel("up", "d1", ""))
	w, al := alertWatcher(t, b, src, time.Nanosecond)
	sweep(t, w, watch.StateUnstable) // back up after 3 drops: unstable until it stays up
	roots, replies = alertMessages(fake)
	if len(roots) != 1 || len(replies) != 2 || replies[1].ThreadTS != alert.TS {
		t.Fatalf("after the restart: %d alerts, %d replies (%+v); want 1 alert, its 2 replies", len(roots), len(replies), replies)
	}
	mustContain(t, "the reply after the restart", replies[1].Text, "down → *unstable*", "back up after 3 drops")
	if rec, err := b.db.WatchAlert("edge-01", "ipsecsite-1", "10.0.1.0/24-10.0.2.0/24"); err != nil || rec.TS != alert.TS {
		t.Fatalf("stored alert %+v %v, want ts %s", rec, err, alert.TS)
	}

	sweep(t, w, watch.StateUp) // stable up for ClearAfter: the alert clears
	roots, replies = alertMessages(fake)
	if len(roots) != 1 || len(replies) != 3 {
		t.Fatalf("after clearing: %d alerts, %d replies; want 1, 3", len(roots), len(replies))
	}
	mustContain(t, "the cleared alert", blockText(t, roots[0].Blocks), "Cleared: IPsec tunnel on edge-01 / ipsecsite-1", ":white_check_mark: cleared")
	mustContain(t, "the clearing reply", replies[2].Text, ":white_check_mark: Cleared at")
	if n := len(fake.Calls("chat.update")); n != roots[0].Updates || n != 3 {
		t.Errorf("chat.update called %d times, the alert edited %d times; want 3", n, roots[0].Updates)
	}
	if _, err := b.db.WatchAlert("edge-01", "ipsecsite-1", "10.0.1.0/24-10.0.2.0/24"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a cleared alert is still open: %v", err)
	}
	if v := counted(t, al.posted.WithLabelValues(alertReply)); v != 2 { // this bot's replies
		t.Errorf("replies counted %v, want 2", v)
	}

	// The next drop (the earlier ones are still within the window) opens a new alert.
	src.Then(oneTunnel("up", "e1", ""))
	sweep(t, w, watch.StateUnstable)
	if roots, _ = alertMessages(fake); len(roots) != 2 {
		t.Errorf("a new episode: %d alerts, want 2", len(roots))
	}
}

// Ensure Slack failures are retried with the policy (a 429 with Retry-After is waited out),
// and an alert Slack refused after every attempt is kept, counted and posted at the next
// sweep, never lost.
func TestAlerts_SlackFailuresRetriedNotLost(t *testing.T) {
	fake := slacktestx.New(t)
	b := newTestBot(t, t.TempDir(), &fakeEngine{}, fake)
	src := nsxsim.NewScript(oneTunnel("up", "a1", ""), oneTunnel("up", "b1", ""), oneTunnel("up", "c1", ""))
	w, al := alertWatcher(t, b, src, time.Hour)
	sweep(t, w)
	sweep(t, w)
	fake.Fail("chat.postMessage", slacktestx.Fault{Status: 500}, slacktestx.Fault{Status: 502}, slacktestx.Fault{Status: 503})
	sweep(t, w, watch.StateUnstable)
	if roots, _ := alertMessages(fake); len(roots) != 0 {
		t.Fatalf("posted despite the failures: %+v", roots)
	}
	if n := len(fake.Calls("chat.postMessage")); n != 3 {
		t.Errorf("chat.postMessage tried %d times, want the policy's 3", n)
	}
	rec, err := b.db.WatchAlert("edge-01", "ipsecsite-1", "10.0.1.0/24-10.0.2.0/24")
	if err != nil || rec.TS != "" || rec.State != watch.StateUnstable {
		t.Fatalf("kept alert %+v %v, want one not posted yet", rec, err)
	}
	if v := counted(t, al.failed.WithLabelValues(alertOpen)); v != 1 {
		t.Errorf("failures counted %v, want 1", v)
	}

	fake.Fail("chat.postMessage", slacktestx.Fault{Status: 429, RetryAfter: 1})
	sweep(t, w) // no change: the sweep sends what is owed
	roots, _ := alertMessages(fake)
	if len(roots) != 1 {
		t.Fatalf("after the next sweep: %d alerts, want 1", len(roots))
	}
	mustContain(t, "the late alert", blockText(t, roots[0].Blocks), "IPsec tunnel unstable: edge-01 / ipsecsite-1")
	if rec, err := b.db.WatchAlert("edge-01", "ipsecsite-1", "10.0.1.0/24-10.0.2.0/24"); err != nil || rec.TS != roots[0].TS || len(rec.Pending) != 0 {
		t.Errorf("stored alert %+v %v", rec, err)
	}

	// A reply that fails is sent, in order, at the next sweep.
	fake.Fail("chat.postMessage", slacktestx.Fault{Error: "internal_error"}, slacktestx.Fault{Error: "internal_error"}, slacktestx.Fault{Error: "internal_error"})
	src.Then(oneTunnel("down", "", nsx.MsgIKEv2AuthFailed))
	sweep(t, w)
	sweep(t, w, watch.StateDown)
	if _, replies := alertMessages(fake); len(replies) != 0 {
		t.Fatalf("replies despite the failures: %+v", replies)
	}
	sweep(t, w)
	_, replies := alertMessages(fake)
	if len(replies) != 1 || replies[0].ThreadTS != roots[0].TS {
		t.Fatalf("replies after the next sweep: %+v", replies)
	}
	mustContain(t, "the late reply", replies[0].Text, "unstable → *down*")
}

// Ensure an alert whose message was deleted in Slack is posted again rather than edited in vain.
func TestAlerts_DeletedMessagePostedAgain(t *testing.T) {
	fake, _, al := alertsBot(t)
	now := time.Now()
	k := watch.Key{Edge: "edge-02", Site: "ipsecsite-9", Tunnel: "10.9.0.0/24-10.8.0.0/24"}
	al.Notify(t.Context(), watch.Transition{Key: k, From: "up", To: watch.StateDown, At: now, Reason: "down for 2m0s"})
	fake.Fail("chat.update", slacktestx.Fault{Error: "message_not_found"})
	al.Notify(t.Context(), watch.Transition{Key: k, From: watch.StateDown, To: watch.StateUnknown, At: now.Add(time.Minute), Reason: "api: timeout"})
	roots, replies := alertMessages(fake)
	if len(roots) != 2 || len(replies) != 1 || replies[0].ThreadTS != roots[1].TS {
		t.Fatalf("%d alerts and replies %+v; want the alert posted again and the reply in its thread", len(roots), replies)
	}
	mustContain(t, "the alert posted again", blockText(t, roots[1].Blocks), "IPsec tunnel unknown: edge-02 / ipsecsite-9")
	// Neither up nor unknown opens an alert for a tunnel without one.
	other := watch.Key{Edge: "edge-02", Site: "ipsecsite-1", Tunnel: "a-b"}
	al.Notify(t.Context(), watch.Transition{Key: other, From: watch.StateUp, To: watch.StateUnknown, At: now})
	al.Notify(t.Context(), watch.Transition{Key: other, From: watch.StateUnknown, To: watch.StateUp, At: now})
	if roots, _ := alertMessages(fake); len(roots) != 2 {
		t.Errorf("%d alerts after unknown and up, want still 2", len(roots))
	}
}

// counted reads a counter's value.
func counted(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
