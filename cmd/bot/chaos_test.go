//go:build chaos

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag"
	"ipsecbot/lab"
	"ipsecbot/lab/edgesim"
	"ipsecbot/lab/nsxsim"
	"ipsecbot/lab/peersim"
	"ipsecbot/store"
)

// The chaos test: CHAOS_RUNS (default 20) runs of the built `bot diagnose` against the lab,
// each with random faults on the Edge, the Manager and the peer, a third of them killed with
// SIGKILL at a random moment; then one clean run as the next start, and the invariants:
// nothing of a capture left on the Edge, no incident left diagnosing, every artifact's sha256
// as recorded, the store's check clean, and none of the lab's secrets in any output, artifact
// or the store. CHAOS_SEED repeats a sequence. Run it with scripts/chaos.sh or
//
//	go test -tags chaos -run TestChaos -v -timeout 2h ./cmd/bot
func TestChaos(t *testing.T) {
	runs, seed := chaosRuns(t, "CHAOS_RUNS", 20)
	rng := rand.New(rand.NewPCG(seed, seed))

	bin := builtBot(t)
	l, cfgPath, cfg := startCLILab(t, 2)
	outRoot := t.TempDir()
	var outputs bytes.Buffer // every stdout and stderr, for the canaries
	var st chaosStats

	for i := range runs {
		faults := randomFaults(rng, &st)
		l.Edge().SetFaults(faults.Edge)
		l.Manager().SetFaults(faults.Manager)
		l.Peer().SetFaults(faults.Peer)
		out := filepath.Join(outRoot, strconv.Itoa(i))
		cmd := exec.Command(bin, "diagnose", "edge-01", "--config", cfgPath, "--json", "--capture-seconds", strconv.Itoa(1+rng.IntN(2)),
			"--deadline", "10s", "--out", out)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		var werr error
		killed := false
		if rng.IntN(3) == 0 {
			select {
			case werr = <-exited:
			case <-time.After(time.Duration(300+rng.IntN(3000)) * time.Millisecond):
				midCapture := capturing(l.Edge().Captures())
				cmd.Process.Kill()
				werr, killed = <-exited, true
				st.kills++
				if midCapture {
					st.killsMidCapture++
				}
			}
		} else {
			werr = <-exited
		}
		outputs.Write(stdout.Bytes())
		outputs.Write(stderr.Bytes())
		st.runs++
		switch {
		case killed:
		case werr != nil:
			// A run that was not killed ends with its report, whatever the faults.
			st.failedRuns++
			t.Errorf("run %d (%s): %v\n%s", i, faults.name, werr, lastLines(stderr.String(), 5))
		default:
			var rep diag.Report
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				st.failedRuns++
				t.Errorf("run %d (%s): stdout is no report: %v", i, faults.name, err)
			} else if len(rep.CutByDeadline) > 0 {
				st.cutRuns++
			}
		}
	}

	// The next start, with the faults gone: a clean run cleans up what the others left.
	l.Edge().SetFaults(edgesim.Faults{})
	l.Manager().SetFaults(nsxsim.Faults{})
	l.Peer().SetFaults(peersim.Faults{})
	var stdout, stderr bytes.Buffer
	final := exec.Command(bin, "diagnose", "edge-01", "--config", cfgPath, "--capture-seconds", "1", "--out", filepath.Join(outRoot, "final"))
	final.Stdout, final.Stderr = &stdout, &stderr
	if err := final.Run(); err != nil {
		t.Errorf("the next start: %v\n%s", err, stderr.String())
	}
	outputs.Write(stdout.Bytes())
	outputs.Write(stderr.Bytes())

	// Invariants.
	for _, c := range l.Edge().Captures() {
		if c.Running || !c.Removed {
			st.leftovers++
			t.Errorf("capture left on the Edge: %+v", c)
		}
	}
	for _, f := range l.Edge().Files() {
		if strings.HasPrefix(f, "tcpdump_") {
			st.leftovers++
			t.Errorf("capture file left on the Edge: %s", f)
		}
	}
	check := exec.Command(bin, "store", "check", "--config", cfgPath)
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("bot store check: %v\n%s", err, out)
	}
	db, err := store.Open(cfg.Path(cfg.Store.Path), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	incs, err := db.Incidents(store.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, inc := range incs {
		if inc.Status == store.StatusDiagnosing {
			st.lostIncidents++
			t.Errorf("incident %s left diagnosing", inc.ID)
		}
		arts, err := db.Artifacts(inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range arts {
			st.artifacts++
			data, err := os.ReadFile(a.Path)
			if err != nil {
				st.badArtifacts++
				t.Errorf("incident %s: artifact %s: %v", inc.ID, a.Path, err)
				continue
			}
			if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != a.SHA256 {
				st.badArtifacts++
				t.Errorf("incident %s: artifact %s: sha256 differs from the record", inc.ID, a.Path)
			}
		}
	}
	if recs, err := db.Captures(); err != nil || len(recs) != 0 {
		t.Errorf("capture records left: %+v %v", recs, err)
	}
	st.leakedCanaries = leakedCanaries(t, l.Dir(), nil, outputs.Bytes(), outRoot, filepath.Dir(cfg.Path(cfg.Store.Path)))

	t.Logf("runs %d (%d failed to report, %d cut by the deadline), faults injected %d, kills %d (%d mid-capture), "+
		"incidents %d, artifacts %d (%d bad), leftovers %d, lost incidents %d, leaked canaries %d",
		st.runs, st.failedRuns, st.cutRuns, st.faults, st.kills, st.killsMidCapture, len(incs), st.artifacts, st.badArtifacts,
		st.leftovers, st.lostIncidents, st.leakedCanaries)
	fmt.Printf("CHAOS runs=%d faults=%d kills=%d kills_mid_capture=%d incidents=%d artifacts=%d leftovers=%d lost_incidents=%d bad_artifacts=%d leaked_canaries=%d failed_runs=%d cut_runs=%d seed=%d\n",
		st.runs, st.faults, st.kills, st.killsMidCapture, len(incs), st.artifacts, st.leftovers, st.lostIncidents, st.badArtifacts,
		st.leakedCanaries, st.failedRuns, st.cutRuns, seed)
}

type chaosStats struct {
	runs, failedRuns, cutRuns, faults, kills, killsMidCapture         int
	artifacts, badArtifacts, leftovers, lostIncidents, leakedCanaries int
}

type chaosFaults struct {
	lab.Faults
	name string
}

// randomFaults picks, for each of the Edge, the Manager and the peer, no fault or one of its
// kinds (about half the time each).
func randomFaults(rng *rand.Rand, st *chaosStats) chaosFaults {
	var f chaosFaults
	var names []string
	pick := func(n int) int { return rng.IntN(2 * n) } // >= n: no fault
	edgeKinds := []func(){
		func() {
			f.Edge.HangAfterBytes, f.Edge.HangCommand = 4, "show service ipsec"
			names = append(names, "edge hang")
		},
		func() { f.Edge.DropAfterCommands = 1 + rng.IntN(6); names = append(names, "edge drop") },
		func() { f.Edge.ChangedHostKey = true; names = append(names, "edge host key changed") },
		func() { f.Edge.Latency = 300 * time.Millisecond; names = append(names, "edge slow") },
	}
	mgrKinds := []func(){
		func() { f.Manager.Status = 500; names = append(names, "api 500") },
		func() { f.Manager.Status = 503; names = append(names, "api 503") },
		func() { f.Manager.Latency = time.Hour; names = append(names, "api hang") },
		func() { f.Manager.Malformed = true; names = append(names, "api malformed") },
		func() { f.Manager.Drop = true; names = append(names, "api drop") },
	}
	peerKinds := []func(){
		func() { f.Peer.HangAfterBytes = 1; names = append(names, "peer hang") },
		func() { f.Peer.DropConnections = true; names = append(names, "peer drop") },
	}
	for _, kinds := range [][]func(){edgeKinds, mgrKinds, peerKinds} {
		if k := pick(len(kinds)); k < len(kinds) {
			kinds[k]()
			st.faults++
		}
	}
	f.name = strings.Join(names, ", ")
	if f.name == "" {
		f.name = "no fault"
	}
	return f
}

func capturing(caps []edgesim.Capture) bool {
	for _, c := range caps {
		if c.Running {
			return true
		}
	}
	return false
}

// leakedCanaries counts the lab's secrets (its Edge and Manager passwords, the peer login's
// private key) and the extra ones found in the runs' outputs or in any file under the given
// directories (but the files that hold them).
func leakedCanaries(t *testing.T, labDir string, extra [][]byte, outputs []byte, dirs ...string) int {
	canaries := slices.Clone(extra)
	for _, name := range []string{lab.FileEdgePassword, lab.FileManagerPassword} {
		b, err := os.ReadFile(filepath.Join(labDir, name))
		if err != nil {
			t.Fatal(err)
		}
		canaries = append(canaries, bytes.TrimSpace(b))
	}
	key, err := os.ReadFile(filepath.Join(labDir, lab.FilePeerKey))
	if err != nil {
		t.Fatal(err)
	}
	// The key's first lines are the same in every key of its type: its later lines are its own.
	for i, line := range bytes.Split(key, []byte("\n")) {
		if i > 2 && len(line) > 40 && !bytes.HasPrefix(line, []byte("-----")) {
			canaries = append(canaries, line)
		}
	}
	leaks := 0
	look := func(where string, data []byte) {
		for i, c := range canaries {
			if len(c) >= 16 && bytes.Contains(data, c) {
				leaks++
				t.Errorf("secret %d (%.4s…) is in %s", i, c, where)
			}
		}
	}
	look("the runs' output", outputs)
	secretFiles := map[string]bool{}
	for _, name := range []string{lab.FileEdgePassword, lab.FileManagerPassword, lab.FilePeerKey, "slack-bot-token", "slack-signing-secret"} {
		secretFiles[filepath.Join(labDir, name)] = true
	}
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || secretFiles[path] {
				return nil
			}
			if data, err := os.ReadFile(path); err == nil {
				look(path, data)
			}
			return nil
		})
	}
	return leaks
}

// chaosRuns reads how many runs to make from the variable named and the seed from
// CHAOS_SEED (default: from the clock), and logs both.
func chaosRuns(t *testing.T, name string, def int) (int, uint64) {
	runs := envInt(t, name, def)
	seed := uint64(envInt(t, "CHAOS_SEED", int(time.Now().UnixNano()%1_000_000)))
	t.Logf("seed %d, %d runs", seed, runs)
	return runs, seed
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return n
}
