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
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/diag/classify"
	"ipsecbot/diag/edge"
	"ipsecbot/diag/ike"
	"ipsecbot/diag/interop"
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
	return c.nsxClient(cfg, m)
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

// edgeSession adapts *edge.Session to EdgeCLI.
type edgeSession struct {
	s         *edge.Session
	edge      *config.Edge
	conn      *defaultConnector
	cfg       *config.Config
	appliance string // edgeTarget.which: the HA appliance dialled, and why
}

// pingCount is how many echo requests each MTU ping sends.
const pingCount = 3

// held keeps a cancel of the run from reaching a command in flight: diag/edge closes the
// session when a command's context ends, and this run still needs the session afterwards to
// stop, fetch and remove its capture. Each command stays bounded by its own timeout.
func held(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

func (e *edgeSession) Run(ctx context.Context, cmd string) (string, error) {
	return e.s.Run(held(ctx), cmd)
}

func (e *edgeSession) Ping(ctx context.Context, dst netip.Addr, size int, df bool) (PingResult, error) {
	sent, recv, err := e.s.Ping(held(ctx), dst, size, pingCount, df)
	out := fmt.Sprintf("ping %s size %d count %d df=%v: %d sent, %d received", dst, size, pingCount, df, sent, recv)
	return PingResult{Sent: sent, Received: recv, Output: out}, err
}

func (e *edgeSession) CaptureFiles(ctx context.Context) ([]string, error) {
	files, err := e.s.Files(held(ctx))
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, f.Name)
	}
	return names, nil
}

// StartCapture starts the capture. The Edge names its file only when it stops, so nothing
// is predicted here: the caller has recorded the files from before (CaptureFiles).
func (e *edgeSession) StartCapture(ctx context.Context, iface string, p netip.Addr) (EdgeCapture, error) {
	c, err := e.s.StartCapture(held(ctx), edge.CaptureSpec{Interface: iface, Peer: p,
		MaxBytes: e.edge.Capture.ByteLimit(), MaxDuration: e.edge.Capture.TimeLimit()})
	if err != nil {
		return nil, err
	}
	return &edgeCapture{c: c, e: e}, nil
}

var validIface = regexp.MustCompile(`^vNic_[0-9]+$`)

func (e *edgeSession) AbandonCapture(ctx context.Context, iface string, before []string) error {
	if !validIface.MatchString(iface) {
		return fmt.Errorf("%s: capture interface %q: %w", e.edge.Name, iface, edge.ErrInvalidArgument)
	}
	// Stop first: the Edge names the file only then.
	stop := edge.DefaultTemplates[edge.TmplStop]
	if t, ok := e.edge.Capture.Templates[edge.TmplStop]; ok {
		stop = t
	}
	if _, err := e.s.Run(ctx, strings.ReplaceAll(stop, "{{iface}}", iface)); err != nil && !errors.Is(err, edge.ErrCommand) {
		return err // an "is not running" answer is fine
	}
	files, err := e.CaptureFiles(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		if strings.HasPrefix(f, "tcpdump_"+iface+".") && !slices.Contains(before, f) {
			errs = append(errs, e.s.Cleanup(ctx, iface, f))
		}
	}
	return errors.Join(errs...)
}

func (e *edgeSession) Close() error { return e.s.Close() }

type edgeCapture struct {
	c *edge.Capture
	e *edgeSession
}

// File is the capture's file on the Edge once stopped ("" before): read under the capture's
// lock, since its time-cap timer may be stopping it.
func (c *edgeCapture) File() string                   { return c.c.CurrentFile() }
func (c *edgeCapture) Interface() string              { return c.c.Interface }
func (c *edgeCapture) Stop(ctx context.Context) error { return c.c.Stop(ctx) }
func (c *edgeCapture) Remove(ctx context.Context) error {
	return c.c.Remove(ctx)
}

func (c *edgeCapture) Fetch(ctx context.Context, dir string) (string, error) {
	recv, err := c.e.conn.receiver(c.e.cfg, c.e.edge.Capture.SCPListen)
	if err != nil {
		return "", err
	}
	return c.c.Fetch(ctx, recv, dir)
}

// defaultClassifier feeds what a run collected to diag/classify, with the capture analysed by
// diag/ike, and makes the references relative to the report's directory.
type defaultClassifier struct{}

func (defaultClassifier) Classify(ctx context.Context, c *Collected) (*diag.Verdict, error) {
	abs := func(p string) string { return filepath.Join(c.Dir, filepath.FromSlash(p)) }
	var in classify.Input
	for _, l := range c.Logs {
		in.Logs = append(in.Logs, classify.LogSource{Path: abs(l.Path), Site: l.Site, Loc: location(l.Timezone)})
	}
	for _, s := range c.Shows {
		in.Shows = append(in.Shows, classify.LogSource{Path: abs(s.Path), Site: "edge"})
	}
	var missing []string
	for _, p := range c.Captures {
		sum, err := ike.AnalyzeFile(abs(p))
		if err != nil {
			missing = append(missing, "capture analysis: "+err.Error())
		}
		in.Captures = append(in.Captures, classify.CaptureSource{Path: abs(p), Summary: sum})
	}
	for _, s := range c.Stats {
		in.Stats = append(in.Stats, classify.StatsSource{Path: abs(s)})
	}
	for _, e := range c.Prereqs {
		if f := prereqFact(e); f.Cause != "" {
			in.Facts = append(in.Facts, f)
		}
	}
	in.Config = c.Config
	in.Since, in.Until = c.Since, c.Until
	v, err := classify.Classify(ctx, in)
	if v != nil {
		v.Missing = append(v.Missing, missing...)
		relativeRefs(v, c.Dir)
		interopRefs(v, c.ConfigLines)
	}
	return v, err
}

// prereqFact says which cause a prerequisite's result points to. Only failures count.
func prereqFact(e diag.Evidence) classify.Fact {
	f := classify.Fact{Evidence: e}
	t := strings.ToLower(e.Text)
	switch {
	case strings.Contains(t, "not allowed by the edge firewall"):
		f.Cause, f.Weight = diag.CausePeerUnreachable, 0.6
		if strings.HasPrefix(t, "esp") {
			f.Cause = diag.CauseESPBlocked
		}
	case strings.Contains(t, "ping") && smallOK(t) && largeLost(t):
		f.Cause, f.Weight = diag.CauseMTUFragmentation, 0.8
	case strings.Contains(t, "ping") && strings.Contains(t, fmt.Sprintf("%d-byte payload 0/", smallPing)):
		f.Cause, f.Weight = diag.CausePeerUnreachable, 0.3
	}
	return f
}

func smallOK(t string) bool {
	return !strings.Contains(t, fmt.Sprintf("%d-byte payload 0/", smallPing))
}

func largeLost(t string) bool {
	return strings.Contains(t, fmt.Sprintf("%d-byte payload with don't-fragment 0/", largePing))
}

func location(tz string) *time.Location {
	if tz == "" {
		return nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil
	}
	return loc
}

// relativeRefs turns "DIR/logs/edge.log:812" into "logs/edge.log:812" in every reference.
func relativeRefs(v *diag.Verdict, dir string) {
	prefix := filepath.Clean(dir) + string(filepath.Separator)
	fix := func(ev []diag.Evidence) {
		for i := range ev {
			ev[i].Ref = filepath.ToSlash(strings.ReplaceAll(ev[i].Ref, prefix, ""))
		}
	}
	fix(v.Evidence)
	for i := range v.AlsoSeen {
		fix(v.AlsoSeen[i].Evidence)
	}
	for _, list := range [][]string{v.Missing, v.Remediation} {
		for i, m := range list {
			list[i] = filepath.ToSlash(strings.ReplaceAll(m, prefix, ""))
		}
	}
}

// interopRefs turns the classifier's "interop:FIELD" references into the field's line of
// interop.txt, the comparison step 2 wrote.
func interopRefs(v *diag.Verdict, lines map[string]int) {
	fix := func(ev []diag.Evidence) {
		for i, e := range ev {
			if field, ok := strings.CutPrefix(e.Ref, "interop:"); ok {
				ev[i].Ref = interop.Ref(field, lines)
			}
		}
	}
	fix(v.Evidence)
	for i := range v.AlsoSeen {
		fix(v.AlsoSeen[i].Evidence)
	}
}
