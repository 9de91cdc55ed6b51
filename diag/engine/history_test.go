package engine_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/engine"
	"ipsecbot/lab"
	"ipsecbot/store"
)

const authFailedMsg = "Version-IKEv2 Authentication Failed.Check the configured secret or local/peer ID configuration."

// saveAuthFailureHistory records in db what the watcher saw of edge-01's tunnel: down with the
// NSX auth failure at `at`, back up an hour later.
func saveAuthFailureHistory(t *testing.T, db *store.DB, at time.Time) {
	t.Helper()
	const site, tunnel = "site-1", "192.168.1.0/24-192.168.11.0/24"
	down := store.WatchSample{ChannelStatus: "down", TunnelStatus: "down", Failure: authFailedMsg}
	up := store.WatchSample{ChannelStatus: "up", TunnelStatus: "up", LocalSPI: "c1", PeerSPI: "c2"}
	tun := store.WatchTunnel{Edge: "edge-01", Site: site, Tunnel: tunnel, State: "up", Since: at.Add(time.Hour), Last: &up,
		LastFailure: authFailedMsg, LastFailureAt: at}
	evs := []store.WatchEvent{
		{Time: at, Kind: store.WatchDrop, Note: "went down: " + authFailedMsg, Sample: &down},
		{Time: at.Add(time.Minute), Kind: store.WatchSampled, Sample: &down},
		{Time: at.Add(time.Hour), Kind: store.WatchChanged, Note: "back up", Sample: &up},
	}
	if err := db.SaveWatch([]store.WatchTunnel{tun}, map[[3]string][]store.WatchEvent{{"edge-01", site, tunnel}: evs}); err != nil {
		t.Fatal(err)
	}
}

// Ensure a diagnosis of a tunnel that is healthy now, whose watch history holds the NSX auth
// failure of six hours ago, keeps the history as api/watch-history.tsv and names auth_failed
// citing the history's line; without history the healthy lab reads healthy as before.
func TestDiagnose_WatchHistoryProvesPastDrop(t *testing.T) {
	checkLeaks(t)
	l := startLab(t, "healthy", lab.Faults{})
	db := openStore(t)
	rep, out := diagnose(t, l, db, engine.Options{})
	if rep.Cause != diag.CauseHealthy && rep.Cause != diag.CauseUnknown {
		t.Fatalf("without history: cause = %s, want healthy (or unknown)", rep.Cause)
	}
	if _, err := os.Stat(filepath.Join(out, "api", "watch-history.tsv")); err == nil {
		t.Error("a watch history was written without watch data")
	}

	saveAuthFailureHistory(t, db, time.Now().Add(-6*time.Hour))
	rep, out = diagnose(t, l, db, engine.Options{})
	if rep.Cause != diag.CauseAuthFailed {
		t.Fatalf("with history: cause = %s, want auth_failed\nevidence: %v\nalso seen: %v", rep.Cause, rep.Evidence, rep.AlsoSeen)
	}
	i := slices.IndexFunc(rep.Evidence, func(e diag.Evidence) bool { return strings.HasPrefix(e.Ref, "api/watch-history.tsv:") })
	if i < 0 {
		t.Fatalf("no api/watch-history.tsv:LINE evidence: %v", rep.Evidence)
	}
	ev := rep.Evidence[i]
	b, err := os.ReadFile(filepath.Join(out, "api", "watch-history.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	if n, err := strconv.Atoi(strings.TrimPrefix(ev.Ref, "api/watch-history.tsv:")); err != nil || n < 1 || n > len(lines) || !strings.Contains(lines[n-1], authFailedMsg) {
		t.Errorf("ref %s does not point at the failure's row", ev.Ref)
	}
	if !strings.Contains(ev.Text, "before the diagnosis") {
		t.Errorf("evidence does not say when it was seen: %q", ev.Text)
	}
	if !slices.ContainsFunc(rep.Artifacts, func(a diag.Artifact) bool { return a.Name == "api/watch-history.tsv" }) {
		t.Errorf("the history is not an artifact: %v", rep.Artifacts)
	}
}
