package syslog

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var loopback = netip.MustParseAddr("127.0.0.1")

const flapLine = "<30>Mar  4 03:12:05 edge-01 charon: 09[IKE] giving up after 5 retransmits"

// startReceiver serves a receiver for edge-01 at 127.0.0.1 on loopback UDP and TCP.
func startReceiver(t *testing.T, o Options) (*Receiver, net.Addr, chan string) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	o.Senders = map[netip.Addr]string{loopback: "edge-01"}
	flaps := make(chan string, 16)
	o.OnFlap = func(edge string, _ time.Time, line string) {
		select {
		case flaps <- edge + " " + line:
		default:
		}
	}
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	pc, ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Serve(ctx, pc, ln) }()
	t.Cleanup(func() { cancel(); <-done; goleak.VerifyNone(t, ignore) })
	return r, ln.Addr(), flaps
}

// waitReceived waits until the receiver kept n messages.
func waitReceived(t *testing.T, r *Receiver, n uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for r.Stats().Received < n {
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d messages; stats %+v", r.Stats().Received, n, r.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readLog(t *testing.T, r *Receiver) string {
	t.Helper()
	var b bytes.Buffer
	if _, err := r.CopySince("edge-01", time.Time{}, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Ensure RFC 3164 and RFC 5424 arrive over UDP and over TCP in both framings, each kept as one
// line stamped with its arrival, and a charon give-up is reported as a flap at once.
func TestReceiver_UDPAndTCP(t *testing.T) {
	r, addr, flaps := startReceiver(t, Options{})
	udp, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	for _, m := range []string{
		"<30>Mar  4 03:12:04 edge-01 charon: 09[IKE] initiating IKE_SA vpn-1[3] to 192.0.2.10",
		"<165>1 2026-03-04T03:12:04.5Z edge-01 pluto 812 - - \"vpn-1\" #3: STATE_MAIN_I1: initiate",
		flapLine,
	} {
		if _, err := udp.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case f := <-flaps:
		if !strings.HasPrefix(f, "edge-01 charon: 09[IKE] giving up after 5 retransmits") {
			t.Errorf("flap = %q", f)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the give-up line was not reported as a flap")
	}
	tcp, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	octet := "<30>Mar  4 03:12:06 edge-01 charon: 10[IKE] octet counted"
	fmt.Fprintf(tcp, "%d %s", len(octet), octet)
	fmt.Fprintf(tcp, "<165>1 2026-03-04T03:12:07Z edge-01 charon - - - non-transparent\n")
	fmt.Fprintf(tcp, "%d %s", len(octet), octet)
	tcp.Close()
	waitReceived(t, r, 6)
	log := readLog(t, r)
	lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines, want 6:\n%s", len(lines), log)
	}
	for _, want := range []string{"edge-01 charon: 09[IKE] initiating IKE_SA", "edge-01 pluto[812]: \"vpn-1\" #3: STATE_MAIN_I1", "charon: 10[IKE] octet counted", "edge-01 charon: non-transparent"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	for _, l := range lines {
		ts, _, _ := strings.Cut(l, " ")
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("line does not start with its arrival time: %q", l)
		}
	}
}

// Ensure garbage, oversize messages, unknown senders and a flood are dropped or bounded and
// counted: nothing crashes, and the disk holds at most the cap.
func TestReceiver_HostileInput(t *testing.T) {
	dir := t.TempDir()
	const maxFile = 64 << 10
	r, addr, _ := startReceiver(t, Options{Dir: dir, MaxFileBytes: maxFile, Keep: 2})
	for _, g := range [][]byte{nil, {0}, []byte("\xff\xfe garbage"), []byte("<999>"), []byte("<13>"), bytes.Repeat([]byte("\n"), 50)} {
		r.Handle(loopback, g)
	}
	r.Handle(netip.MustParseAddr("192.0.2.99"), []byte(flapLine))
	r.Handle(loopback, append([]byte("<13>Mar  4 03:12:05 h a: "), bytes.Repeat([]byte("x"), maxLineBytes)...))
	// An oversize TCP frame of each framing, then a good one: the stream goes on after both.
	tcp, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("y", maxLineBytes+10)
	fmt.Fprintf(tcp, "%d %s", len(big), big)
	fmt.Fprintf(tcp, "<13>Mar  4 03:12:05 h a: %s\n", big)
	fmt.Fprintf(tcp, "<13>Mar  4 03:12:05 h a: after the oversize frames\n")
	tcp.Close()
	waitReceived(t, r, 1)
	// A flood over UDP, far more than the cap.
	udp, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	line := []byte("<30>Mar  4 03:12:04 edge-01 charon: 09[IKE] " + strings.Repeat("z", 400))
	const flood = 5000
	for range flood {
		udp.Write(line)
	}
	r.Handle(loopback, []byte("<30>Mar  4 03:12:04 edge-01 charon: the last one"))
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(tail(t, dir), "the last one") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st := r.Stats()
	if st.Dropped[DropUnknownSender] != 1 || st.Dropped[DropOversize] < 3 || st.Dropped[DropMalformed] < 4 {
		t.Errorf("drops = %v, want 1 unknown sender, 3 oversize, 4+ malformed", st.Dropped)
	}
	var total int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		fi, _ := e.Info()
		total += fi.Size()
	}
	if total > 3*maxFile {
		t.Errorf("%d bytes on disk for a cap of %d", total, 3*maxFile)
	}
	if len(entries) > 3 {
		t.Errorf("%d files, want the log and 2 rotated", len(entries))
	}
	if r.Covers("edge-01", r.started) {
		t.Error("the log says it covers a time whose lines rotation deleted")
	}
}

func tail(t *testing.T, dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "edge-01.log"))
	return string(b)
}

// Ensure the log covers a range only from its first line on and until rotation loses lines.
func TestReceiver_Covers(t *testing.T) {
	now := time.Date(2026, 3, 4, 3, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r, err := New(Options{Dir: t.TempDir(), Senders: map[netip.Addr]string{loopback: "edge-01"}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if r.Covers("edge-01", now) {
		t.Error("covers before any line")
	}
	now = now.Add(time.Minute)
	r.Handle(loopback, []byte("<30>Mar  4 03:01:00 edge-01 charon: first"))
	now = now.Add(time.Hour)
	if !r.Covers("edge-01", now.Add(-30*time.Minute)) || r.Covers("edge-01", now.Add(-2*time.Hour)) || r.Covers("edge-02", now) {
		t.Error("covers: want from the first line on, for its edge only")
	}
	var b bytes.Buffer
	if _, err := r.CopySince("edge-01", now.Add(-2*time.Hour), &b); err != nil || !strings.Contains(b.String(), "charon: first") {
		t.Errorf("copy = %q, %v", b.String(), err)
	}
	b.Reset()
	if _, err := r.CopySince("edge-01", now, &b); err != nil || b.Len() != 0 {
		t.Errorf("copy since after the line = %q, %v", b.String(), err)
	}
	for _, l := range r.logs {
		l.close()
	}
}
