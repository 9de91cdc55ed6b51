package edgesim_test

import (
	"io"
	"net/netip"
	"strings"
	"testing"

	"ipsecbot/diag/edge"
	"ipsecbot/lab/edgesim"
)

// trafficSA has one child SA carrying traffic both ways and one that only sends.
func trafficSA() *edge.SAStatus {
	child := func(id int, spi string, inPkts, outPkts int64) edge.ChildSA {
		return edge.ChildSA{Name: "s2s-net", ID: id, State: "INSTALLED", Mode: "TUNNEL", ReqID: id, Protocol: "ESP",
			SPIIn: spi + "01", SPIOut: spi + "02", Proposal: "AES_CBC_256/HMAC_SHA2_256_128",
			PacketsIn: inPkts, BytesIn: 84 * inPkts, PacketsOut: outPkts, BytesOut: 84 * outPkts,
			LocalTS: []netip.Prefix{netip.MustParsePrefix("10.1.1.0/24")}, RemoteTS: []netip.Prefix{netip.MustParsePrefix("10.2.2.0/24")}}
	}
	return &edge.SAStatus{Up: 1, IKESAs: []edge.IKESA{{Name: "s2s", ID: 1, State: "ESTABLISHED",
		Local: netip.MustParseAddr("192.0.2.1"), Remote: netip.MustParseAddr("192.0.2.2"), LocalID: "192.0.2.1", RemoteID: "192.0.2.2",
		Children: []edge.ChildSA{child(1, "aaaaaa", 10, 10), child(2, "bbbbbb", 0, 5)}}}}
}

// counts are the first child SA's counters.
func counts(st *edge.SAStatus) [4]int64 {
	c := st.IKESAs[0].Children[0]
	return [4]int64{c.PacketsIn, c.BytesIn, c.PacketsOut, c.BytesOut}
}

// readSA asks the Edge for `show service ipsec sa` and parses the answer.
func readSA(t *testing.T, tm *terminal) *edge.SAStatus {
	t.Helper()
	io.WriteString(tm.in, edge.CmdServiceIPsecSA+"\r")
	st, err := edge.ParseSA(tm.waitFor(t, enabledPrompt))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.IKESAs) != 1 || len(st.IKESAs[0].Children) != 2 {
		t.Fatalf("SAs %+v", st)
	}
	return st
}

// Ensure the SA counters move while a capture runs and only then: each direction that
// carries traffic grows at the packets' average size, one that carries none stays at zero,
// and after the capture stops the counters hold.
func TestSACountersMoveWhileCapturing(t *testing.T) {
	e := startWith(t, func(c *edgesim.Config) { c.SA, c.ESPPerSecond = trafficSA(), 50 })
	tm := enabledShell(t, e)
	before := readSA(t, tm)
	if again := readSA(t, tm); counts(again) != counts(before) {
		t.Fatalf("counters moved without a capture: %v then %v", counts(before), counts(again))
	}
	tm.answers(t, "debug packet capture interface vNic_0 host_192.0.2.2", "tcpdump: listening on vNic_0")
	var during *edge.SAStatus
	for during == nil || during.IKESAs[0].Children[0].PacketsIn == before.IKESAs[0].Children[0].PacketsIn {
		during = readSA(t, tm) // 50 packets a second: a later reading has more
	}
	tm.answers(t, "no debug packet capture interface vNic_0", "")
	after := readSA(t, tm)
	if again := readSA(t, tm); counts(again) != counts(after) {
		t.Errorf("counters moved after the capture stopped")
	}
	both, oneWay := after.IKESAs[0].Children[0], after.IKESAs[0].Children[1]
	if both.PacketsIn <= 10 || both.PacketsOut != both.PacketsIn || both.BytesIn != 84*both.PacketsIn || both.BytesOut != 84*both.PacketsOut {
		t.Errorf("two-way SA after the capture: %+v", both)
	}
	if oneWay.PacketsIn != 0 || oneWay.BytesIn != 0 || oneWay.PacketsOut != 5+both.PacketsIn-10 {
		t.Errorf("one-way SA after the capture: %+v", oneWay)
	}
}

// Ensure HangSessionsAfter starves the shells after the first ones and only those: the
// first session keeps answering while the second hangs on its first command.
func TestHangSessionsAfter(t *testing.T) {
	e := startWith(t, func(c *edgesim.Config) { c.Faults.HangSessionsAfter = 1 })
	first := enabledShell(t, e)
	second := shell(t, dial(t, e), 24)
	second.waitFor(t, "vShield-edge-3-0> ")
	io.WriteString(second.in, "show lines\r")
	waitCommand(t, e, "show lines")
	first.answers(t, "debug show files", "total 0.0K")
	for {
		select {
		case p, ok := <-second.out.ch:
			if ok && strings.Contains(string(p), "a line") {
				t.Fatalf("the starved session answered: %q", p)
			}
			if ok {
				continue
			}
		default:
		}
		return
	}
}
