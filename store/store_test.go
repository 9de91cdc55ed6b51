package store_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"ipsecbot/store"
)

// mustOpen opens a store in a fresh temp dir; its cleanup checks the file's consistency and closes it.
func mustOpen(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(filepath.Join(tb.TempDir(), "bot.db"), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Check(); err != nil {
			tb.Errorf("consistency check: %v", err)
		}
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

// clock returns a Now func that starts at t0 and advances a second per call.
func clock(t0 time.Time) func() time.Time {
	t := t0
	return func() time.Time { t = t.Add(time.Second); return t }
}

var t0 = time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)

// Ensure incidents get sequential INC-<n> IDs, default status and times, and read back as stored.
func TestDB_CreateIncident(t *testing.T) {
	db := mustOpen(t)
	db.Now = clock(t0)
	a, err := db.CreateIncident(store.Incident{Edge: "edge-01", Site: "branch-fw", Requester: "U012AB"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.CreateIncident(store.Incident{Edge: "edge-02", Status: store.StatusDiagnosing})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "INC-1" || b.ID != "INC-2" {
		t.Errorf("IDs = %s, %s", a.ID, b.ID)
	}
	if a.Status != store.StatusOpen || !a.Created.Equal(t0.Add(time.Second)) || !a.Updated.Equal(a.Created) {
		t.Errorf("defaults: %+v", a)
	}
	got, err := db.Incident("INC-1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Errorf("Incident(INC-1) = %+v, want %+v", got, a)
	}
	if got, err := db.Incident("inc-2"); err != nil || got.ID != "INC-2" {
		t.Errorf("lower-case ID: %+v, %v", got, err)
	}
	for _, id := range []string{"INC-3", "INC-0", "INC-x", "3", ""} {
		if _, err := db.Incident(id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Incident(%q) error = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := db.CreateIncident(store.Incident{}); err == nil {
		t.Error("incident without edge accepted")
	}
	if _, err := db.CreateIncident(store.Incident{Edge: "edge-01", Status: "closed"}); err == nil {
		t.Error("unknown status accepted")
	}
}

// Ensure UpdateIncident changes only what fn changes, keeps ID and Created, and rolls back on error.
func TestDB_UpdateIncident(t *testing.T) {
	db := mustOpen(t)
	db.Now = clock(t0)
	inc, err := db.CreateIncident(store.Incident{Edge: "edge-01"})
	if err != nil {
		t.Fatal(err)
	}
	up, err := db.UpdateIncident(inc.ID, func(i *store.Incident) error {
		i.Status, i.Cause, i.ID = store.StatusResolved, "auth_failed", "INC-99"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.ID != inc.ID || up.Status != store.StatusResolved || up.Cause != "auth_failed" || !up.Created.Equal(inc.Created) || !up.Updated.After(inc.Updated) {
		t.Errorf("updated = %+v", up)
	}
	boom := errors.New("boom")
	if _, err := db.UpdateIncident(inc.ID, func(i *store.Incident) error { i.Cause = "x"; return boom }); !errors.Is(err, boom) {
		t.Errorf("fn error = %v", err)
	}
	if _, err := db.UpdateIncident(inc.ID, func(i *store.Incident) error { i.Status = "closed"; return nil }); err == nil {
		t.Error("unknown status accepted")
	}
	if got, _ := db.Incident(inc.ID); !reflect.DeepEqual(got, up) {
		t.Errorf("failed updates changed the incident: %+v", got)
	}
	if _, err := db.UpdateIncident("INC-7", func(*store.Incident) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing incident: %v", err)
	}
}

// Ensure CreateIncident and ChangeIncident commit the incident and its timeline entries
// together: an unknown kind or a failing fn leaves both as they were.
func TestDB_ChangeIncident_WithEvents(t *testing.T) {
	db := mustOpen(t)
	db.Now = clock(t0)
	inc, err := db.CreateIncident(store.Incident{Edge: "edge-01"}, store.Event{Kind: store.EventOpened, Text: "opened", Actor: "U1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ChangeIncident(inc.ID, func(i *store.Incident) ([]store.Event, error) {
		i.Status = store.StatusResolved
		return []store.Event{{Kind: "closed", Text: "typo"}}, nil
	}); err == nil {
		t.Error("unknown event kind accepted")
	}
	if _, err := db.ChangeIncident(inc.ID, func(i *store.Incident) ([]store.Event, error) {
		i.Status = store.StatusResolved
		return []store.Event{{Kind: store.EventStatus, Text: "resolved"}}, errors.New("refused")
	}); err == nil {
		t.Error("fn error ignored")
	}
	if got, _ := db.Incident(inc.ID); got.Status != store.StatusOpen {
		t.Errorf("failed changes moved the status to %s", got.Status)
	}
	up, err := db.ChangeIncident(inc.ID, func(i *store.Incident) ([]store.Event, error) {
		i.Status = store.StatusResolved
		return []store.Event{{Kind: store.EventStatus, Text: "resolved"}}, nil
	})
	if err != nil || up.Status != store.StatusResolved {
		t.Fatalf("change: %+v %v", up, err)
	}
	tl, err := db.Timeline(inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Event{
		{Time: inc.Created, Kind: store.EventOpened, Text: "opened", Actor: "U1"},
		{Time: up.Updated, Kind: store.EventStatus, Text: "resolved"},
	}
	if !reflect.DeepEqual(tl, want) {
		t.Errorf("timeline = %+v, want %+v", tl, want)
	}
	if _, err := db.CreateIncident(store.Incident{Edge: "edge-02"}, store.Event{Kind: "created"}); err == nil {
		t.Error("unknown event kind accepted at creation")
	}
	if list, _ := db.Incidents(store.IncidentFilter{}); len(list) != 1 {
		t.Errorf("a refused creation left an incident: %+v", list)
	}
}

// Ensure Incidents lists newest first and applies every filter field.
func TestDB_Incidents_Filter(t *testing.T) {
	db := mustOpen(t)
	for _, in := range []store.Incident{
		{Edge: "edge-01", Status: store.StatusResolved},
		{Edge: "edge-02", Status: store.StatusOpen},
		{Edge: "edge-01", Status: store.StatusDiagnosing},
		{Edge: "edge-01", Status: store.StatusOpen},
	} {
		if _, err := db.CreateIncident(in); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		f    store.IncidentFilter
		want []string
	}{
		{"All", store.IncidentFilter{}, []string{"INC-4", "INC-3", "INC-2", "INC-1"}},
		{"Edge", store.IncidentFilter{Edge: "edge-01"}, []string{"INC-4", "INC-3", "INC-1"}},
		{"Statuses", store.IncidentFilter{Statuses: []store.Status{store.StatusOpen, store.StatusDiagnosing}}, []string{"INC-4", "INC-3", "INC-2"}},
		{"EdgeAndStatus", store.IncidentFilter{Edge: "edge-01", Statuses: []store.Status{store.StatusOpen}}, []string{"INC-4"}},
		{"Limit", store.IncidentFilter{Limit: 2}, []string{"INC-4", "INC-3"}},
		{"NoMatch", store.IncidentFilter{Edge: "edge-09"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := db.Incidents(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, inc := range list {
				ids = append(ids, inc.ID)
			}
			if !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("got %v, want %v", ids, tt.want)
			}
		})
	}
}

// Ensure timelines and artifacts keep their order per incident and refuse unknown incidents.
func TestDB_Timeline_Artifacts(t *testing.T) {
	db := mustOpen(t)
	db.Now = clock(t0)
	a, _ := db.CreateIncident(store.Incident{Edge: "edge-01"})
	b, _ := db.CreateIncident(store.Incident{Edge: "edge-02"})
	for i, id := range []string{a.ID, b.ID, a.ID, a.ID} {
		if err := db.AppendEvent(id, store.Event{Kind: store.EventStep, Text: fmt.Sprintf("step %d", i), Actor: "bot"}); err != nil {
			t.Fatal(err)
		}
	}
	events, err := db.Timeline(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, e := range events {
		texts = append(texts, e.Text)
		if e.Time.IsZero() {
			t.Error("event time not set")
		}
	}
	if !reflect.DeepEqual(texts, []string{"step 0", "step 2", "step 3"}) {
		t.Errorf("timeline of %s = %v", a.ID, texts)
	}
	if err := db.AppendEvent("INC-9", store.Event{Kind: store.EventStep, Text: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("event on missing incident: %v", err)
	}
	if _, err := db.Timeline("INC-9"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("timeline of missing incident: %v", err)
	}

	pcap := store.Artifact{Path: "INC-2/capture.pcap", Kind: "pcap", Size: 4096, SHA256: strings.Repeat("ab", 32)}
	report := store.Artifact{Path: "INC-2/report.json", Kind: "report", Size: 812, SHA256: strings.Repeat("cd", 32)}
	for _, art := range []store.Artifact{pcap, report} {
		if err := db.AddArtifact(b.ID, art); err != nil {
			t.Fatal(err)
		}
	}
	arts, err := db.Artifacts(b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(arts, []store.Artifact{pcap, report}) {
		t.Errorf("artifacts = %+v", arts)
	}
	if arts, err := db.Artifacts(a.ID); err != nil || len(arts) != 0 {
		t.Errorf("artifacts of %s = %v, %v", a.ID, arts, err)
	}
	if err := db.AddArtifact("INC-9", pcap); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("artifact on missing incident: %v", err)
	}
}

// Ensure running captures survive a reopen (so a restarted bot can clean them up) and can be deleted.
func TestDB_Captures_SurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c1 := store.Capture{Edge: "edge-01", Interface: "vNic_0", File: "ipsec-1.pcap", Incident: "INC-1", Started: t0}
	c2 := store.Capture{Edge: "edge-02", Interface: "vNic_0", File: "ipsec-2.pcap", Started: t0}
	for _, c := range []store.Capture{c2, c1} {
		if err := db.PutCapture(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PutCapture(store.Capture{Edge: "edge-01"}); err == nil {
		t.Error("capture without file accepted")
	}
	db.Close()

	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Captures()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []store.Capture{c1, c2}) {
		t.Errorf("captures after reopen = %+v", got)
	}
	if err := db.DeleteCapture("edge-01", "ipsec-1.pcap"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteCapture("edge-01", "ipsec-1.pcap"); err != nil {
		t.Errorf("second delete: %v", err)
	}
	if got, _ := db.Captures(); !reflect.DeepEqual(got, []store.Capture{c2}) {
		t.Errorf("captures after delete = %+v", got)
	}
}

// Ensure a tunnel's range query returns exactly its samples in [from, to), and prune removes only old ones.
func TestDB_Health_RangeAndPrune(t *testing.T) {
	db := mustOpen(t)
	var samples []store.HealthSample
	for _, edge := range []string{"edge-01", "edge-010", "edge-02"} {
		for _, tunnel := range []string{"t1", "t2"} {
			for i := range 12 { // an hour of 5-minute samples
				state := "up"
				if i%4 == 3 {
					state = "down"
				}
				samples = append(samples, store.HealthSample{Edge: edge, Site: "branch-fw", Tunnel: tunnel, State: state, Time: t0.Add(time.Duration(i) * 5 * time.Minute)})
			}
		}
	}
	if err := db.AppendHealth(samples...); err != nil {
		t.Fatal(err)
	}
	got, err := db.Health("edge-01", "branch-fw", "t2", t0.Add(10*time.Minute), t0.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := []store.HealthSample{
		{Edge: "edge-01", Site: "branch-fw", Tunnel: "t2", State: "up", Time: t0.Add(10 * time.Minute)},
		{Edge: "edge-01", Site: "branch-fw", Tunnel: "t2", State: "down", Time: t0.Add(15 * time.Minute)},
		{Edge: "edge-01", Site: "branch-fw", Tunnel: "t2", State: "up", Time: t0.Add(20 * time.Minute)},
		{Edge: "edge-01", Site: "branch-fw", Tunnel: "t2", State: "up", Time: t0.Add(25 * time.Minute)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Health = %+v\nwant %+v", got, want)
	}
	if all, _ := db.Health("edge-01", "branch-fw", "t1", t0.Add(-time.Hour), t0.Add(time.Hour)); len(all) != 12 {
		t.Errorf("whole hour of edge-01/t1: %d samples, want 12 (a prefix edge like edge-010 must not leak in)", len(all))
	}
	if none, _ := db.Health("edge-03", "branch-fw", "t1", t0, t0.Add(time.Hour)); len(none) != 0 {
		t.Errorf("unknown tunnel: %d samples", len(none))
	}

	n, err := db.PruneHealth(t0.Add(30 * time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if n != 6*6 {
		t.Errorf("pruned %d, want 36", n)
	}
	for _, edge := range []string{"edge-01", "edge-010", "edge-02"} {
		left, _ := db.Health(edge, "branch-fw", "t1", time.Time{}, t0.Add(2*time.Hour))
		if len(left) != 6 || !left[0].Time.Equal(t0.Add(30*time.Minute)) {
			t.Errorf("%s after prune: %d samples from %v", edge, len(left), left)
		}
	}
	// States the fast decoder does not take go through the JSON decoder.
	odd := []store.HealthSample{
		{Edge: "edge-01", Site: "branch-fw", Tunnel: "t3", State: `say "up"`, Time: t0},
		{Edge: "edge-01", Site: "branch-fw", Tunnel: "t3", State: `<down> \ é`, Time: t0.Add(time.Minute)},
		{Edge: "edge-01", Site: "branch-fw", Tunnel: "t3", State: "negotiating", Time: t0.Add(2 * time.Minute)},
		{Edge: "edge-01", Site: "branch-fw", Tunnel: "t3", State: "", Time: t0.Add(3 * time.Minute)},
	}
	if err := db.AppendHealth(odd...); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Health("edge-01", "branch-fw", "t3", t0, t0.Add(time.Hour)); err != nil || !reflect.DeepEqual(got, odd) {
		t.Errorf("odd states = %+v, %v", got, err)
	}
	if err := db.AppendHealth(store.HealthSample{Site: "x"}); err == nil {
		t.Error("sample without edge accepted")
	}
	if err := db.AppendHealth(store.HealthSample{Edge: "a\x00b"}); err == nil {
		t.Error("edge with NUL accepted")
	}
}

// Ensure the audit log is append-only in time order and queried by half-open range.
func TestDB_AuditLog(t *testing.T) {
	db := mustOpen(t)
	for i, cmd := range []string{"diagnose", "capture", "resolve"} {
		r := store.AuditRecord{Time: t0.Add(time.Duration(i) * time.Minute), User: "U012AB", Channel: "C0123", Command: cmd, Args: "edge-01", Outcome: "ok"}
		if err := db.Audit(r); err != nil {
			t.Fatal(err)
		}
	}
	// Two records in the same nanosecond are both kept.
	if err := db.Audit(store.AuditRecord{Time: t0, User: "U999", Command: "diagnose", Outcome: "denied"}); err != nil {
		t.Fatal(err)
	}
	got, err := db.AuditLog(t0, t0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, r := range got {
		cmds = append(cmds, r.User+":"+r.Command+":"+r.Outcome)
	}
	want := []string{"U012AB:diagnose:ok", "U999:diagnose:denied", "U012AB:capture:ok"}
	if !reflect.DeepEqual(cmds, want) {
		t.Errorf("audit log = %v, want %v", cmds, want)
	}
}

// Ensure IDs keep counting after a reopen.
func TestOpen_ReopenKeepsSequence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "bot.db")
	for want := 1; want <= 3; want++ {
		db, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		inc, err := db.CreateIncident(store.Incident{Edge: "edge-01"})
		db.Close()
		if err != nil || inc.ID != fmt.Sprintf("INC-%d", want) {
			t.Fatalf("open %d: %s, %v", want, inc.ID, err)
		}
	}
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if list, err := db.Incidents(store.IncidentFilter{}); err != nil || len(list) != 3 {
		t.Errorf("read-only list: %d, %v", len(list), err)
	}
}

// Ensure a file written by a newer schema is refused, not misread.
func TestOpen_ErrNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = raw.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte{0, 0, 0, 0, 0, 0, 0, store.SchemaVersion + 1})
	})
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		_, err := store.Open(path, store.Options{ReadOnly: ro})
		if !errors.Is(err, store.ErrNewerSchema) {
			t.Errorf("ReadOnly=%v: err = %v, want ErrNewerSchema", ro, err)
		}
	}
}

// Ensure a file that is not a bbolt store is refused with an error.
func TestOpen_NotAStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database\n", 500)), 0o600); err != nil {
		t.Fatal(err)
	}
	if db, err := store.Open(path, store.Options{}); err == nil {
		db.Close()
		t.Fatal("opened a text file as a store")
	}
}

// Ensure a second process gets ErrInUse within the lock timeout instead of hanging.
func TestOpen_ErrInUse_SecondProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, mode := range []string{"lock", "lock-ro"} {
		out, err := helper(t, mode, path).CombinedOutput()
		if err != nil {
			t.Fatalf("%s helper: %v\n%s", mode, err, out)
		}
		if got := strings.TrimSpace(string(out)); !strings.HasPrefix(got, "in use: open store "+path+": database is in use by another process") {
			t.Errorf("%s helper said %q", mode, got)
		}
	}
	db.Close()
	out, err := helper(t, "lock", path).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "opened" {
		t.Errorf("after Close the helper said %q, %v", out, err)
	}
}

// Ensure every write acknowledged before a SIGKILL is in the file after it reopens.
func TestDB_SurvivesSIGKILL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	cmd := helper(t, "crash", path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	lines := bufio.NewScanner(stdout)
	for len(acked) < 300 && lines.Scan() {
		acked = append(acked, lines.Text())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() { // lines printed before the kill landed are acknowledged too
		acked = append(acked, lines.Text())
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("helper was not killed by SIGKILL: %v (%v)", cmd.ProcessState, err)
	}
	if len(acked) < 300 {
		t.Fatalf("helper acknowledged only %d writes", len(acked))
	}

	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatalf("consistency check after SIGKILL: %v", err)
	}
	for _, id := range acked {
		inc, err := db.Incident(id)
		if err != nil {
			t.Fatalf("acknowledged %s: %v", id, err)
		}
		events, err := db.Timeline(id)
		if err != nil || len(events) != 1 || events[0].Text != "created "+inc.ID {
			t.Fatalf("timeline of acknowledged %s: %+v, %v", id, events, err)
		}
	}
	t.Logf("%d acknowledged incidents all present after SIGKILL", len(acked))
}

// helper re-executes this test binary as TestHelperProcess in the given mode against path.
func helper(t *testing.T, mode, path string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a guard against hangs, not a measurement
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "STORE_TEST_HELPER="+mode, "STORE_TEST_DB="+path)
	return cmd
}

// TestHelperProcess is the second process of the lock and crash tests; it does nothing in a normal run.
func TestHelperProcess(t *testing.T) {
	mode, path := os.Getenv("STORE_TEST_HELPER"), os.Getenv("STORE_TEST_DB")
	if mode == "" {
		t.Skip("helper process only")
	}
	defer os.Exit(0)
	switch mode {
	case "lock", "lock-ro":
		db, err := store.Open(path, store.Options{LockTimeout: 300 * time.Millisecond, ReadOnly: mode == "lock-ro"})
		switch {
		case errors.Is(err, store.ErrInUse):
			fmt.Printf("in use: %v\n", err)
		case err != nil:
			fmt.Printf("other error: %v\n", err)
		default:
			db.Close()
			fmt.Println("opened")
		}
	case "crash":
		db, err := store.Open(path, store.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for { // until killed
			inc, err := db.CreateIncident(store.Incident{Edge: "edge-01", Summary: strings.Repeat("x", 512)})
			if err == nil {
				err = db.AppendEvent(inc.ID, store.Event{Kind: store.EventOpened, Text: "created " + inc.ID})
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			fmt.Println(inc.ID) // only after both writes are committed
		}
	}
}

// FuzzIncident checks that any ID a user types is either found or ErrNotFound, never a panic
// or another error.
func FuzzIncident(f *testing.F) {
	for _, id := range []string{"INC-1", "inc-2", "INC-0", "INC-", "INC-18446744073709551615", "INC-18446744073709551616", "INC--1", "INC-+1", "12", ""} {
		f.Add(id)
	}
	db := mustOpen(f)
	if _, err := db.CreateIncident(store.Incident{Edge: "edge-01"}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id string) {
		inc, err := db.Incident(id)
		switch {
		case err == nil && inc.ID != "INC-1": // the only incident there is
			t.Errorf("Incident(%q) returned %s", id, inc.ID)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			t.Errorf("Incident(%q) error = %v", id, err)
		}
	})
}
