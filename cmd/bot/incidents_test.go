package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/handlers"
	"ipsecbot/incident"
	"ipsecbot/store"
)

// incidentsFixture writes a config whose store holds two incidents, the first with a timeline
// and an artifact, and returns the config's path and the store's path.
func incidentsFixture(t *testing.T) (cfgPath, dbPath string) {
	t.Helper()
	dir := t.TempDir()
	cfgPath = filepath.Join(dir, "bot.yaml")
	if err := os.WriteFile(cfgPath, []byte("store:\n  path: ./data/bot.db\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dbPath = filepath.Join(dir, "data", "bot.db")
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	incidents := incident.New(db, incident.Options{Now: func() time.Time { return now }})
	first, err := incidents.Open(incident.Opening{Edge: "edge-01", Site: "branch-fw", Requester: "U012AB", Why: "diagnose edge-01"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := incidents.Transition(first.ID, store.StatusResolved, "U012AB", "resolved in Slack",
		incident.Finding("auth_failed", "IKEv2 authentication failed:\npre-shared key mismatch")); err != nil {
		t.Fatal(err)
	}
	if err := incidents.RecordArtifact(first.ID, store.Artifact{Path: "INC-1/capture.pcap", Kind: "pcap", Size: 2048, SHA256: strings.Repeat("0f", 32)}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if _, err := incidents.Open(incident.Opening{Edge: "edge-02", Diagnosing: true}); err != nil {
		t.Fatal(err)
	}
	return cfgPath, dbPath
}

func runBot(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), &env{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}, args)
	return code, out.String(), errOut.String()
}

// Ensure `incidents list` prints the store's incidents newest first, as a table and as JSON.
func TestIncidents_List(t *testing.T) {
	cfg, _ := incidentsFixture(t)
	code, out, errOut := runBot(t, "incidents", "list", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.HasPrefix(lines[1], "INC-2") || !strings.HasPrefix(lines[2], "INC-1") {
		t.Fatalf("table:\n%s", out)
	}
	if !strings.Contains(lines[2], "auth_failed") || !strings.Contains(lines[2], "IKEv2 authentication failed: pre-shared key mismatch") {
		t.Errorf("INC-1 row lacks cause or one-line summary: %q", lines[2])
	}

	code, out, errOut = runBot(t, "incidents", "list", "--config", cfg, "--json", "--status", "resolved")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var list []store.Incident
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
	}
	if len(list) != 1 || list[0].ID != "INC-1" || list[0].Cause != "auth_failed" {
		t.Errorf("resolved incidents = %+v", list)
	}

	code, out, _ = runBot(t, "incidents", "list", "--config", cfg, "--json", "--edge", "edge-09")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("no match: exit %d, %q", code, out)
	}
}

// Ensure `incidents show` prints one incident with its timeline and artifacts.
func TestIncidents_Show(t *testing.T) {
	cfg, _ := incidentsFixture(t)
	code, out, errOut := runBot(t, "incidents", "show", "INC-1", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"incident:   INC-1", "status:     resolved", "cause:      auth_failed", "timeline (2):", "diagnose edge-01", "resolved in Slack", "artifacts (1):", "INC-1/capture.pcap"} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}

	code, out, errOut = runBot(t, "incidents", "--config", cfg, "--json", "show", "INC-2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var d store.IncidentDetail
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
	}
	if d.Incident.ID != "INC-2" || d.Incident.Status != store.StatusDiagnosing || len(d.Timeline) != 1 || d.Artifacts == nil {
		t.Errorf("detail = %+v", d)
	}
	if !strings.Contains(out, `"artifacts": []`) {
		t.Errorf("no artifacts is not []: %s", out)
	}
}

// Ensure `incidents show` starts with the handoff brief built from the incident's
// report.json, and `incidents export` writes the postmortem skeleton, to a file with --out.
func TestIncidents_ShowBriefAndExport(t *testing.T) {
	cfg, dbPath := incidentsFixture(t)
	rep := diag.Report{Verdict: diag.Verdict{Cause: diag.CauseAuthFailed, Confidence: 0.99, Summary: "PSK mismatch",
		Evidence: []diag.Evidence{{Source: "log", Ref: "peer.log:136", Text: "MAC mismatched"}}}, Edge: "edge-01", Incident: "INC-1"}
	js, _ := json.Marshal(rep)
	dir := filepath.Join(filepath.Dir(dbPath), "artifacts", "INC-1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runBot(t, "incidents", "show", "INC-1", "--config", cfg)
	if code != 0 || !strings.HasPrefix(out, "**INC-1** handoff brief · edge-01 → branch-fw · resolved") ||
		!strings.Contains(out, "ruled in: auth_failed 0.99 — peer.log:136 MAC mismatched") || !strings.Contains(out, "incident:   INC-1") {
		t.Errorf("show: exit %d\n%s%s", code, out, errOut)
	}
	md := filepath.Join(t.TempDir(), "postmortem.md")
	code, out, errOut = runBot(t, "incidents", "export", "INC-1", "--config", cfg, "--out", md)
	data, err := os.ReadFile(md)
	if code != 0 || out != "" || err != nil {
		t.Fatalf("export: exit %d %q %q, %v", code, out, errOut, err)
	}
	for _, want := range []string{"# Postmortem: INC-1 — edge-01 → branch-fw", "- Cause: auth_failed", "resolved in Slack",
		"- Ruled in: auth_failed 0.99 — peer.log:136 MAC mismatched", "## Updates", "## Commanders", "INC-1/capture.pcap"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("export lacks %q:\n%s", want, data)
		}
	}
	if code, _, errOut := runBot(t, "incidents", "export", "--config", cfg); code != 2 || !strings.Contains(errOut, "export takes one incident ID") {
		t.Errorf("export without ID: %d %q", code, errOut)
	}
}

// Ensure mistakes get one line and the right exit status: 2 for usage, 1 for failures.
func TestIncidents_Errors(t *testing.T) {
	cfg, dbPath := incidentsFixture(t)
	missingStore := filepath.Join(t.TempDir(), "bot.yaml")
	if err := os.WriteFile(missingStore, []byte("store: {path: ./none.db}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badConfig := filepath.Join(t.TempDir(), "bot.yaml")
	if err := os.WriteFile(badConfig, []byte("store:\n  pth: ./bot.db\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"NoSubcommand", []string{"--config", cfg}, 2, "bot incidents: want list, show ID or export ID"},
		{"NoConfig", []string{"list"}, 2, "bot incidents: --config FILE is required"},
		{"UnknownSubcommand", []string{"purge", "--config", cfg}, 2, `bot incidents: unknown incidents command "purge": want list, show ID or export ID`},
		{"ShowWithoutID", []string{"show", "--config", cfg}, 2, "bot incidents: show takes one incident ID, e.g. show INC-12"},
		{"BadStatus", []string{"list", "--status", "closed", "--config", cfg}, 2, `bot incidents: unknown --status "closed" (one of open, diagnosing, resolved, escalated, interrupted)`},
		{"UnknownFlag", []string{"list", "--verbose", "--config", cfg}, 2, "bot incidents: flag provided but not defined: -verbose"},
		{"NotFound", []string{"show", "INC-7", "--config", cfg}, 1, "bot incidents: incident INC-7: not found"},
		{"BadID", []string{"show", "12", "--config", cfg}, 1, `bot incidents: incident "12": not found (IDs look like INC-12)`},
		{"BadConfig", []string{"list", "--config", badConfig}, 1, "bot incidents: " + badConfig + `:2: unknown key "pth" in store`},
		{"NoStoreYet", []string{"list", "--config", missingStore}, 1, "bot incidents: no store at " + filepath.Join(filepath.Dir(missingStore), "none.db") + " yet: nothing has been recorded with this configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runBot(t, append([]string{"incidents"}, tt.args...)...)
			if code != tt.code || strings.TrimSpace(errOut) != tt.want || out != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit %d, stderr %q", code, errOut, out, tt.code, tt.want)
			}
		})
	}

	// While another holder (the running bot) has the store open, the command says so at once.
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	code, _, errOut := runBot(t, "incidents", "list", "--config", cfg)
	want := "bot incidents: the store " + dbPath + " is in use by another process (is `bot serve` running with this configuration?), and the configuration has no slack.listen to ask the bot on; incidents can be read from the terminal once it stops\n"
	if code != 1 || errOut != want {
		t.Errorf("in use: exit %d, %q", code, errOut)
	}
	if err := db.Check(); err != nil {
		t.Errorf("store damaged: %v", err)
	}
}

// setListen gives the configuration at cfgPath the bot's HTTP listen address.
func setListen(t *testing.T, cfgPath, listen string) {
	t.Helper()
	f, err := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "slack:\n  listen: %q\n", listen); err != nil {
		t.Fatal(err)
	}
}

// noDiagnoses is the engine of a bot that is only asked about incidents.
type noDiagnoses struct{}

func (noDiagnoses) Execute(context.Context, *incident.Run, diag.Request, ...diag.Listener) (*diag.Report, error) {
	return nil, errors.New("this bot only answers incident queries")
}

// holdStore opens the store at dbPath the way `bot serve` does and serves the bot's HTTP
// handler for cfgPath on ln. It returns the open store and a func that stops the HTTP server
// (the store stays held until the test ends).
func holdStore(t *testing.T, cfgPath, dbPath string, ln net.Listener) (*store.DB, func()) {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	bot, err := handlers.New(handlers.Options{
		Config: cfg, Store: db, Engine: noDiagnoses{}, SigningSecret: "incidents-test-secret",
		Slack: handlers.NewSlackClient("xoxb-incidents-test", "", "http://127.0.0.1:1/api/", time.Second),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(bot.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			srv.Close()
		}
	}
	t.Cleanup(func() {
		stop()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := bot.Shutdown(ctx); err != nil {
			t.Errorf("bot shutdown: %v", err)
		}
	})
	return db, stop
}

// Ensure `bot incidents` prints exactly the same (stdout, stderr, exit status) through the
// running bot as from the file, for every list and show form; that a slack.listen of 0.0.0.0
// is asked on 127.0.0.1; and that when the bot does not answer either, one line says both.
func TestIncidents_ThroughRunningBot(t *testing.T) {
	cfg, dbPath := incidentsFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	setListen(t, cfg, fmt.Sprintf("0.0.0.0:%d", port))

	cases := [][]string{
		{"list"}, {"list", "--json"}, {"list", "--status", "resolved", "--json"}, {"list", "--status", "diagnosing", "--status", "open"},
		{"list", "--edge", "edge-02"}, {"list", "--edge", "edge-09", "--json"}, {"list", "--limit", "1", "--json"},
		{"show", "INC-1"}, {"show", "INC-1", "--json"}, {"show", "inc-2"}, {"show", "INC-2", "--json"},
		{"show", "INC-7"}, {"show", "12"}, {"export", "INC-1"},
	}
	type result struct {
		code        int
		out, errOut string
	}
	direct := make([]result, len(cases))
	for i, args := range cases {
		code, out, errOut := runBot(t, append([]string{"incidents", "--config", cfg}, args...)...)
		direct[i] = result{code, out, errOut}
	}
	if direct[0].code != 0 || !strings.Contains(direct[0].out, "INC-1") || direct[11].code != 1 {
		t.Fatalf("direct reads: %+v", direct)
	}

	db, stopHTTP := holdStore(t, cfg, dbPath, ln)
	for i, args := range cases {
		code, out, errOut := runBot(t, append([]string{"incidents", "--config", cfg}, args...)...)
		if got := (result{code, out, errOut}); got != direct[i] {
			t.Errorf("incidents %s through the bot:\nexit %d\n%s%s\nfrom the file:\nexit %d\n%s%s",
				strings.Join(args, " "), got.code, got.out, got.errOut, direct[i].code, direct[i].out, direct[i].errOut)
		}
	}

	stopHTTP()
	code, out, errOut := runBot(t, "incidents", "show", "INC-1", "--config", cfg)
	prefix := "bot incidents: the store " + dbPath + " is in use by another process (is `bot serve` running with this configuration?)" +
		fmt.Sprintf(", and asking the bot at http://127.0.0.1:%d/incidents failed: ", port)
	if code != 1 || out != "" || !strings.HasPrefix(errOut, prefix) || !strings.HasSuffix(errOut, "connection refused\n") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("bot not answering: exit %d, stdout %q, stderr %q; want one line starting %q", code, out, errOut, prefix)
	}
	if err := db.Check(); err != nil {
		t.Errorf("store damaged: %v", err)
	}
}
