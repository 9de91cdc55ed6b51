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
	Pktcap   string // needs {port} and {file}; runs in the background and prints its process id
	Tcpdump  string // needs {file}; as Pktcap
	Stop     string // needs {pid}
	Ping     string // needs {addr}
	Fetch    string // needs {file}
	Remove   string // needs {file}
}

// DefaultTemplates are used for every template left empty.
var DefaultTemplates = Templates{
	NetStats: "net-stats -l",
	Pktcap:   "pktcap-uw --switchport {port} --dir 2 --proto 0x01 -c {count} -o {file} >/dev/null 2>&1 & echo $!",
	Tcpdump:  "tcpdump -i any -nn -c {count} -w {file} icmp or esp or udp port 4500 >/dev/null 2>&1 & echo $!",
	Stop:     "kill {pid}",
	Ping:     "ping -c {count} -i 1 {addr}",
	Fetch:    "cat {file}",
	Remove:   "rm -f {file}",
}

func (t Templates) withDefaults() Templates {
	d := DefaultTemplates
	for _, f := range []struct{ v, def *string }{{&t.NetStats, &d.NetStats}, {&t.Pktcap, &d.Pktcap}, {&t.Tcpdump, &d.Tcpdump}, {&t.Stop, &d.Stop},
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
		{"tcpdump", t.Tcpdump, "{file}"}, {"stop", t.Stop, "{pid}"}, {"ping", t.Ping, "{addr}"}, {"fetch", t.Fetch, "{file}"}, {"remove", t.Remove, "{file}"}} {
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
	// Records, when set, keeps each capture on record from before it starts until its file is
	// removed, so that one a crash left behind is removed at the next start (Cleanup).
	Records Recorder
}

// Recorder keeps the host's captures on record.
type Recorder interface {
	// Record is called before the capture starts (pid 0) and once it runs; an error before the
	// start refuses it (unrecorded, a crash would leave it unknown).
	Record(host, file string, pid int) error
	// Forget is called once the file is removed.
	Forget(host, file string) error
}

// Cleanup stops a recorded capture's process (when pid > 1) and removes its file: what a run
// that died left on the host.
func (h *Host) Cleanup(ctx context.Context, file string, pid int) error {
	if !validTemp.MatchString(file) {
		return fmt.Errorf("%s: %q is not a capture file of ours", h.Name, file)
	}
	r := &Running{h: h, vals: map[string]string{"{file}": file}}
	if pid > 1 {
		r.vals["{pid}"] = strconv.Itoa(pid)
	}
	return r.cleanup(ctx, true)
}

var validTemp = regexp.MustCompile(`^/tmp/ipsecbot-[0-9a-f]{16}\.pcap$`)

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

// StartPktcap starts pktcap-uw on a switch port in the background, capturing ICMP both ways.
// The capture ends at Finish, or by itself after Count packets.
func (h *Host) StartPktcap(ctx context.Context, port uint64) (*Running, error) {
	return h.start(ctx, h.Templates.withDefaults().Pktcap, map[string]string{"{port}": strconv.FormatUint(port, 10)})
}

// StartTcpdump starts tcpdump in the background, capturing the pings and the tunnel's packets.
func (h *Host) StartTcpdump(ctx context.Context) (*Running, error) {
	return h.start(ctx, h.Templates.withDefaults().Tcpdump, nil)
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

// Running is a capture started on a host: its process and its file. Finish or Abort it once,
// from one goroutine.
type Running struct {
	h    *Host
	vals map[string]string // {file}, {count}, {pid}, ...
	done bool
}

// start runs a capture template in the background; its output is the process id. When that
// fails, the file is removed all the same, in case the capture started.
func (h *Host) start(ctx context.Context, tmpl string, vals map[string]string) (*Running, error) {
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
	r := &Running{h: h, vals: map[string]string{"{file}": file, "{count}": strconv.Itoa(count)}}
	for k, v := range vals {
		r.vals[k] = v
	}
	if h.Records != nil {
		if err := h.Records.Record(h.Name, file, 0); err != nil {
			return nil, fmt.Errorf("%s: record the capture before starting it: %w", h.Name, err)
		}
	}
	var out strings.Builder
	if err := h.exec(ctx, fill(tmpl, r.vals), &limitWriter{w: &out, n: 4096}); err != nil {
		return nil, errors.Join(fmt.Errorf("%s: start the capture: %w", h.Name, err), r.cleanup(ctx, false))
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil || pid <= 1 {
		return nil, errors.Join(fmt.Errorf("%s: the capture command printed %.40q, not its process id", h.Name, out.String()), r.cleanup(ctx, false))
	}
	r.vals["{pid}"] = strconv.Itoa(pid)
	if h.Records != nil {
		if err := h.Records.Record(h.Name, file, pid); err != nil {
			return nil, errors.Join(fmt.Errorf("%s: record the capture's process: %w", h.Name, err), r.cleanup(ctx, true))
		}
	}
	return r, nil
}

// Finish stops the capture, fetches its file and removes it. The stop and the removal run
// whatever happens, on a context of their own when ctx is already done.
func (r *Running) Finish(ctx context.Context) (data []byte, err error) {
	if r.done {
		return nil, errors.New("the capture was already finished")
	}
	r.done = true
	h, t := r.h, r.h.Templates.withDefaults()
	defer func() { err = errors.Join(err, r.cleanup(ctx, false)) }()
	r.stop(ctx)
	limit := h.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	var buf bytes.Buffer
	lw := &limitWriter{w: &buf, n: limit}
	file := r.vals["{file}"]
	if err := h.exec(ctx, fill(t.Fetch, r.vals), lw); err != nil {
		if lw.over {
			return nil, fmt.Errorf("%s: %s is larger than %d bytes", h.Name, file, limit)
		}
		return nil, fmt.Errorf("%s: fetch %s: %w", h.Name, file, err)
	}
	return buf.Bytes(), nil
}

// Abort stops the capture and removes its file without fetching it.
func (r *Running) Abort(ctx context.Context) error {
	if r.done {
		return nil
	}
	r.done = true
	return r.cleanup(ctx, true)
}

// stop ends the capture's process, on a context that outlives ctx's cancellation. A capture
// that ended by itself (its count reached) has no process left, so a failed stop is not an error:
// the file's removal is what counts.
func (r *Running) stop(ctx context.Context) {
	if _, ok := r.vals["{pid}"]; !ok {
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
	defer cancel()
	r.h.exec(sctx, fill(r.h.Templates.withDefaults().Stop, r.vals), io.Discard)
}

// cleanup stops the process when asked and removes the file, on a context that outlives ctx's
// cancellation.
func (r *Running) cleanup(ctx context.Context, stop bool) error {
	if stop {
		r.stop(ctx)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
	defer cancel()
	h, t := r.h, r.h.Templates.withDefaults()
	if err := h.exec(rctx, fill(t.Remove, r.vals), io.Discard); err != nil {
		return fmt.Errorf("%s: remove %s: %w", h.Name, r.vals["{file}"], err)
	}
	if h.Records != nil {
		if err := h.Records.Forget(h.Name, r.vals["{file}"]); err != nil {
			return fmt.Errorf("%s: %s removed, and its record not deleted: %w", h.Name, r.vals["{file}"], err)
		}
	}
	return nil
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
