package engine

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/crypto/ssh"

	"ipsecbot/config"
	"ipsecbot/diag/edge"
	"ipsecbot/diag/nsx"
	"ipsecbot/diag/peer"
)

// defaultConnector dials the real Edge (diag/edge over SSH), Manager (diag/nsx over HTTPS)
// and peer (diag/peer) from the configuration.
type defaultConnector struct {
	log *slog.Logger
	// noAPI is Options.DisableAPI: an HA edge is then dialled at its default address, unasked.
	noAPI bool

	mu   sync.Mutex
	recv map[string]*edge.SCPReceiver // by listen address: one receive endpoint per address
}

var _ Manager = (*nsx.Client)(nil)

func (c *defaultConnector) Manager(cfg *config.Config, m *config.Manager) (Manager, error) {
	client, err := c.nsxClient(cfg, m)
	if err != nil {
		// Not client itself: a nil *nsx.Client in the interface would be a non-nil Manager.
		return nil, err
	}
	return client, nil
}

func (c *defaultConnector) nsxClient(cfg *config.Config, m *config.Manager) (*nsx.Client, error) {
	pw, err := cfg.ManagerPassword(m)
	if err != nil {
		return nil, err
	}
	return nsx.New(nsx.Manager{Name: m.Name, URL: m.URL, User: m.User, Password: pw,
		CAFile: cfg.Path(m.CAFile), Timeout: m.RequestTimeout()})
}

func (c *defaultConnector) Peer(cfg *config.Config, p *config.Peer, edgeAddr netip.Addr) (peer.Driver, error) {
	return peer.New(cfg, p, edgeAddr)
}

func (c *defaultConnector) Edge(ctx context.Context, cfg *config.Config, e *config.Edge) (EdgeCLI, error) {
	if e.SSH == nil {
		return nil, fmt.Errorf("%s: no ssh settings", e.Name)
	}
	target := c.edgeAddress(ctx, cfg, e)
	t := edge.Target{
		Name: e.Name, Address: target.addr, User: e.SSH.User, KeyFile: cfg.Path(e.SSH.KeyFile),
		KnownHosts: cfg.Path(e.SSH.KnownHosts), InsecureIgnoreHostKey: e.SSH.InsecureIgnoreHostKey,
		ConnectTimeout: e.SSH.DialTimeout(), CommandTimeout: e.SSH.CmdTimeout(), Logger: c.log,
		Templates: e.Capture.Templates, SCPHost: e.Capture.SCPAddress,
	}
	pw, err := cfg.SSHPassword(e.SSH)
	if err != nil && !errors.Is(err, config.ErrNoSecret) {
		return nil, err
	}
	t.Password = pw
	if en, err := cfg.EnablePassword(e); err == nil {
		t.EnablePassword = en
	}
	s, err := edge.Dial(ctx, t)
	if err != nil {
		if target.which != "" {
			err = fmt.Errorf("%s: %w", target.which, err)
		}
		return nil, err
	}
	return &edgeSession{s: s, edge: e, conn: c, cfg: cfg, appliance: target.which}, nil
}

// edgeTarget is the address an Edge session dials and, for an HA edge, which appliance that
// is and how it was chosen.
type edgeTarget struct {
	addr  string
	which string // "appliance 1 at 192.0.2.11:22 (active per healthsummary)"; "" without HA
}

// edgeAddress picks the address to dial. Without ssh.ha_addresses it is ssh.address. With
// them, it is the appliance the NSX API reports active (so the commands and the capture run
// where the tunnel is), or the default address when the API is off, fails, or names an
// appliance the list has no address for; which then says why.
func (c *defaultConnector) edgeAddress(ctx context.Context, cfg *config.Config, e *config.Edge) edgeTarget {
	ha := e.SSH.HAAddresses
	if len(ha) == 0 {
		return edgeTarget{addr: e.SSH.Address}
	}
	fallback := func(why string) edgeTarget {
		addr, name := e.SSH.DefaultAddress(), "ssh.address"
		if e.SSH.Address == "" {
			name = "appliance 0"
		}
		return edgeTarget{addr: addr, which: fmt.Sprintf("%s at %s (%s)", name, addr, why)}
	}
	if c.noAPI {
		return fallback("the NSX API is switched off: the active HA appliance is unknown")
	}
	m, ok := cfg.Manager(e.Manager)
	if !ok {
		return fallback(fmt.Sprintf("manager %q is not configured: the active HA appliance is unknown", e.Manager))
	}
	client, err := c.nsxClient(cfg, m)
	if err != nil {
		return fallback("the active HA appliance is unknown: " + err.Error())
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, e.SSH.CmdTimeout())
	defer cancel()
	a, err := client.ActiveAppliance(ctx, e.EdgeID)
	if err != nil {
		return fallback("the NSX API could not say which HA appliance is active: " + err.Error())
	}
	if a.Index < 0 || a.Index >= len(ha) {
		return fallback(fmt.Sprintf("the NSX API reports appliance %d active, and ssh.ha_addresses has no address for it", a.Index))
	}
	return edgeTarget{addr: ha[a.Index], which: fmt.Sprintf("appliance %d at %s (active per %s)", a.Index, ha[a.Index], a.Source)}
}

// applianceNote says which HA appliance the run's Edge session is connected to ("" without
// HA, or when the show commands go through the Manager): step 4's summary carries it.
func (r *run) applianceNote() string {
	cli, err := r.edgeCLI()
	if err != nil {
		return ""
	}
	if s, ok := cli.(*edgeSession); ok && s.appliance != "" {
		return "connected to " + s.appliance
	}
	return ""
}

// BindCaptureEndpoint binds the edge's SCP receive endpoint now, before a capture starts: a
// port in use or a missing capture.scp_listen then fails the capture before the Edge runs one.
func (c *defaultConnector) BindCaptureEndpoint(cfg *config.Config, e *config.Edge) error {
	_, err := c.receiver(cfg, e.Capture.SCPListen)
	return err
}

// receiver returns the SCP endpoint for listen, started on first use and kept for the
// process's life (the Edge pushes every capture to it).
func (c *defaultConnector) receiver(cfg *config.Config, listen string) (*edge.SCPReceiver, error) {
	if listen == "" {
		return nil, errors.New("no capture.scp_listen configured: the capture cannot be fetched")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.recv[listen]; ok {
		return r, nil
	}
	key, err := scpHostKey(scpHostKeyPath(cfg))
	if err != nil {
		return nil, err
	}
	r, err := edge.NewSCPReceiver(listen, key)
	if err != nil {
		return nil, err
	}
	if c.recv == nil {
		c.recv = map[string]*edge.SCPReceiver{}
	}
	c.recv[listen] = r
	return r, nil
}

// SCPHostKeyFile is the file, beside the store, that keeps the capture endpoint's host key.
const SCPHostKeyFile = "scp_host_ed25519"

// scpHostKeyPath is where the capture endpoint's host key is kept: beside the store ("" when
// no store is configured: the key then lives as long as the process).
func scpHostKeyPath(cfg *config.Config) string {
	if cfg == nil || cfg.Store.Path == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(cfg.Path(cfg.Store.Path)), SCPHostKeyFile)
}

// scpHostKey loads the endpoint's ed25519 host key from path, or makes one and keeps it there
// (0600). The Edge remembers the first key it accepted, as its known_hosts would, so every
// later process must present the same key.
func scpHostKey(path string) (ssh.Signer, error) {
	if path != "" {
		if data, err := os.ReadFile(path); err == nil {
			key, err := ssh.ParsePrivateKey(data)
			if err != nil {
				return nil, fmt.Errorf("capture endpoint host key %s: %w", path, err)
			}
			return key, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("capture endpoint host key: %w", err)
		}
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	key, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	if path == "" {
		return key, nil
	}
	block, err := ssh.MarshalPrivateKey(priv, "ipsecbot capture endpoint")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("capture endpoint host key: %w", err)
	}
	// O_EXCL: of two processes starting at once, one key wins and both use it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return scpHostKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("capture endpoint host key: %w", err)
	}
	_, werr := f.Write(pem.EncodeToMemory(block))
	if err := errors.Join(werr, f.Close()); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("capture endpoint host key %s: %w", path, err)
	}
	return key, nil
}

// Close stops the SCP endpoints.
func (c *defaultConnector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for k, r := range c.recv {
		errs = append(errs, r.Close())
		delete(c.recv, k)
	}
	return errors.Join(errs...)
}
