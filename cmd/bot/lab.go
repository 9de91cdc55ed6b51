package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"ipsecbot/lab"
)

// runLab is `bot lab [--scenario NAME] [--listen ADDR] [--write-config FILE] [--edges N
// [--flap-every DUR]]`: the simulated NSX world, standalone, until interrupted. With
// --write-config the lab's files (CA, secrets, known_hosts) go beside FILE, and FILE is
// written once every listener is up. --edges stages edge-01 ... edge-N for `bot watch`.
func runLab(ctx context.Context, e *env, args []string) error {
	fs := newFlags("lab", e)
	scenario := fs.String("scenario", lab.DefaultScenario, "scenario to stage")
	listen := fs.String("listen", "127.0.0.1", "host (or host:port for the Manager) to listen on")
	writeConfig := fs.String("write-config", "", "write a configuration pointing at the lab to FILE")
	edges := fs.Int("edges", 0, "stage edges edge-01 ... edge-N, two tunnels each, for bot watch: edge-01's first tunnel drops\nevery --flap-every (down a third of it, authentication failed), the others rekey every 30s")
	flapEvery := fs.Duration("flap-every", lab.DefaultFlapEvery, "with --edges: how often edge-01's first tunnel drops")
	scpListen := fs.String("scp-listen", "", "host:port the bot's capture endpoint will listen on (written into the configuration);\ndefault: a free port on the listen host")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if _, ok := lab.LookupScenario(*scenario); !ok {
		return usagef("unknown scenario %q (one of: %s)", *scenario, strings.Join(lab.ScenarioNames(), ", "))
	}
	if *edges < 0 || *edges > 1000 {
		return usagef("--edges must be between 0 (the scenario's edge alone) and 1000")
	}
	if *scpListen != "" {
		if _, _, err := net.SplitHostPort(*scpListen); err != nil {
			return usagef("--scp-listen %q is not host:port", *scpListen)
		}
	}
	if *flapEvery < 3*time.Second {
		return usagef("--flap-every must be at least 3s")
	}
	opts := lab.Options{Scenario: *scenario, Listen: *listen, Edges: *edges, FlapEvery: *flapEvery, BotElsewhere: true, SCPListen: *scpListen}
	if *writeConfig != "" {
		abs, err := filepath.Abs(*writeConfig)
		if err != nil {
			return err
		}
		*writeConfig, opts.Dir = abs, filepath.Dir(abs)
	}
	l, err := lab.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer l.Close()
	if *writeConfig != "" {
		if err := l.WriteConfig(*writeConfig); err != nil {
			return err
		}
	}
	printLab(e, l, *writeConfig, *flapEvery)
	<-ctx.Done()
	fmt.Fprintln(e.stderr, "lab: stopped")
	return nil
}

// printLab tells the user where everything listens and how to reach it by hand.
func printLab(e *env, l *lab.Lab, configPath string, flapEvery time.Duration) {
	cfg := l.Config()
	m, ed := cfg.Managers[0], cfg.Edges[0]
	p := ed.Peers[0]
	file := func(name string) string { return filepath.Join(l.Dir(), name) }
	sc := l.Scenario()
	w := e.stdout
	fmt.Fprintf(w, "lab: scenario %s (cause %s, IKEv%d): %s\n", sc.Name, sc.Label, sc.IKEVersion, sc.Description)
	fmt.Fprintf(w, "NSX Manager API: %s  user %s, password in %s, CA %s\n", m.URL, m.User, file(lab.FileManagerPassword), file(lab.FileCA))
	fmt.Fprintf(w, "Edge %s SSH: %s  user %s, password in %s\n", ed.Name, ed.SSH.Address, ed.SSH.User, file(lab.FileEdgePassword))
	fmt.Fprintf(w, "Peer %s SSH: %s  user %s, key %s\n", p.Name, p.SSH.Address, p.SSH.User, file(lab.FilePeerKey))
	fmt.Fprintf(w, "known_hosts: %s\n", file(lab.FileKnownHosts))
	fmt.Fprintf(w, "try: curl --cacert %s -u %s:$(cat %s) %s/api/4.0/edges/%s/ipsec/statistics\n",
		file(lab.FileCA), m.User, file(lab.FileManagerPassword), m.URL, lab.EdgeID)
	host, port, _ := net.SplitHostPort(ed.SSH.Address)
	fmt.Fprintf(w, "try: ssh -o UserKnownHostsFile=%s -p %s %s@%s\n", file(lab.FileKnownHosts), port, ed.SSH.User, host)
	if n := len(cfg.Edges); n > 1 {
		fmt.Fprintf(w, "watch lab: %d edges (%s ... %s), two tunnels each; %s's first tunnel drops every %s, the others rekey every %s\n",
			n, cfg.Edges[0].Name, cfg.Edges[n-1].Name, cfg.Edges[0].Name, flapEvery, lab.WatchRekeyEvery)
	}
	if configPath != "" {
		fmt.Fprintf(w, "config: %s\n", configPath)
	}
	fmt.Fprintln(w, "running until interrupted (Ctrl-C)")
}
