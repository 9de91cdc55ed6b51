package lab

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"ipsecbot/diag/edge"
	"ipsecbot/lab/edgesim"
	"ipsecbot/lab/nsxsim"
	"ipsecbot/lab/peersim"
	"ipsecbot/lab/sshserver"
)

// Options say what to stage and where.
type Options struct {
	// Scenario names a scenario (LookupScenario); empty: DefaultScenario.
	Scenario string
	// Listen is the host the simulators listen on (default 127.0.0.1), each on a free port;
	// "host:port" fixes the Manager's port.
	Listen string
	// Dir is where the CA, the secrets and known_hosts are written; empty: a temporary
	// directory removed by Close.
	Dir string
	// Faults switch on faults from the start; Edge(), Manager() and Peer() change them later.
	Faults Faults
	// CaptureSeconds caps the capture window the configuration allows (0: the default).
	CaptureSeconds int
	// HA runs the Edge as an HA pair: a second appliance (HA index 1, its own host key and
	// address, the same content) that the Manager's health summary and status report active.
	// The configuration then lists both in ssh.ha_addresses; ssh.address stays appliance 0.
	HA bool
	// Edges stages edges edge-01 ... edge-N for the watcher, two tunnels each, with statistics
	// that change over time (see watch.go); 0: the scenario's single edge as it is.
	Edges int
	// FlapEvery is how often edge-01's first tunnel drops (default DefaultFlapEvery).
	FlapEvery time.Duration
	// RekeyEvery is how often the other tunnels rekey (default WatchRekeyEvery).
	RekeyEvery time.Duration
	// Clock is the Manager's clock for the changing statistics (nil: time.Now).
	Clock func() time.Time
	// BotElsewhere leaves the SCP receiver's port free for a bot in another process to bind
	// (`bot lab`, where the operator starts the bot). Otherwise the lab keeps the port bound:
	// it hands the socket over to the bot's receive endpoint in this process (edge.HandOver),
	// or, for a bot process the caller starts, passes it on with SCPListenerFile. Either way no
	// later bind can lose it.
	BotElsewhere bool
	// SCPListen is the address of the bot's capture endpoint when whoever starts the bot holds
	// that socket already (`bot lab --scp-listen`): the lab binds nothing for it. Empty: the lab
	// picks a free port as above.
	SCPListen string
	// DataPath names a data-path scene (scene.Lookup): VM 1's ESXi host and the far side run
	// beside the Edge for step 8, the peer's configuration has a datapath block, and the Edge's
	// step-8 captures and SPIs are the scene's. Empty: no data-path hosts.
	DataPath string
}

// Faults gathers the simulators' fault switches.
type Faults struct {
	Edge    edgesim.Faults
	Manager nsxsim.Faults
	Peer    peersim.Faults
}

// The lab's accounts and names.
const (
	ManagerName = "nsxmgr-lab"
	PeerName    = "branch-fw"
	edgeUser    = "admin"
	managerUser = "admin"
	peerUser    = "ops"
)

// Files the lab writes into its directory.
const (
	FileCA              = "nsx-ca.pem"
	FileManagerPassword = "nsx-password"
	FileEdgePassword    = "edge-password"
	FilePeerKey         = "peer_id_ed25519"
	FileKnownHosts      = "known_hosts"
	FileStore           = "bot.db" // named in the configuration; the lab never opens it
)

// Lab is a running simulated world.
type Lab struct {
	scenario Scenario
	dir      string
	tempDir  bool
	content  *content
	edge     *edgesim.Edge   // appliance 0
	ha       []*edgesim.Edge // with Options.HA: the appliances by HA index (ha[0] == edge)
	manager  *nsxsim.Manager
	peer     *peersim.Peer
	scpAddr  string
	scpLn    net.Listener // bound at scpAddr until the bot's receive endpoint takes it
	capture  int
	edges    int // Options.Edges
	dp       *dataPathLab
	sa       *edge.SAStatus // the Edge's `show service ipsec sa` before any traffic a capture watches
}

// espPerSecond is the ESP traffic each tunnel direction that carries any sees while the
// Edge captures (edgesim.Config.ESPPerSecond): the SA counters move over the capture window.
const espPerSecond = 10

// Start stages a scenario: it builds the content, starts the Manager, the Edge and the peer
// on loopback, and writes the CA, secrets and known_hosts into the directory.
func Start(ctx context.Context, opts Options) (_ *Lab, err error) {
	name := opts.Scenario
	if name == "" {
		name = DefaultScenario
	}
	sc, ok := LookupScenario(name)
	if !ok {
		return nil, fmt.Errorf("unknown scenario %q (one of: %s)", name, strings.Join(ScenarioNames(), ", "))
	}
	host, mgrAddr, err := listenAddrs(opts.Listen)
	if err != nil {
		return nil, err
	}
	l := &Lab{scenario: sc, dir: opts.Dir, capture: opts.CaptureSeconds, edges: opts.Edges}
	defer func() { // a lab that fails to start leaves nothing running and no temporary dir
		if err != nil {
			l.Close()
		}
	}()
	if l.dir == "" {
		if l.dir, err = os.MkdirTemp("", "ipsecbot-lab-"); err != nil {
			return nil, err
		}
		l.tempDir = true
	} else if err = os.MkdirAll(l.dir, 0o700); err != nil {
		return nil, err
	}
	edgeHost := EdgeName + "-0" // the active appliance, as the Edge's prompt and syslog name it
	if l.content, err = loadContent(sc, edgeHost); err != nil {
		return nil, err
	}
	sec, err := newSecrets()
	if err != nil {
		return nil, err
	}
	// The address the bot's SCP receiver will listen on: the Edge's `debug copy scp` to
	// 127.0.0.1 connects here, standing in for a DNAT from port 22.
	switch {
	case opts.SCPListen != "": // held by whoever starts the bot
		if _, _, err := net.SplitHostPort(opts.SCPListen); err != nil {
			return nil, fmt.Errorf("SCP listen address %q: %w", opts.SCPListen, err)
		}
		l.scpAddr = opts.SCPListen
	default:
		if l.scpLn, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
			return nil, err
		}
		l.scpAddr = l.scpLn.Addr().String()
		if opts.BotElsewhere {
			l.scpLn.Close()
			l.scpLn = nil
		} else {
			edge.HandOver(l.scpLn)
		}
	}
	if opts.DataPath != "" {
		if err = l.startDataPath(ctx, host, opts.DataPath); err != nil {
			return nil, err
		}
	}
	outputs := l.content.showOutputs()
	l.sa = l.content.saStatus()
	if l.dp != nil {
		l.dataPathSPIs(l.sa)
		outputs[edge.CmdServiceIPsecSA] = edgesim.RenderSA(l.sa)
	}
	if l.edge, err = l.startEdge(ctx, host, sec.edgeHostKey, 0, sec, outputs, opts.Faults.Edge); err != nil {
		return nil, err
	}
	if opts.HA {
		if err = l.startStandby(ctx, host, sec, outputs, opts.Faults.Edge); err != nil {
			return nil, err
		}
	}
	if err = l.startManager(ctx, mgrAddr, sec, outputs, opts); err != nil {
		return nil, err
	}
	if err = l.startPeer(ctx, host, sec, opts.Faults.Peer); err != nil {
		return nil, err
	}
	if err = l.writeFiles(sec); err != nil {
		return nil, err
	}
	return l, nil
}

// startEdge runs one Edge appliance's CLI with the scenario's show outputs, log and capture.
func (l *Lab) startEdge(ctx context.Context, host string, hostKey ssh.Signer, haIndex int, sec secrets, outputs map[string]string, faults edgesim.Faults) (*edgesim.Edge, error) {
	return edgesim.Start(ctx, net.JoinHostPort(host, "0"), edgesim.Config{
		Hostname:        EdgeName,
		HAIndex:         haIndex,
		User:            edgeUser,
		Password:        sec.edgePassword,
		HostKey:         hostKey,
		Outputs:         outputs,
		SA:              l.sa,
		ESPPerSecond:    espPerSecond,
		Log:             l.content.edgeLog,
		CaptureFile:     func() []byte { return l.content.capture },
		CaptureFor:      l.captureFor,
		Ping:            l.content.ping,
		SCPDialOverride: l.scpAddr,
		Faults:          faults,
	})
}

// startStandby runs the HA pair's second appliance (HA index 1), with a host key of its own.
func (l *Lab) startStandby(ctx context.Context, host string, sec secrets, outputs map[string]string, faults edgesim.Faults) error {
	key, err := sshserver.NewKey()
	if err != nil {
		return err
	}
	second, err := l.startEdge(ctx, host, key, 1, sec, outputs, faults)
	if err != nil {
		return err
	}
	l.ha = []*edgesim.Edge{l.edge, second}
	return nil
}

// startManager runs the Manager's API, whose central CLI answers with the Edge's outputs.
func (l *Lab) startManager(ctx context.Context, addr string, sec secrets, outputs map[string]string, opts Options) error {
	ec, err := l.content.edgeContent(time.Now(), centralCLI(outputs, l.content.edgeLog))
	if err != nil {
		return err
	}
	if l.ha != nil {
		ec.Health, ec.Status = haDocuments()
	}
	edges := []nsxsim.EdgeContent{ec}
	if opts.Edges > 0 {
		clock := opts.Clock
		if clock == nil {
			clock = time.Now
		}
		flap := opts.FlapEvery
		if flap <= 0 {
			flap = DefaultFlapEvery
		}
		rekey := opts.RekeyEvery
		if rekey <= 0 {
			rekey = WatchRekeyEvery
		}
		start := clock()
		edges[0].StatisticsAt = watchTimeline(1, start, flap, rekey).At
		edges = append(edges, watchEdges(opts.Edges, start, flap, rekey)...)
	}
	l.manager, err = nsxsim.Start(ctx, addr, nsxsim.Config{
		User: managerUser, Password: sec.managerPassword, Edges: edges, Faults: opts.Faults.Manager, Clock: opts.Clock,
	})
	return err
}

// startPeer runs the strongSwan peer, which lets the bot in with its login key.
func (l *Lab) startPeer(ctx context.Context, host string, sec secrets, faults peersim.Faults) error {
	login, err := ssh.NewPublicKey(sec.peerUserKey.Public())
	if err != nil {
		return err
	}
	l.peer, err = peersim.Start(ctx, net.JoinHostPort(host, "0"), peersim.Config{
		User: peerUser, Keys: []ssh.PublicKey{login}, HostKey: sec.peerHostKey,
		ListSAs: l.content.peerSAs, ListConns: listConns(l.content.peer), Log: l.content.peerLog,
		Faults: faults,
	})
	return err
}

// listenAddrs splits Options.Listen into the host for every simulator and the Manager's address.
func listenAddrs(listen string) (host, manager string, err error) {
	if listen == "" {
		listen = "127.0.0.1"
	}
	if h, p, err := net.SplitHostPort(listen); err == nil {
		return h, net.JoinHostPort(h, p), nil
	}
	host = strings.TrimSuffix(strings.TrimPrefix(listen, "["), "]")
	if strings.ContainsAny(host, "[]/ ") {
		return "", "", fmt.Errorf("listen address %q: want a host or host:port", listen)
	}
	return host, net.JoinHostPort(host, "0"), nil
}

// Scenario is what the lab stages.
func (l *Lab) Scenario() Scenario { return l.scenario }

// Dir is where the lab's files are.
func (l *Lab) Dir() string { return l.dir }

// Edge is the simulated Edge (its fault switches and capture tracking); with Options.HA,
// appliance 0 (ssh.address), the standby one.
func (l *Lab) Edge() *edgesim.Edge { return l.edge }

// Appliances are, with Options.HA, the Edge's appliances by HA index; Active is the index the
// Manager reports active. Without HA: nil and 0.
func (l *Lab) Appliances() (appliances []*edgesim.Edge, active int) {
	if l.ha == nil {
		return nil, 0
	}
	return l.ha, haActiveIndex
}

// Manager is the simulated NSX Manager.
func (l *Lab) Manager() *nsxsim.Manager { return l.manager }

// Peer is the simulated third-party gateway.
func (l *Lab) Peer() *peersim.Peer { return l.peer }

// Capture is the pcap the Edge hands out when a capture is stopped.
func (l *Lab) Capture() []byte { return l.content.capture }

// Close stops every simulator and removes a temporary directory.
func (l *Lab) Close() error {
	var errs []error
	if l.scpLn != nil && edge.Withdraw(l.scpLn) { // no receive endpoint took it
		errs = append(errs, l.scpLn.Close())
	}
	if l.peer != nil {
		errs = append(errs, l.peer.Close())
	}
	if l.manager != nil {
		errs = append(errs, l.manager.Close())
	}
	if l.edge != nil {
		errs = append(errs, l.edge.Close())
	}
	for _, e := range l.ha[min(1, len(l.ha)):] { // ha[0] is l.edge
		errs = append(errs, e.Close())
	}
	if l.dp != nil {
		errs = append(errs, l.dp.close())
	}
	if l.tempDir {
		errs = append(errs, os.RemoveAll(l.dir))
	}
	return errors.Join(errs...)
}

func (l *Lab) writeFiles(sec secrets) error {
	block, err := ssh.MarshalPrivateKey(sec.peerUserKey, "ipsecbot lab peer login")
	if err != nil {
		return err
	}
	kh := knownhosts.Line([]string{knownhosts.Normalize(l.edge.Addr())}, l.edge.HostKey()) + "\n" +
		knownhosts.Line([]string{knownhosts.Normalize(l.peer.Addr())}, l.peer.HostKey()) + "\n"
	for _, e := range l.ha[min(1, len(l.ha)):] { // every appliance's own key
		kh += knownhosts.Line([]string{knownhosts.Normalize(e.Addr())}, e.HostKey()) + "\n"
	}
	files := []struct {
		name string
		data []byte
	}{
		{FileCA, l.manager.CAPEM()},
		{FileManagerPassword, []byte(sec.managerPassword + "\n")},
		{FileEdgePassword, []byte(sec.edgePassword + "\n")},
		{FilePeerKey, pem.EncodeToMemory(block)},
		{FileKnownHosts, []byte(kh)},
	}
	if l.dp != nil {
		files[len(files)-1].data = append(files[len(files)-1].data, l.dp.esxi.KnownHostsLine()+"\n"+l.dp.far.KnownHostsLine()+"\n"...)
		files = append(files, struct {
			name string
			data []byte
		}{FileHostPassword, []byte(l.dp.password + "\n")})
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(l.dir, f.name), f.data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func randomSecret() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// secrets are the lab's credentials, made fresh for every run.
type secrets struct {
	edgePassword, managerPassword string
	edgeHostKey, peerHostKey      ssh.Signer
	peerUserKey                   ed25519.PrivateKey // the bot's login to the peer
}

func newSecrets() (sec secrets, err error) {
	sec.edgePassword, sec.managerPassword = randomSecret(), randomSecret()
	if sec.edgeHostKey, err = sshserver.NewKey(); err != nil {
		return sec, err
	}
	if sec.peerHostKey, err = sshserver.NewKey(); err != nil {
		return sec, err
	}
	_, sec.peerUserKey, err = ed25519.GenerateKey(rand.Reader)
	return sec, err
}

// SCPListenerFile returns a copy of the bound SCP receiver socket as a file, for a bot process
// the caller starts: put it in the process's ExtraFiles and its descriptor number in the
// edge.InheritedSCPEnv variable (SCPInheritEnv does both). Not with BotElsewhere (the port is
// free then). Each call gives a new copy, so a restarted bot gets the same socket again; the
// caller closes it once the process has started.
func (l *Lab) SCPListenerFile() (*os.File, error) {
	if l.scpLn == nil {
		return nil, errors.New("lab: the SCP receiver's socket is not held (BotElsewhere)")
	}
	tl, ok := l.scpLn.(*net.TCPListener)
	if !ok {
		return nil, fmt.Errorf("lab: the SCP receiver's socket is a %T", l.scpLn)
	}
	return tl.File()
}

// InheritSCP passes the lab's SCP receiver socket to cmd, a bot process about to start: it
// appends the socket to cmd.ExtraFiles and names its descriptor in cmd.Env. The returned
// file is the caller's to close once cmd has started.
func (l *Lab) InheritSCP(cmd *exec.Cmd) (*os.File, error) {
	f, err := l.SCPListenerFile()
	if err != nil {
		return nil, err
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", edge.InheritedSCPEnv, 2+len(cmd.ExtraFiles)))
	return f, nil
}
