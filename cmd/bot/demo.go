package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/diag/datapath/scene"
	"ipsecbot/diag/engine"
	"ipsecbot/lab"
)

// demoCaptureSeconds is the demo's capture window: a few seconds, so the demo is quick (the
// lab's Edge hands back its scenario's capture whenever it is stopped).
const demoCaptureSeconds = 3

// runDemo is `bot demo [--scenario S] [--out DIR] [--list] [--capture-seconds N]`: the lab on
// loopback, the whole procedure against it over real SSH and HTTPS, the report as it would
// be posted, and the artifacts in DIR.
func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlags("demo", e)
	scenario := fs.String("scenario", lab.DefaultScenario, "lab scenario (see --list)")
	out := fs.String("out", "out", "directory for the report and artifacts: "+outRule)
	list := fs.Bool("list", false, "print the scenario names, one a line")
	secs := fs.Int("capture-seconds", demoCaptureSeconds, "capture window in seconds")
	watching := fs.Bool("watch", false, "the watcher instead: a tunnel that keeps dropping, caught by the watcher, diagnosed at once")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *list {
		for _, name := range append(lab.ScenarioNames(), dataPathScenarios()...) {
			fmt.Fprintln(e.stdout, name)
		}
		return nil
	}
	if *secs <= 0 {
		return usagef("--capture-seconds must be positive")
	}
	// The lab's edge allows the configuration's default capture time cap.
	if err := checkWindow(*secs, config.DefaultCaptureCapSeconds*time.Second); err != nil {
		return err
	}
	dp, isDataPath := scene.Lookup(*scenario)
	sc, ok := lab.LookupScenario(*scenario)
	if !ok && !isDataPath {
		return usagef("unknown scenario %q (one of: %s)", *scenario, strings.Join(append(lab.ScenarioNames(), dataPathScenarios()...), ", "))
	}
	dir, err := filepath.Abs(*out)
	if *out == "" || err != nil {
		return usagef("--out must name a directory")
	}
	if err := prepareOut(dir); err != nil {
		return err
	}
	// A data-path scenario is step 8 on request against a healthy lab whose ESXi host, Edge
	// and far side capture that scene.
	name, dataPath := sc.Name, ""
	if isDataPath {
		name, dataPath = lab.DataPathScenario, dp.Name()
	}
	if *watching {
		return runDemoWatch(ctx, e, dir, *secs)
	}
	labDir, err := os.MkdirTemp("", "bot-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(labDir)
	// The lab outlives an interrupt: the cut-short run still stops, fetches and removes its
	// capture and collects the logs over it. It closes when the run has returned.
	l, err := lab.Start(context.WithoutCancel(ctx), lab.Options{Scenario: name, Dir: labDir, DataPath: dataPath})
	if err != nil {
		return fmt.Errorf("start the lab: %w", err)
	}
	defer l.Close()
	cfg := l.Config()
	fmt.Fprintf(e.stderr, "demo: lab scenario %s on loopback (NSX Manager %s, Edge SSH %s, peer SSH %s)\n",
		name+" "+dataPath, cfg.Managers[0].URL, cfg.Edges[0].SSH.Address, cfg.Edges[0].Peers[0].SSH.Address)
	db, err := openStoreForRun(cfg, e.stderr) // the lab's store file, in its temporary directory
	if err != nil {
		return err
	}
	if db != nil {
		defer db.Close()
	}
	if isDataPath {
		esxi, far := l.DataPathHosts()
		fmt.Fprintf(e.stderr, "demo: data-path hosts %s (ESXi, SSH %s) and %s (far side, SSH %s)\n", lab.ESXiName, esxi.Addr(), lab.FarName, far.Addr())
	}
	req := diag.Request{Edge: cfg.Edges[0].Name, CaptureSeconds: *secs, OutDir: dir, Requester: "cli", DataPath: isDataPath}
	return diagnoseAndPrint(ctx, e, cfg, db, req, engine.Options{Logger: stderrLogger(e.stderr)}, false, nil)
}
