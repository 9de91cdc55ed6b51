package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"ipsecbot/diag"
	"ipsecbot/diag/datapath"
	"ipsecbot/diag/datapath/scene"
	"ipsecbot/diag/hostcap"
	"ipsecbot/diag/peer"
	"ipsecbot/lab/hostsim"
	"ipsecbot/lab/sshserver"
)

// dataPathEchoes is how many echoes each ping of the data-path demo sends.
const dataPathEchoes = 4

// dataPathReport is report.json of a data-path run: the verdict, the four-point result and the
// captures (listed as artifacts, so a later run into the same directory replaces them).
type dataPathReport struct {
	Cause     diag.Cause       `json:"cause"`
	Summary   string           `json:"summary"`
	DataPath  *datapath.Result `json:"data_path"`
	Artifacts []diag.Artifact  `json:"artifacts"`
}

// runDataPathDemo is `bot demo --scenario datapath-...`: step 8 of the procedure against the
// lab's hosts over real SSH — VM 1's ESXi host (its switch port from net-stats -l, a pktcap-uw
// on it) and the far side (a tcpdump while host 2 pings VM 1) — then the four points
// correlated. The Edge's two captures (points 2 and 3) come from the scene itself: the engine
// does not run this step yet, so the Edge's debug packet capture is not driven here.
func runDataPathDemo(ctx context.Context, e *env, sc scene.Scene, dir string) error {
	tmp, err := os.MkdirTemp("", "bot-datapath-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	key, err := sshserver.NewKey()
	if err != nil {
		return err
	}
	const user, password = "root", "lab"
	var lines []string
	start := func(kind hostsim.Kind, name string) (*hostcap.Host, func(), error) {
		h, err := hostsim.Start(ctx, "127.0.0.1:0", hostsim.Config{Kind: kind, User: user, Password: password, HostKey: key, Scene: sc})
		if err != nil {
			return nil, nil, err
		}
		lines = append(lines, h.KnownHostsLine())
		kh := filepath.Join(tmp, "known_hosts")
		if err := os.WriteFile(kh, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			h.Close()
			return nil, nil, err
		}
		x := peer.NewSSHExec(h.Target(name, kh))
		return &hostcap.Host{Name: name, X: x}, func() { x.Close(); h.Close() }, nil
	}
	esxi, stopESXi, err := start(hostsim.ESXi, "esxi-01")
	if err != nil {
		return fmt.Errorf("start the lab's ESXi host: %w", err)
	}
	defer stopESXi()
	far, stopFar, err := start(hostsim.Linux, "host2")
	if err != nil {
		return fmt.Errorf("start the lab's far side: %w", err)
	}
	defer stopFar()
	fmt.Fprintf(e.stderr, "demo: data-path scenario %s on loopback (ESXi host, far side over SSH)\n", sc.Name())

	// The pings' ids are learnt from the captures, as they must be on real hosts (host 2's
	// ping picks its own, VM 1's is the operator's).
	in := sc.Input()
	in.ForwardID, in.ReturnID = 0, 0
	plan := hostcap.Plan{ESXi: esxi, VM: hostsim.VM1Name, Edge: &hostsim.EdgePoints{Scene: sc}, Far: far, PingFrom: far,
		Echoes: dataPathEchoes, Input: in, Dir: dir}
	got, err := plan.Run(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "demo: %s.eth0 is switch port %d on esxi-01\n", hostsim.VM1Name, got.Port.Num)
	for line := range strings.Lines(got.Ping) {
		if strings.Contains(line, "packets transmitted") {
			fmt.Fprintf(e.stderr, "demo: ping from host 2 to VM 1: %s", line)
		}
	}
	res := got.Result
	rep := dataPathReport{Artifacts: []diag.Artifact{}}
	for _, name := range got.Files {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		rep.Artifacts = append(rep.Artifacts, diag.Artifact{Name: name, Kind: "pcap", Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
	}
	rep.Cause, rep.Summary, rep.DataPath = res.Verdict, res.Summary, res
	table := datapath.Table(res)
	md := fmt.Sprintf("# Data path (procedure step 8): %s\n\nCause: %s\n\n```\n%s```\n", sc.Name(), res.Verdict, table)
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(md), 0o640); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(js, '\n'), 0o640); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Cause: %s\n\n%s", res.Verdict, table)
	return nil
}

// dataPathScenarios lists the data-path scenario names for --list.
func dataPathScenarios() []string {
	var out []string
	for _, s := range scene.Scenes() {
		out = append(out, s.Name())
	}
	return out
}
