package syslog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	gosyslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/auto"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"

	ls "ipsecbot/diag/classify/logscan"
)

// Defaults of a Receiver.
const (
	DefaultMaxFileBytes = 8 << 20 // one file of an edge's log
	DefaultKeep         = 2       // rotated files kept beside the current one
	DefaultMaxConns     = 64      // TCP connections at once
	DefaultIdleTimeout  = 10 * time.Minute
	// maxLineBytes caps one message: longer ones are dropped (an Edge's IPsec lines are a
	// few hundred bytes; RFC 5424 asks receivers for 2048 at least).
	maxLineBytes = 16 << 10
	// udpReadBuffer is the UDP socket's receive buffer asked for.
	udpReadBuffer = 4 << 20
)

// Drop reasons (the ipsecbot_syslog_dropped_total reason label).
const (
	DropUnknownSender = "unknown_sender"
	DropMalformed     = "malformed"
	DropOversize      = "oversize"
	DropWrite         = "write_error"
	DropConnLimit     = "connection_limit"
)

// Options configure a Receiver.
type Options struct {
	// Dir holds the rolling logs, one NAME.log (and NAME.log.1...) per edge.
	Dir string
	// Senders maps a sender's address to its edge; other senders are dropped.
	Senders      map[netip.Addr]string
	MaxFileBytes int64
	Keep         int
	MaxConns     int
	IdleTimeout  time.Duration
	// OnFlap is told, as it arrives, of a charon/pluto line that marks a drop (DPD dead,
	// retransmits given up, a failed rekey). It must not block.
	OnFlap  func(edge string, at time.Time, line string)
	Now     func() time.Time
	Logger  *slog.Logger
	Metrics *Metrics
}

// Stats count what a Receiver got.
type Stats struct {
	Received uint64            // messages kept
	Dropped  map[string]uint64 // by reason
}

// Receiver receives the edges' syslog and keeps it.
type Receiver struct {
	o       Options
	started time.Time
	logs    map[string]*rolling // by edge, fixed at New
	parsers sync.Pool

	received atomic.Uint64
	dropped  sync.Map // reason -> *atomic.Uint64
	conns    chan struct{}
}

// New prepares a receiver for the senders of o.
func New(o Options) (*Receiver, error) {
	if o.Dir == "" {
		return nil, errors.New("syslog: no directory")
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = DefaultMaxFileBytes
	}
	o.MaxFileBytes = max(o.MaxFileBytes, 2*maxLineBytes)
	if o.Keep <= 0 {
		o.Keep = DefaultKeep
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Receiver{o: o, started: o.Now(), logs: map[string]*rolling{}, conns: make(chan struct{}, o.MaxConns)}
	for _, edge := range o.Senders {
		if _, ok := r.logs[edge]; !ok {
			r.logs[edge] = openRolling(o.Dir, edge, o.MaxFileBytes, o.Keep)
		}
	}
	r.parsers.New = func() any {
		return auto.NewMachine(auto.WithRFC3164Options(rfc3164.WithYear(rfc3164.CurrentYear{}), rfc3164.WithBestEffort()),
			auto.WithRFC5424Options(rfc5424.WithBestEffort()))
	}
	return r, nil
}

// Listen binds addr (host:port) on UDP and TCP.
func Listen(addr string) (net.PacketConn, net.Listener, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("syslog: %w", err)
	}
	// A burst of datagrams waits in the socket rather than being lost (the kernel caps it).
	_ = pc.(*net.UDPConn).SetReadBuffer(udpReadBuffer)
	// TCP on the port UDP got, so ":0" gives one port for both.
	tcpAddr := net.JoinHostPort(hostOf(addr), strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port))
	ln, err := net.Listen("tcp", tcpAddr)
	if err != nil {
		pc.Close()
		return nil, nil, fmt.Errorf("syslog: %w", err)
	}
	return pc, ln, nil
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return h
}

// Serve receives on udp and tcp (either may be nil) until ctx ends, then closes them and
// the logs.
func (r *Receiver) Serve(ctx context.Context, udp net.PacketConn, tcp net.Listener) error {
	var wg sync.WaitGroup
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if udp != nil {
		wg.Go(func() { r.serveUDP(udp) })
		context.AfterFunc(cctx, func() { udp.Close() })
	}
	if tcp != nil {
		wg.Go(func() { r.serveTCP(cctx, tcp) })
		context.AfterFunc(cctx, func() { tcp.Close() })
	}
	<-cctx.Done()
	wg.Wait()
	for _, l := range r.logs {
		l.close()
	}
	return nil
}

func (r *Receiver) serveUDP(pc net.PacketConn) {
	buf := make([]byte, 64<<10) // the largest datagram
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		r.Handle(addrOf(from), buf[:n])
	}
}

func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap()
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

func (r *Receiver) serveTCP(ctx context.Context, ln net.Listener) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		from := addrOf(c.RemoteAddr())
		if _, ok := r.o.Senders[from]; !ok {
			r.drop(DropUnknownSender)
			c.Close()
			continue
		}
		select {
		case r.conns <- struct{}{}:
		default:
			r.drop(DropConnLimit)
			c.Close()
			continue
		}
		stop := context.AfterFunc(ctx, func() { c.Close() })
		wg.Go(func() {
			defer func() { <-r.conns }()
			defer stop()
			defer c.Close()
			r.readFrames(from, &deadlineReader{c: c, idle: r.o.IdleTimeout})
		})
	}
}

// deadlineReader ends a connection that sends nothing for idle.
type deadlineReader struct {
	c    net.Conn
	idle time.Duration
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	_ = d.c.SetReadDeadline(time.Now().Add(d.idle))
	return d.c.Read(p)
}

// readFrames splits a TCP stream into messages (RFC 6587): a frame starting with a digit is
// octet-counted ("LEN MSG"), any other is non-transparent, ended by a newline (or NUL). Each
// frame is bounded: an oversize one is skipped and counted, a length beyond any message ends
// the connection. The framing is read here rather than by the library's stream parsers so a
// hostile stream never makes a message buffer grow past maxLineBytes.
func (r *Receiver) readFrames(from netip.Addr, rd io.Reader) {
	br := bufio.NewReaderSize(rd, 32<<10)
	frame := make([]byte, 0, 4096)
	for {
		b, err := br.ReadByte()
		if err != nil {
			return
		}
		if b >= '1' && b <= '9' {
			n := int(b - '0')
			for {
				c, err := br.ReadByte()
				if err != nil {
					return
				}
				if c == ' ' {
					break
				}
				if c < '0' || c > '9' || n > maxLineBytes*64 {
					r.drop(DropMalformed)
					return // lost the framing: nothing after can be trusted
				}
				n = n*10 + int(c-'0')
			}
			if n > maxLineBytes {
				r.drop(DropOversize)
				if _, err := br.Discard(n); err != nil {
					return
				}
				continue
			}
			frame = frame[:n]
			if _, err := io.ReadFull(br, frame); err != nil {
				return
			}
			r.Handle(from, frame)
			continue
		}
		if b == '\n' || b == 0 {
			continue
		}
		frame = append(frame[:0], b)
		over := false
		for {
			c, err := br.ReadByte()
			if err != nil {
				if len(frame) > 0 && !over {
					r.Handle(from, frame)
				}
				return
			}
			if c == '\n' || c == 0 {
				break
			}
			if len(frame) >= maxLineBytes {
				over = true
				continue
			}
			frame = append(frame, c)
		}
		if over {
			r.drop(DropOversize)
			continue
		}
		r.Handle(from, frame)
	}
}

// Handle takes one message from a sender: it is parsed, written to its edge's log as one line
// stamped with the time it arrived, and told to OnFlap when it marks a drop. Anything else
// is dropped and counted.
func (r *Receiver) Handle(from netip.Addr, msg []byte) {
	edge, ok := r.o.Senders[from]
	if !ok {
		r.drop(DropUnknownSender)
		return
	}
	if len(msg) > maxLineBytes {
		r.drop(DropOversize)
		return
	}
	at := r.o.Now().UTC()
	line, text, ok := r.format(edge, msg, at)
	if !ok {
		r.drop(DropMalformed)
		return
	}
	if err := r.logs[edge].append(line, at); err != nil {
		r.drop(DropWrite)
		r.o.Logger.Warn("syslog write", "edge", edge, "err", err)
		return
	}
	r.received.Add(1)
	if r.o.Metrics != nil {
		r.o.Metrics.received.Inc()
	}
	if r.o.OnFlap != nil && marksDrop(text) {
		r.o.OnFlap(edge, at, text)
	}
}

// format turns a message into its log line: "TIME HOST APP[PID]: MSG\n" with TIME the
// arrival in RFC 3339 (what the log scanner reads), and returns the line's program and text.
func (r *Receiver) format(edge string, msg []byte, at time.Time) (line []byte, text string, ok bool) {
	m := r.parsers.Get().(gosyslog.Machine)
	parsed, _ := m.Parse(msg)
	r.parsers.Put(m)
	if parsed == nil {
		return nil, "", false
	}
	var base *gosyslog.Base
	switch p := parsed.(type) {
	case *rfc3164.SyslogMessage:
		base = &p.Base
	case *rfc5424.SyslogMessage:
		base = &p.Base
	default:
		return nil, "", false
	}
	body := clean(deref(base.Message))
	if body == "" {
		return nil, "", false
	}
	host := clean(deref(base.Hostname))
	if host == "" || strings.ContainsAny(host, " ") {
		host = edge
	}
	app := clean(deref(base.Appname))
	if strings.ContainsAny(app, " ") {
		app = ""
	}
	text = body
	if app != "" {
		prog := app
		if pid := clean(deref(base.ProcID)); pid != "" && !strings.ContainsAny(pid, " ") {
			prog += "[" + pid + "]"
		}
		text = prog + ": " + body
	}
	return []byte(at.Format(time.RFC3339Nano) + " " + host + " " + text + "\n"), text, true
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// clean keeps a field on one line of valid text: control characters become spaces.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	s = strings.Map(func(c rune) rune {
		if c < ' ' || c == 0x7f {
			return ' '
		}
		return c
	}, s)
	return strings.TrimSpace(s)
}

// dropEvents are the charon/pluto events that end a tunnel that was up.
var dropEvents = map[ls.Event]bool{
	ls.EvDPDDead: true, ls.EvGiveUp: true, ls.EvPeerNotResponding: true,
	ls.EvMaxRetransmissions: true, ls.EvRekeyFailed: true,
}

// marksDrop reports whether a line of charon or pluto says a tunnel dropped.
func marksDrop(text string) bool {
	if !strings.Contains(text, "charon") && !strings.Contains(text, "pluto") {
		return false
	}
	i := ls.MatchString(text)
	return i >= 0 && dropEvents[ls.PatternEvent(i)]
}

func (r *Receiver) drop(reason string) {
	v, _ := r.dropped.LoadOrStore(reason, new(atomic.Uint64))
	v.(*atomic.Uint64).Add(1)
	if r.o.Metrics != nil {
		r.o.Metrics.dropped.WithLabelValues(reason).Inc()
	}
}

// Stats returns the counts so far.
func (r *Receiver) Stats() Stats {
	s := Stats{Received: r.received.Load(), Dropped: map[string]uint64{}}
	r.dropped.Range(func(k, v any) bool {
		s.Dropped[k.(string)] = v.(*atomic.Uint64).Load()
		return true
	})
	return s
}

// Covers reports whether the edge's received log holds every line the edge sent from `from`
// until now: the edge was sending before from, and no rotation lost lines since.
func (r *Receiver) Covers(edge string, from time.Time) bool {
	l, ok := r.logs[edge]
	return ok && !from.Before(r.started) && l.covers(from)
}

// CopySince writes the edge's kept lines received at or after from to w, oldest first.
func (r *Receiver) CopySince(edge string, from time.Time, w io.Writer) (int64, error) {
	l, ok := r.logs[edge]
	if !ok {
		return 0, fmt.Errorf("syslog: no log for edge %q", edge)
	}
	return l.copySince(from, w)
}
