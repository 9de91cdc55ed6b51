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
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

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
	edge     *edgesim.Edge
	manager  *nsxsim.Manager
	peer     *peersim.Peer
	scpAddr  string
	capture  int
}

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
	l := &Lab{scenario: sc, dir: opts.Dir, capture: opts.CaptureSeconds}
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
	edgePassword, mgrPassword := randomSecret(), randomSecret()
	edgeKey, peerHostKey, peerUserKey, err := newKeys()
	if err != nil {
		return nil, err
	}
	// The address the bot's SCP receiver will listen on: the Edge's `debug copy scp` to
	// 127.0.0.1 connects here, standing in for a DNAT from port 22.
	if l.scpAddr, err = freePort(host); err != nil {
		return nil, err
	}
	outputs := l.content.showOutputs()
	if l.edge, err = edgesim.Start(ctx, net.JoinHostPort(host, "0"), edgesim.Config{
		Hostname:        EdgeName,
		User:            edgeUser,
		Password:        edgePassword,
		HostKey:         edgeKey,
		Outputs:         outputs,
		Log:             l.content.edgeLog,
		CaptureFile:     func() []byte { return l.content.capture },
		Ping:            l.content.ping,
		SCPDialOverride: l.scpAddr,
		Faults:          opts.Faults.Edge,
	}); err != nil {
		return nil, err
	}
	ec, err := l.content.edgeContent(time.Now(), centralCLI(outputs, l.content.edgeLog))
	if err != nil {
		return nil, err
	}
	if l.manager, err = nsxsim.Start(ctx, mgrAddr, nsxsim.Config{
		User: managerUser, Password: mgrPassword, Edges: []nsxsim.EdgeContent{ec}, Faults: opts.Faults.Manager,
	}); err != nil {
		return nil, err
	}
	peerLogin, err := ssh.NewPublicKey(peerUserKey.Public())
	if err != nil {
		return nil, err
	}
	if l.peer, err = peersim.Start(ctx, net.JoinHostPort(host, "0"), peersim.Config{
		User: peerUser, Keys: []ssh.PublicKey{peerLogin}, HostKey: peerHostKey,
		ListSAs: l.content.peerSAs, ListConns: listConns(l.content.peer), Log: l.content.peerLog,
		Faults: opts.Faults.Peer,
	}); err != nil {
		return nil, err
	}
	if err = l.writeFiles(mgrPassword, edgePassword, peerUserKey); err != nil {
		return nil, err
	}
	return l, nil
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

// Edge is the simulated Edge (its fault switches and capture tracking).
func (l *Lab) Edge() *edgesim.Edge { return l.edge }

// Manager is the simulated NSX Manager.
func (l *Lab) Manager() *nsxsim.Manager { return l.manager }

// Peer is the simulated third-party gateway.
func (l *Lab) Peer() *peersim.Peer { return l.peer }

// Capture is the pcap the Edge hands out when a capture is stopped.
func (l *Lab) Capture() []byte { return l.content.capture }

// Close stops every simulator and removes a temporary directory.
func (l *Lab) Close() error {
	var errs []error
	if l.peer != nil {
		errs = append(errs, l.peer.Close())
	}
	if l.manager != nil {
		errs = append(errs, l.manager.Close())
	}
	if l.edge != nil {
		errs = append(errs, l.edge.Close())
	}
	if l.tempDir {
		errs = append(errs, os.RemoveAll(l.dir))
	}
	return errors.Join(errs...)
}

func (l *Lab) writeFiles(mgrPassword, edgePassword string, peerUserKey ed25519.PrivateKey) error {
	block, err := ssh.MarshalPrivateKey(peerUserKey, "ipsecbot lab peer login")
	if err != nil {
		return err
	}
	kh := knownhosts.Line([]string{knownhosts.Normalize(l.edge.Addr())}, l.edge.HostKey()) + "\n" +
		knownhosts.Line([]string{knownhosts.Normalize(l.peer.Addr())}, l.peer.HostKey()) + "\n"
	for _, f := range []struct {
		name string
		data []byte
	}{
		{FileCA, l.manager.CAPEM()},
		{FileManagerPassword, []byte(mgrPassword + "\n")},
		{FileEdgePassword, []byte(edgePassword + "\n")},
		{FilePeerKey, pem.EncodeToMemory(block)},
		{FileKnownHosts, []byte(kh)},
	} {
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

// newKeys makes the Edge's and the peer's host keys and the bot's login key for the peer.
func newKeys() (edgeHost, peerHost ssh.Signer, peerUser ed25519.PrivateKey, err error) {
	if edgeHost, err = sshserver.NewKey(); err != nil {
		return
	}
	if peerHost, err = sshserver.NewKey(); err != nil {
		return
	}
	_, peerUser, err = ed25519.GenerateKey(rand.Reader)
	return
}

// freePort finds a port on host nobody listens on now.
func freePort(host string) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
