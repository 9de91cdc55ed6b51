package watch

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag/nsx"
	"ipsecbot/store"
)

// Ensure the history TSV keeps every failure and informational message with the time a sweep
// saw it, one row per line with a fixed column count, and that Health counts the drops.
func TestWriteHistory_AndHealth(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "bot.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := Policy{}.withDefaults()
	tun := &store.WatchTunnel{Edge: "edge-01", Site: "ipsecsite-1", Tunnel: "10.0.0.0/24-10.1.0.0/24"}
	var all []store.WatchEvent
	step := func(at time.Duration, s store.WatchSample) {
		evs, _ := p.observe(tun, s, t0.Add(at))
		all = append(all, evs...)
	}
	step(0, store.WatchSample{TunnelStatus: "up", LocalSPI: "a", PeerSPI: "b", Info: "peer sent\tDELETE"})
	step(time.Minute, store.WatchSample{TunnelStatus: "down", Failure: nsx.MsgIKEv2AuthFailed})
	step(3*time.Minute, store.WatchSample{TunnelStatus: "down", Failure: nsx.MsgIKEv2AuthFailed})
	step(4*time.Minute, store.WatchSample{TunnelStatus: "up", LocalSPI: "c", PeerSPI: "d"})
	if err := db.SaveWatch([]store.WatchTunnel{*tun}, map[[3]string][]store.WatchEvent{keyOf(tun).triple(): all}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteHistory(&buf, db, keyOf(tun), 2*time.Hour, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if !strings.HasPrefix(lines[0], "# watch history of edge-01 ipsecsite-1") || lines[1] != strings.Join(historyColumns, "\t") {
		t.Fatalf("header:\n%s", buf.String())
	}
	for _, l := range lines[1:] {
		if n := strings.Count(l, "\t"); n != len(historyColumns)-1 {
			t.Errorf("%d tabs in %q", n, l)
		}
	}
	text := buf.String()
	for _, want := range []string{
		"2026-12-01T08:00:00Z\tchange\t\tfirst reading", "peer sent DELETE",
		"2026-12-01T08:01:00Z\tdrop\t\twent down: " + nsx.MsgIKEv2AuthFailed,
		"2026-12-01T08:03:00Z\tstate\tdown\tdown for 2m0s: " + nsx.MsgIKEv2AuthFailed,
		"2026-12-01T08:04:00Z\tchange\t\tback up", "2026-12-01T08:04:00.000000001Z\tstate\tup\tback up",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("history lacks %q:\n%s", want, text)
		}
	}
	rep, err := Health(db, "", 24*time.Hour, t0.Add(time.Hour))
	if err != nil || len(rep.Tunnels) != 1 {
		t.Fatalf("health: %+v %v", rep, err)
	}
	if h := rep.Tunnels[0]; h.State != StateUp || h.Drops != 1 || h.LastFailure != nsx.MsgIKEv2AuthFailed || !h.Since.Equal(t0.Add(4*time.Minute)) {
		t.Errorf("health: %+v", h)
	}
	if rep, _ := Health(db, "edge-02", 24*time.Hour, t0.Add(time.Hour)); len(rep.Tunnels) != 0 {
		t.Errorf("edge filter: %+v", rep)
	}
}
