package edge

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"ipsecbot/config"
)

// DefaultTemplates are the Edge CLI commands for captures, keyed by config.CaptureTemplateNames
// (docs/nsx-formats.md §1.7). Placeholders:
// {{iface}} {{expr}} {{user}} {{host}} {{path}} {{file}} {{addr}} {{size}} {{count}} {{df}}.
// [UNVERIFIED] stop, remove, storage and ping: no public source gives their syntax; an Edge
// build whose CLI differs overrides them in the config.
var DefaultTemplates = map[string]string{
	config.TemplateStart:   "debug packet capture interface {{iface}} {{expr}}",
	config.TemplateStop:    "no debug packet capture interface {{iface}}",
	config.TemplateFiles:   "debug show files",
	config.TemplateCopy:    "debug copy scp {{user}}@{{host}}:{{path}} {{file}}",
	config.TemplateRemove:  "debug remove {{file}}",
	config.TemplateDisplay: "debug packet display interface {{iface}} {{expr}}",
	config.TemplateStorage: "show system storage",
	config.TemplatePing:    "ping ip {{addr}} size {{size}} count {{count}}{{df}}",
}

var (
	validIface  = regexp.MustCompile(`^vNic_[0-9]+$`)
	validFile   = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
	validHost   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)
	placeholder = regexp.MustCompile(`\{\{[a-z]+\}\}`)
)

// ValidateTemplates checks config overrides: known names and placeholders only, one line each.
func ValidateTemplates(t map[string]string) error {
	known := []string{"{{iface}}", "{{expr}}", "{{user}}", "{{host}}", "{{path}}", "{{file}}", "{{addr}}", "{{size}}", "{{count}}", "{{df}}"}
	for name, tmpl := range t {
		if _, ok := DefaultTemplates[name]; !ok {
			return fmt.Errorf("capture template %q: unknown name: %w", name, ErrInvalidArgument)
		}
		if strings.ContainsAny(tmpl, "\r\n\x03") || strings.TrimSpace(tmpl) == "" {
			return fmt.Errorf("capture template %q: empty or several lines: %w", name, ErrInvalidArgument)
		}
		for _, p := range placeholder.FindAllString(tmpl, -1) {
			if !slices.Contains(known, p) {
				return fmt.Errorf("capture template %q: unknown placeholder %s: %w", name, p, ErrInvalidArgument)
			}
		}
	}
	return nil
}

// command fills template name with already validated values.
func (s *Session) command(name string, kv ...string) string {
	tmpl, ok := s.t.Templates[name]
	if !ok {
		tmpl = DefaultTemplates[name]
	}
	pairs := make([]string, 0, len(kv))
	for i := 0; i+1 < len(kv); i += 2 {
		pairs = append(pairs, "{{"+kv[i]+"}}", kv[i+1])
	}
	return strings.TrimSpace(strings.NewReplacer(pairs...).Replace(tmpl))
}

// CaptureExpr is the tcpdump expression (spaces as "_") for IKE and ESP between the Edge and peer.
func CaptureExpr(peer netip.Addr) string {
	return "host_" + peer.Unmap().String() + "_and_(udp_port_500_or_udp_port_4500_or_esp)"
}

// ICMPExpr is the expression (spaces as "_") for the pings between two hosts: step 8's capture
// on the Edge's internal interface.
func ICMPExpr(a, b netip.Addr) string {
	return "icmp_and_host_" + a.Unmap().String() + "_and_host_" + b.Unmap().String()
}

// ESPExpr is the expression for the tunnel's ESP (plain or in UDP 4500) between the Edge and
// peer: step 8's capture on the uplink.
func ESPExpr(peer netip.Addr) string {
	return "host_" + peer.Unmap().String() + "_and_(esp_or_udp_port_4500)"
}

var validExpr = regexp.MustCompile(`^[A-Za-z0-9_.:()]{1,200}$`)

// CaptureSpec says what to capture.
type CaptureSpec struct {
	Interface string     // vNic_N, the uplink towards the peer
	Peer      netip.Addr // the peer's IKE address
	// Expr is the capture's tcpdump expression, spaces as "_" (ICMPExpr, ESPExpr); empty: IKE
	// and ESP with Peer (CaptureExpr).
	Expr        string
	MaxBytes    int64         // cap on the capture file; default config.DefaultCaptureBytes
	MaxDuration time.Duration // the capture is stopped after this at the latest; default config.DefaultCaptureCapSeconds
}

// Capture is a packet capture this session started. The engine records Interface and File so
// a capture left behind (bot restart) can still be cleaned up with Session.Cleanup.
type Capture struct {
	s         *Session
	spec      CaptureSpec
	Interface string
	File      string // the file on the Edge, known once stopped (read it with CurrentFile while the capture may run)
	Started   time.Time
	before    []string   // files that existed before: never ours to remove
	mu        sync.Mutex // guards the fields below and orders Stop, Fetch, Remove (taken before Session.mu)
	stopped   bool
	removed   bool
	timer     *time.Timer
}

// CurrentFile is the capture's file name on the Edge ("" until stopped), safe to call while
// the time-cap timer may be stopping the capture.
func (c *Capture) CurrentFile() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.File
}

// StartCapture checks the Edge's free disk, starts a capture on spec.Interface filtered to the
// peer's IKE and ESP, and arms the time cap. The caller must Stop and Remove it (also on error).
func (s *Session) StartCapture(ctx context.Context, spec CaptureSpec) (*Capture, error) {
	if !validIface.MatchString(spec.Interface) {
		return nil, fmt.Errorf("%s: capture interface %q: %w", s.t.Name, spec.Interface, ErrInvalidArgument)
	}
	if spec.Expr == "" {
		if !spec.Peer.IsValid() {
			return nil, fmt.Errorf("%s: capture peer address missing: %w", s.t.Name, ErrInvalidArgument)
		}
		spec.Expr = CaptureExpr(spec.Peer)
	}
	if !validExpr.MatchString(spec.Expr) {
		return nil, fmt.Errorf("%s: capture expression %q: %w", s.t.Name, spec.Expr, ErrInvalidArgument)
	}
	if spec.MaxBytes <= 0 {
		spec.MaxBytes = config.DefaultCaptureBytes
	}
	if spec.MaxDuration <= 0 {
		spec.MaxDuration = config.DefaultCaptureCapSeconds * time.Second
	}
	if out, err := s.Run(ctx, s.command(config.TemplateStorage)); err != nil {
		s.t.Logger.Warn("could not read the edge's free disk; capturing with the size cap only", "edge", s.t.Name, "err", err)
	} else if free, perr := ParseStorage(out); perr != nil {
		s.t.Logger.Warn("could not read the edge's free disk; capturing with the size cap only", "edge", s.t.Name, "err", perr)
	} else if free < 2*spec.MaxBytes {
		return nil, fmt.Errorf("%s: %d bytes free, a capture may need %d: %w", s.t.Name, free, 2*spec.MaxBytes, ErrDiskFull)
	}
	before, err := s.files(ctx)
	if err != nil {
		return nil, err
	}
	c := &Capture{s: s, spec: spec, Interface: spec.Interface, Started: time.Now(), before: names(before)}
	if _, err := s.Run(ctx, s.command(config.TemplateStart, "iface", spec.Interface, "expr", spec.Expr)); err != nil {
		if errors.Is(err, ErrCommand) {
			// The Edge refused (e.g. a capture someone else runs on the interface): nothing of
			// ours started, and theirs is not ours to stop.
			return nil, err
		}
		// Timed out or cut off: it may have started, so stop it before it fills the disk.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.t.CommandTimeout)
		defer cancel()
		_ = c.Remove(cctx)
		return nil, err
	}
	c.mu.Lock() // the timer's Stop must see c.timer set
	defer c.mu.Unlock()
	c.timer = time.AfterFunc(spec.MaxDuration, func() {
		sctx, cancel := context.WithTimeout(context.Background(), s.t.CommandTimeout)
		defer cancel()
		if err := c.Stop(sctx); err != nil {
			s.t.Logger.Warn("stopping a capture at its time cap failed", "edge", s.t.Name, "err", err)
		}
	})
	return c, nil
}

// Stop stops the capture and learns its file's name. Stopping twice is harmless.
func (c *Capture) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopLocked(ctx)
}

func (c *Capture) stopLocked(ctx context.Context) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.stopped {
		return nil
	}
	if _, err := c.s.runLocked(ctx, c.s.command(config.TemplateStop, "iface", c.Interface), nil); err != nil && !errors.Is(err, ErrCommand) {
		return err
	}
	c.stopped = true
	files, err := c.s.filesLocked(ctx)
	if err != nil {
		return err
	}
	// Ours is the new file named after the interface (tcpdump_vNic_0.N); failing that, the only new file.
	var fresh []string
	for _, f := range files {
		if slices.Contains(c.before, f.Name) {
			continue
		}
		fresh = append(fresh, f.Name)
		if captureFile(c.Interface, f.Name) {
			c.File = f.Name
		}
	}
	if c.File == "" && len(fresh) == 1 {
		c.File = fresh[0]
	}
	if c.File == "" {
		return fmt.Errorf("%s: capture on %s stopped but no new file in %q", c.s.t.Name, c.Interface, c.s.command(config.TemplateFiles))
	}
	return nil
}

// Fetch has the Edge push the capture file to recv (which writes it into dir) and returns its
// path. The Edge is told to connect to Target.SCPHost; its host-key and password prompts are
// answered here. The file is refused above the capture's size cap.
func (c *Capture) Fetch(ctx context.Context, recv *SCPReceiver, dir string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.stopLocked(ctx); err != nil {
		return "", err
	}
	s := c.s
	if !validHost.MatchString(s.t.SCPHost) {
		return "", fmt.Errorf("%s: no valid address to copy captures to (capture.scp_address): %w", s.t.Name, ErrInvalidArgument)
	}
	if !validFile.MatchString(c.File) {
		return "", fmt.Errorf("%s: capture file name %q: %w", s.t.Name, c.File, ErrInvalidArgument)
	}
	files, err := s.files(ctx)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		if f.Name == c.File && f.Size > c.spec.MaxBytes {
			return "", fmt.Errorf("%s: %s is %d bytes, over the cap of %d: %w", s.t.Name, c.File, f.Size, c.spec.MaxBytes, ErrSCPTooLarge)
		}
	}
	user, password, done := recv.Expect(dir, c.spec.MaxBytes)
	rules := []*expectRule{
		{name: "host key confirmation", re: regexp.MustCompile(`\(yes/no(/\[fingerprint\])?\)\? ?$`), answer: "yes"},
		{name: "copy password", re: regexp.MustCompile(`(?i)password: ?$`), answer: password},
	}
	cmd := s.command(config.TemplateCopy, "user", user, "host", s.t.SCPHost, "path", c.File, "file", c.File)
	s.mu.Lock()
	out, err := s.runLocked(ctx, cmd, rules)
	s.mu.Unlock()
	out = strings.ReplaceAll(out, password, "<secret>") // should the Edge ever echo it
	if err != nil {
		recv.Cancel(user)
		return "", fmt.Errorf("%w (edge said: %s)", err, truncate(strings.TrimSpace(out), 200))
	}
	if hint := copyFailure(out); hint != "" {
		recv.Cancel(user)
		return "", fmt.Errorf("%s: copy of %s failed: %s", s.t.Name, c.File, hint)
	}
	// The Edge is back at its prompt: the transfer has ended one way or the other.
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := waitResult(wctx, done)
	if err != nil {
		recv.Cancel(user)
		return "", fmt.Errorf("%s: copy of %s: %w (edge said: %s)", s.t.Name, c.File, err, truncate(strings.TrimSpace(out), 200))
	}
	return res.Path, nil
}

// Remove deletes the capture's file from the Edge (only a file this capture created) and
// checks that it is gone. It stops the capture first if needed.
func (c *Capture) Remove(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.stopLocked(ctx); err != nil && c.File == "" {
		return err
	}
	if c.removed || c.File == "" {
		return nil
	}
	if err := c.s.removeFile(ctx, c.File); err != nil {
		return err
	}
	c.removed = true
	return nil
}

// captureFile reports whether name is how the Edge names the file of a capture on iface once
// stopped ("tcpdump_vNic_0.N").
func captureFile(iface, name string) bool { return strings.HasPrefix(name, "tcpdump_"+iface+".") }

// AbandonCapture stops whatever capture runs on iface and removes the capture files of iface
// that are not in before: what a capture whose handle was lost (a start that timed out, a cut
// session) may have left. Files in before were there already and are never removed.
func (s *Session) AbandonCapture(ctx context.Context, iface string, before []string) error {
	if !validIface.MatchString(iface) {
		return fmt.Errorf("%s: capture interface %q: %w", s.t.Name, iface, ErrInvalidArgument)
	}
	// Stop first: the Edge names the file only then. A "not running" answer is fine.
	if _, err := s.Run(ctx, s.command(config.TemplateStop, "iface", iface)); err != nil && !errors.Is(err, ErrCommand) {
		return err
	}
	files, err := s.files(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		if captureFile(iface, f.Name) && !slices.Contains(before, f.Name) {
			errs = append(errs, s.removeFile(ctx, f.Name))
		}
	}
	return errors.Join(errs...)
}

// Cleanup stops a capture on iface and removes file, for a capture an earlier run recorded but
// could not clean up (after a restart). "Not running" and "not found" answers are fine.
func (s *Session) Cleanup(ctx context.Context, iface, file string) error {
	if !validIface.MatchString(iface) || !validFile.MatchString(file) {
		return fmt.Errorf("%s: cleanup %q %q: %w", s.t.Name, iface, file, ErrInvalidArgument)
	}
	if _, err := s.Run(ctx, s.command(config.TemplateStop, "iface", iface)); err != nil && !errors.Is(err, ErrCommand) {
		return err
	}
	return s.removeFile(ctx, file)
}

func (s *Session) removeFile(ctx context.Context, file string) error {
	if !validFile.MatchString(file) {
		return fmt.Errorf("%s: remove %q: %w", s.t.Name, file, ErrInvalidArgument)
	}
	if _, err := s.Run(ctx, s.command(config.TemplateRemove, "file", file)); err != nil && !errors.Is(err, ErrCommand) {
		return err
	}
	files, err := s.files(ctx)
	if err != nil {
		return err
	}
	if slices.Contains(names(files), file) {
		return fmt.Errorf("%s: %s is still on the edge after %q", s.t.Name, file, s.command(config.TemplateRemove, "file", file))
	}
	return nil
}

// Files lists the Edge's capture files (`debug show files`).
func (s *Session) Files(ctx context.Context) ([]File, error) { return s.files(ctx) }

func (s *Session) files(ctx context.Context) ([]File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.filesLocked(ctx)
}

func (s *Session) filesLocked(ctx context.Context) ([]File, error) {
	out, err := s.runLocked(ctx, s.command(config.TemplateFiles), nil)
	if err != nil {
		return nil, err
	}
	return ParseFiles(out)
}

func names(fs []File) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

// Display is the fallback when no SCP path exists: it runs `debug packet display` for d, then
// interrupts it and returns the tcpdump text it printed.
func (s *Session) Display(ctx context.Context, iface string, peer netip.Addr, d time.Duration) (string, error) {
	if !validIface.MatchString(iface) || !peer.IsValid() {
		return "", fmt.Errorf("%s: display %q %v: %w", s.t.Name, iface, peer, ErrInvalidArgument)
	}
	cmd := s.command(config.TemplateDisplay, "iface", iface, "expr", CaptureExpr(peer))
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.enabled {
		if err := s.enable(ctx); err != nil {
			return "", err
		}
	}
	if _, err := s.stdin.Write([]byte(cmd + "\r")); err != nil {
		s.Close()
		return "", fmt.Errorf("%s: %q: %w", s.t.Name, cmd, ErrClosed)
	}
	dctx, cancel := context.WithTimeout(ctx, d)
	raw, err := s.readUntil(dctx, nil, cmd)
	cancel()
	if err == nil { // the Edge ended it itself (an error, or no such interface)
		out := cleanCommandOutput(raw, cmd)
		if e := EdgeError(out); e != "" {
			return out, fmt.Errorf("%s: %q: %s: %w", s.t.Name, cmd, e, ErrCommand)
		}
		return out, nil
	}
	if ctx.Err() != nil {
		s.Close()
		return "", fmt.Errorf("%s: %q: %w (%w)", s.t.Name, cmd, ErrClosed, ctx.Err())
	}
	if _, werr := s.stdin.Write([]byte{0x03}); werr != nil {
		s.Close()
		return "", fmt.Errorf("%s: %q: %w", s.t.Name, cmd, ErrClosed)
	}
	s.pending = []byte(raw)
	ictx, cancel2 := context.WithTimeout(ctx, s.t.CommandTimeout)
	defer cancel2()
	rest, err := s.readUntil(ictx, nil, "")
	if err != nil {
		s.Close()
		return cleanCommandOutput(raw, cmd), &TimeoutError{Edge: s.t.Name, Command: cmd + " (interrupt)", After: s.t.CommandTimeout.String()}
	}
	return cleanCommandOutput(rest, cmd), nil
}

// Ping runs the Edge's ping with a payload size and optionally don't-fragment, for the MTU
// prerequisite check, and returns how many echo requests were sent and answered.
func (s *Session) Ping(ctx context.Context, dst netip.Addr, size, count int, df bool) (sent, received int, err error) {
	if !dst.IsValid() || size <= 0 || size > 65507 || count <= 0 || count > 100 {
		return 0, 0, fmt.Errorf("%s: ping %v size %d count %d: %w", s.t.Name, dst, size, count, ErrInvalidArgument)
	}
	flag := ""
	if df {
		flag = " dont-fragment"
	}
	out, err := s.Run(ctx, s.command(config.TemplatePing, "addr", dst.Unmap().String(), "size", strconv.Itoa(size), "count", strconv.Itoa(count), "df", flag))
	if err != nil {
		return 0, 0, err
	}
	return ParsePing(out)
}

// copyFailure returns the line of an scp client's output that says the copy failed, or "".
func copyFailure(out string) string {
	for _, l := range lines(out) {
		for _, mark := range []string{"lost connection", "Permission denied", "verification failed", "No such file", "scp: ", "ssh: "} {
			if strings.Contains(l, mark) {
				return strings.TrimSpace(l)
			}
		}
	}
	return ""
}
