package syslog

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// FuzzHandle feeds one message as a datagram and as a TCP stream: no panic, and every line
// kept is one line starting with its arrival time, as many as were counted received.
func FuzzHandle(f *testing.F) {
	for _, s := range []string{
		flapLine,
		"<165>1 2026-03-04T03:12:04.5Z edge-01 pluto 812 ID47 [x@1 a=\"b\"] \"vpn-1\" #3: STATE_MAIN_I1",
		"12 <13>Mar  4 a\n<13>Mar  4 03:12:05 h a: b\n",
		"99999999999999999999 x", "<13>\x00\r\n\t", "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		r, err := New(Options{Dir: dir, Senders: map[netip.Addr]string{loopback: "edge-01"}, MaxFileBytes: 1 << 16,
			OnFlap: func(string, time.Time, string) {}})
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			for _, l := range r.logs {
				l.close()
			}
		}()
		r.Handle(loopback, b)
		r.readFrames(loopback, bytes.NewReader(b))
		var out bytes.Buffer
		if _, err := r.CopySince("edge-01", time.Time{}, &out); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if out.Len() == 0 {
			lines = nil
		}
		if uint64(len(lines)) != r.Stats().Received {
			t.Fatalf("%d lines kept, %d received:\n%q", len(lines), r.Stats().Received, out.String())
		}
		for _, l := range lines {
			ts, _, _ := strings.Cut(l, " ")
			if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
				t.Fatalf("line without its time: %q", l)
			}
		}
	})
}
