package hostcap

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Execer runs one command on a host and streams its output (diag/peer's SSHExec is one).
type Execer interface {
	Exec(ctx context.Context, command string, w io.Writer) error
}

// Templates are the commands, with {port}, {count}, {file} and {addr} filled in. The defaults
// follow VMware's documented pktcap-uw options and common tcpdump use; see docs/assumptions.md
// (H1-H4) for what is not confirmed on a real host.
type Templates struct {
	NetStats string
	Pktcap   string // needs {port} and {file}
	Tcpdump  string // needs {file}
	Ping     string // needs {addr}
	Fetch    string // needs {file}
	Remove   string // needs {file}
}

// DefaultTemplates are used for every template left empty.
var DefaultTemplates = Templates{
	NetStats: "net-stats -l",
	Pktcap:   "pktcap-uw --switchport {port} --dir 2 --proto 0x01 -c {count} -o {file}",
	Tcpdump:  "tcpdump -i any -nn -c {count} -w {file} icmp or esp or udp port 4500",
	Ping:     "ping -c {count} -i 1 {addr}",
	Fetch:    "cat {file}",
	Remove:   "rm -f {file}",
}

func (t Templates) withDefaults() Templates {
	d := DefaultTemplates
	for _, f := range []struct{ v, def *string }{{&t.NetStats, &d.NetStats}, {&t.Pktcap, &d.Pktcap}, {&t.Tcpdump, &d.Tcpdump},
		{&t.Ping, &d.Ping}, {&t.Fetch, &d.Fetch}, {&t.Remove, &d.Remove}} {
		if *f.v == "" {
			*f.v = *f.def
		}
	}
	return t
}

// Check reports a template that lacks what it needs.
func (t Templates) Check() error {
	t = t.withDefaults()
	for _, c := range []struct{ name, tmpl, need string }{{"pktcap", t.Pktcap, "{port}"}, {"pktcap", t.Pktcap, "{file}"},
		{"tcpdump", t.Tcpdump, "{file}"}, {"ping", t.Ping, "{addr}"}, {"fetch", t.Fetch, "{file}"}, {"remove", t.Remove, "{file}"}} {
		if !strings.Contains(c.tmpl, c.need) {
			return fmt.Errorf("the %s command template %q lacks %s", c.name, c.tmpl, c.need)
		}
	}
	return nil
}

// Limits of one capture.
const (
	DefaultCount    = 200      // packets one capture may take
	DefaultMaxBytes = 16 << 20 // bytes one fetched capture may have
	removeTimeout   = 15 * time.Second
)

// Host runs the step's commands on one host.
type Host struct {
	Name      string // for errors: "esxi-01"
	X         Execer
	Templates Templates
	Count     int   // 0: DefaultCount
	MaxBytes  int64 // 0: DefaultMaxBytes
}

// SwitchPort finds vm's vNIC nic port from `net-stats -l`.
func (h *Host) SwitchPort(ctx context.Context, vm string, nic int) (Port, error) {
	if !validVM.MatchString(vm) {
		return Port{}, fmt.Errorf("%s: VM name %q: letters, digits, '-', '_' and '.' only", h.Name, vm)
	}
	var out strings.Builder
	if err := h.exec(ctx, h.Templates.withDefaults().NetStats, &limitWriter{w: &out, n: 1 << 20}); err != nil {
		return Port{}, fmt.Errorf("%s: %w", h.Name, err)
	}
	ports, err := ParseNetStats(out.String())
	if err != nil {
		return Port{}, fmt.Errorf("%s: %w", h.Name, err)
	}
	p, err := VMPort(ports, vm, nic)
	if err != nil {
		return Port{}, fmt.Errorf("%s: %w", h.Name, err)
	}
	return p, nil
}

var validVM = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$`)

// Pktcap captures ICMP on a switch port with pktcap-uw and returns the pcap.
func (h *Host) Pktcap(ctx context.Context, port uint64) ([]byte, error) {
	return h.capture(ctx, h.Templates.withDefaults().Pktcap, map[string]string{"{port}": strconv.FormatUint(port, 10)})
}

// Tcpdump captures the pings and the tunnel's packets with tcpdump and returns the pcap.
func (h *Host) Tcpdump(ctx context.Context) ([]byte, error) {
	return h.capture(ctx, h.Templates.withDefaults().Tcpdump, nil)
}

// Ping sends count echoes to addr from the host and returns ping's output; a ping that got no
// answer is not an error (the captures say where it stopped).
func (h *Host) Ping(ctx context.Context, addr netip.Addr, count int) (string, error) {
	if !addr.IsValid() || count < 1 || count > 100 {
		return "", fmt.Errorf("%s: ping %s x%d: an address and 1 to 100 echoes", h.Name, addr, count)
	}
	cmd := fill(h.Templates.withDefaults().Ping, map[string]string{"{addr}": addr.String(), "{count}": strconv.Itoa(count)})
	var out strings.Builder
	err := h.exec(ctx, cmd, &limitWriter{w: &out, n: 64 << 10})
	if err != nil && ctx.Err() != nil {
		return out.String(), fmt.Errorf("%s: %w", h.Name, err)
	}
	return out.String(), nil
}

// capture runs a capture command that writes {file}, fetches the file and removes it, the
// removal on a context of its own so a cancelled or timed-out run still cleans up.
func (h *Host) capture(ctx context.Context, tmpl string, vals map[string]string) (data []byte, err error) {
	t := h.Templates.withDefaults()
	if err := t.Check(); err != nil {
		return nil, err
	}
	file, err := tempName()
	if err != nil {
		return nil, err
	}
	count := h.Count
	if count <= 0 {
		count = DefaultCount
	}
	all := map[string]string{"{file}": file, "{count}": strconv.Itoa(count)}
	for k, v := range vals {
		all[k] = v
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
		defer cancel()
		if rerr := h.exec(rctx, fill(t.Remove, all), io.Discard); rerr != nil {
			err = errors.Join(err, fmt.Errorf("%s: remove %s: %w", h.Name, file, rerr))
		}
	}()
	if err := h.exec(ctx, fill(tmpl, all), &limitWriter{w: io.Discard, n: 1 << 20}); err != nil {
		return nil, fmt.Errorf("%s: capture: %w", h.Name, err)
	}
	limit := h.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	var buf bytes.Buffer
	lw := &limitWriter{w: &buf, n: limit}
	if err := h.exec(ctx, fill(t.Fetch, all), lw); err != nil {
		if lw.over {
			return nil, fmt.Errorf("%s: %s is larger than %d bytes", h.Name, file, limit)
		}
		return nil, fmt.Errorf("%s: fetch %s: %w", h.Name, file, err)
	}
	return buf.Bytes(), nil
}

// exec runs cmd, its error on one line (a remote stderr ends in a newline).
func (h *Host) exec(ctx context.Context, cmd string, w io.Writer) error {
	if err := h.X.Exec(ctx, cmd, w); err != nil {
		return oneLine{err}
	}
	return nil
}

type oneLine struct{ error }

func (e oneLine) Error() string { return strings.Join(strings.Fields(e.error.Error()), " ") }
func (e oneLine) Unwrap() error { return e.error }

// fill puts the values into a template.
func fill(tmpl string, vals map[string]string) string {
	var pairs []string
	for k, v := range vals {
		pairs = append(pairs, k, v)
	}
	return strings.NewReplacer(pairs...).Replace(tmpl)
}

// tempName is a fresh capture file name: /tmp/ipsecbot-<16 hex>.pcap.
func tempName() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "/tmp/ipsecbot-" + hex.EncodeToString(b[:]) + ".pcap", nil
}

// limitWriter passes on at most n bytes, then fails.
type limitWriter struct {
	w    io.Writer
	n    int64
	over bool
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		l.over = true
		return 0, errors.New("output too large")
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}
