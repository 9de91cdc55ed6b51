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
		"2026-12-01T08:00:00Z\tedge-01\tipsecsite-1\t10.0.0.0/24-10.1.0.0/24\tchange\t\tfirst reading", "peer sent DELETE",
		"2026-12-01T08:01:00Z\tedge-01\tipsecsite-1\t10.0.0.0/24-10.1.0.0/24\tdrop\t\twent down: " + nsx.MsgIKEv2AuthFailed,
		"10.1.0.0/24\tstate\tdown\tdown for 2m0s: " + nsx.MsgIKEv2AuthFailed,
		"24\tchange\t\tback up", "2026-12-01T08:04:00.000000001Z\tedge-01\tipsecsite-1\t10.0.0.0/24-10.1.0.0/24\tstate\tup\tback up",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("history lacks %q:\n%s", want, text)
		}
	}
	// A site's history covers its tunnels, in time order.
	other := &store.WatchTunnel{Edge: "edge-01", Site: "ipsecsite-1", Tunnel: "10.0.9.0/24-10.1.9.0/24"}
	evs, _ := p.observe(other, store.WatchSample{TunnelStatus: "up", LocalSPI: "e", PeerSPI: "f"}, t0.Add(2*time.Minute))
	if err := db.SaveWatch([]store.WatchTunnel{*other}, map[[3]string][]store.WatchEvent{keyOf(other).triple(): evs}); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := WriteHistory(&buf, db, Key{Edge: "edge-01", Site: "ipsecsite-1"}, 2*time.Hour, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	site := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")[2:]
	if len(site) != len(lines)-2+1 || !strings.Contains(site[2], "\t10.0.9.0/24-10.1.9.0/24\t") || !strings.HasPrefix(site[2], "2026-12-01T08:02:00Z") {
		t.Errorf("site history:\n%s", buf.String())
	}
	if err := WriteHistory(&buf, db, Key{}, time.Hour, t0); err == nil {
		t.Error("history without an edge was written")
	}

	rep, err := Health(db, "", 24*time.Hour, t0.Add(time.Hour))
	if err != nil || len(rep.Tunnels) != 2 {
		t.Fatalf("health: %+v %v", rep, err)
	}
	if h := rep.Tunnels[0]; h.State != StateUp || h.Drops != 1 || h.LastFailure != nsx.MsgIKEv2AuthFailed || !h.Since.Equal(t0.Add(4*time.Minute)) {
		t.Errorf("health: %+v", h)
	}
	if rep, _ := Health(db, "edge-02", 24*time.Hour, t0.Add(time.Hour)); len(rep.Tunnels) != 0 {
		t.Errorf("edge filter: %+v", rep)
	}
}
