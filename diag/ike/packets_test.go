package ike

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// TestEachPacket: ESP (plain and in UDP 4500) and echoes come out with their fields, an ICMP
// error's quoted packet does not pass for ESP, and a capture cut short keeps its first frames.
func TestEachPacket(t *testing.T) {
	a, b := netip.MustParseAddr("10.1.1.10"), netip.MustParseAddr("10.2.2.20")
	e, p := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("203.0.113.2")
	at := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	cw, err := NewCaptureWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	quoted := make([]byte, 28)
	quoted[0], quoted[9] = 0x45, 50 // an IPv4 header of an ESP packet
	for _, err := range []error{
		cw.Echo(at, a, b, 7, 1, false, 84, false),
		cw.ESP(at, e, p, 0xc1a5e001, 100, 136),
		cw.ESPInUDP(at, netip.AddrPortFrom(p, 4500), netip.AddrPortFrom(e, 4500), 0x5e7a0002, 200, 136),
		cw.Echo(at, b, a, 7, 1, true, 84, false),
		cw.ICMPError(at, p, e, 1, 0, quoted),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	var got []Packet
	if err := EachPacket(bytes.NewReader(buf.Bytes()), func(p Packet) { got = append(got, p) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("%d packets", len(got))
	}
	if g := got[0]; !g.Echo || g.Reply || g.EchoID != 7 || g.EchoSeq != 1 || g.Src != a || g.IPLen != 84 || g.Frame != 1 {
		t.Errorf("echo request %+v", g)
	}
	if g := got[1]; !g.ESP || g.SPI != 0xc1a5e001 || g.ESPSeq != 100 || g.IPLen != 156 {
		t.Errorf("ESP %+v", g)
	}
	if g := got[2]; !g.ESP || g.SPI != 0x5e7a0002 || g.ESPSeq != 200 || g.IPLen != 164 {
		t.Errorf("ESP in UDP %+v", g)
	}
	if g := got[3]; !g.Echo || !g.Reply {
		t.Errorf("echo reply %+v", g)
	}
	if g := got[4]; g.ESP || g.Echo {
		t.Errorf("ICMP error %+v: its quoted packet passed for ESP or an echo", g)
	}
	n := 0
	err = EachPacket(bytes.NewReader(buf.Bytes()[:buf.Len()-5]), func(Packet) { n++ })
	if !errors.Is(err, ErrTruncated) || n != 4 {
		t.Fatalf("cut short: %d packets, %v", n, err)
	}
}
