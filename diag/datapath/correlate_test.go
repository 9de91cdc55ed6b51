package datapath_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/datapath"
	"ipsecbot/diag/datapath/scene"
)

// files writes the scene's four captures in memory.
func files(t testing.TB, s scene.Scene) [4][]byte {
	t.Helper()
	var out [4][]byte
	for p := range out {
		var b bytes.Buffer
		if err := s.WritePoint(p+1, &b); err != nil {
			t.Fatal(err)
		}
		out[p] = b.Bytes()
	}
	return out
}

// inputOf is the correlation's input for the scene over the given captures.
func inputOf(s scene.Scene, files [4][]byte) datapath.Input {
	in := s.Input()
	for p := range files {
		in.Points[p] = datapath.Capture{Name: fmt.Sprintf("point-%d.pcap", p+1), Data: bytes.NewReader(files[p])}
	}
	return in
}

// captures is the correlation's input with the scene's own captures.
func captures(t testing.TB, s scene.Scene) datapath.Input { return inputOf(s, files(t, s)) }

func correlate(t testing.TB, s scene.Scene) *datapath.Result {
	t.Helper()
	r, err := datapath.Correlate(captures(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// want is what a scene's fault should be found as.
type want struct {
	verdict diag.Cause
	dir     datapath.Direction
	leg     datapath.Leg
	stop    int
}

// expected derives the verdict from the fault: a fault toward host 2 stops the forward ping's
// requests, one toward VM 1 its replies; not answering is the destination's, so the return ping
// shows VM 1's.
func expected(s scene.Scene) want {
	if s.Fault == "" || s.Fault == diag.CauseHealthy {
		return want{verdict: diag.CauseHealthy}
	}
	// The last point the packets were seen at, along their way.
	lastToHost2 := map[diag.Cause]int{datapath.DroppedBeforeEdge: 1, datapath.EdgeNotEncrypting: 2, datapath.LostOnWAN: 3, datapath.PeerNotDecrypting: 4, datapath.RemoteNotAnswering: 4}
	lastToVM := map[diag.Cause]int{datapath.DroppedBeforeEdge: 2, datapath.EdgeNotEncrypting: 3, datapath.LostOnWAN: 4, datapath.PeerNotDecrypting: 4, datapath.RemoteNotAnswering: 1}
	switch {
	case s.Fault == datapath.RemoteNotAnswering && s.TowardVM:
		return want{s.Fault, datapath.Return, datapath.Request, 1}
	case s.Fault == datapath.RemoteNotAnswering:
		return want{s.Fault, datapath.Forward, datapath.Request, 4}
	case s.TowardVM:
		return want{s.Fault, datapath.Forward, datapath.Reply, lastToVM[s.Fault]}
	}
	return want{s.Fault, datapath.Forward, datapath.Request, lastToHost2[s.Fault]}
}

func check(t *testing.T, r *datapath.Result, w want) {
	t.Helper()
	got := want{r.Verdict, r.Direction, r.Leg, r.Stop}
	if got != w {
		t.Fatalf("got %+v, want %+v\n%s", got, w, datapath.Table(r))
	}
	if len(r.Evidence) == 0 {
		t.Fatalf("no evidence\n%s", datapath.Table(r))
	}
	for _, e := range r.Evidence {
		if e.Source != diag.SourcePcap || !strings.HasPrefix(e.Ref, "point-") {
			t.Errorf("evidence %+v: want a pcap ref point-N.pcap#FRAME", e)
		}
	}
	if w.verdict != diag.CauseHealthy && !strings.Contains(r.Evidence[0].Ref, fmt.Sprintf("point-%d.pcap#", w.stop)) {
		t.Errorf("first evidence %s: want a frame of point %d", r.Evidence[0].Ref, w.stop)
	}
}

// TestScenes: every lab scene, with skewed clocks, duplicates, reordering and other traffic, is
// found at its hop, and the other ping is judged consistently.
func TestScenes(t *testing.T) {
	for _, s := range scene.Scenes() {
		t.Run(s.Name(), func(t *testing.T) {
			r := correlate(t, s)
			check(t, r, expected(s))
			bothWays(t, s, r)
		})
	}
}

// bothWays: a fault on the path stops both pings at the same hop (one's requests, the other's
// replies); a destination that does not answer stops only the ping sent to it.
func bothWays(t *testing.T, s scene.Scene, r *datapath.Result) {
	t.Helper()
	fwd, ret := r.Pings[0], r.Pings[1]
	switch {
	case s.Fault == "" || s.Fault == diag.CauseHealthy:
		return
	case s.Fault == datapath.RemoteNotAnswering && s.TowardVM:
		if fwd.Verdict != diag.CauseHealthy {
			t.Errorf("forward ping %s, want healthy: only VM 1 does not answer", fwd.Verdict)
		}
	case s.Fault == datapath.RemoteNotAnswering:
		if ret.Verdict != diag.CauseHealthy {
			t.Errorf("return ping %s, want healthy: only host 2 does not answer", ret.Verdict)
		}
	case fwd.Verdict != r.Verdict || ret.Verdict != r.Verdict || fwd.Leg == ret.Leg:
		t.Errorf("forward %s/%s, return %s/%s: want both %s, one in its requests and one in its replies\n%s",
			fwd.Verdict, fwd.Leg, ret.Verdict, ret.Leg, r.Verdict, datapath.Table(r))
	}
}

// TestFarViews: the far side seen only as ESP (the gateway's outside) or only in clear (the
// remote host), every fault both ways, with loss, skew, duplicates, reordering and other traffic.
// Where the missing view hides the hop, the nearest observable cause is named and the text says
// what it cannot be told from.
func TestFarViews(t *testing.T) {
	for _, view := range []scene.FarView{scene.ESPOnly, scene.HostOnly} {
		for _, c := range datapath.Causes {
			for _, toward := range []bool{false, true} {
				s := scene.Scene{View: view, Fault: c, TowardVM: toward, SkewFar: 5 * time.Second, SkewESXi: -3 * time.Second,
					Noise: true, Reorder: true, Duplicate: true, LoseOne: true}
				w, ambiguous := expected(s), false
				switch {
				case view == scene.ESPOnly && c == datapath.PeerNotDecrypting && toward:
					w, ambiguous = want{c, datapath.Forward, datapath.Request, 4}, true // no reply ESP: not encrypted, or never answered
				case view == scene.ESPOnly && c == datapath.RemoteNotAnswering && !toward:
					w, ambiguous = want{datapath.PeerNotDecrypting, datapath.Forward, datapath.Request, 4}, true
				case view == scene.HostOnly && c == datapath.PeerNotDecrypting && !toward:
					w, ambiguous = want{datapath.LostOnWAN, datapath.Forward, datapath.Request, 3}, true
				case view == scene.HostOnly && c == datapath.PeerNotDecrypting && toward:
					w, ambiguous = want{datapath.LostOnWAN, datapath.Forward, datapath.Reply, 4}, true
				case view == scene.ESPOnly && c == datapath.PeerNotDecrypting, view == scene.HostOnly && c == datapath.LostOnWAN:
					ambiguous = true // the gateway is not seen either
				}
				t.Run(fmt.Sprintf("%d-%s-%v", view, c, toward), func(t *testing.T) {
					r := correlate(t, s)
					check(t, r, w)
					if view == scene.HostOnly {
						bothWays(t, s, r)
					}
					if said := strings.Contains(r.Summary, "cannot tell"); said != ambiguous {
						t.Errorf("summary %q: says it cannot tell: %v, want %v", r.Summary, said, ambiguous)
					}
				})
			}
		}
	}
}

// TestNATT: ESP in UDP 4500, as a NAT-traversing tunnel carries it, is followed the same way.
func TestNATT(t *testing.T) {
	for _, name := range []string{"datapath-healthy", "datapath-lost_on_wan-return", "datapath-edge_not_encrypting-return"} {
		s, _ := scene.Lookup(name)
		s.NATT = true
		t.Run(name, func(t *testing.T) {
			r := correlate(t, s)
			check(t, r, expected(s))
			bothWays(t, s, r)
		})
	}
}

// TestLossIsNotAFault: one request lost on the WAN of four is reported, not blamed.
func TestLossIsNotAFault(t *testing.T) {
	r := correlate(t, scene.Scene{LoseOne: true, Duplicate: true, Reorder: true, Noise: true, SkewESXi: -2 * time.Second})
	if r.Verdict != diag.CauseHealthy {
		t.Fatalf("verdict %s\n%s", r.Verdict, datapath.Table(r))
	}
	f := r.Pings[0]
	if f.Answered != 3 || f.Echoes != 4 || f.Requests[2] != 4 || f.Requests[3] != 3 {
		t.Fatalf("forward ping %+v, want 3 of 4 answered, 4 at point 3 and 3 at point 4", f)
	}
}

// TestMissingPoint: a point not captured is marked so, and the verdict comes from the others.
func TestMissingPoint(t *testing.T) {
	in := captures(t, scene.Scene{Fault: datapath.LostOnWAN})
	in.Points[0].Data = nil
	r, err := datapath.Correlate(in)
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != datapath.LostOnWAN || r.Pings[0].Requests[0] != -1 {
		t.Fatalf("verdict %s, requests %v\n%s", r.Verdict, r.Pings[0].Requests, datapath.Table(r))
	}
}

// TestTruncated: a capture cut short keeps its earlier frames and says so.
func TestTruncated(t *testing.T) {
	in := captures(t, scene.Scene{})
	b := files(t, scene.Scene{})[3]
	in.Points[3].Data = bytes.NewReader(b[:len(b)-7])
	r, err := datapath.Correlate(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Notes) == 0 || !strings.Contains(r.Notes[0], "point-4.pcap") {
		t.Fatalf("notes %q, want the cut-short point-4.pcap", r.Notes)
	}
}

// TestLearntIDs: ids left 0 (a ping whose id the operator did not choose) are learnt from the
// captures, and the verdict is the same.
func TestLearntIDs(t *testing.T) {
	s, _ := scene.Lookup("datapath-edge_not_encrypting-return")
	in := captures(t, s)
	in.ForwardID, in.ReturnID = 0, 0
	r, err := datapath.Correlate(in)
	if err != nil {
		t.Fatal(err)
	}
	check(t, r, expected(s))
	if r.Pings[0].ID != scene.ForwardID || r.Pings[1].ID != scene.ReturnID || len(r.Notes) < 2 || !strings.Contains(r.Notes[0], "learnt") {
		t.Fatalf("ids %d, %d; notes %q", r.Pings[0].ID, r.Pings[1].ID, r.Notes)
	}
}

func TestBadInput(t *testing.T) {
	cases := map[string]func(*datapath.Input){
		"same host":  func(in *datapath.Input) { in.Host2 = in.VM1 },
		"no VM 1":    func(in *datapath.Input) { in.VM1 = netip.Addr{} },
		"same SPI":   func(in *datapath.Input) { in.SPIIn = in.SPIOut },
		"zero SPI":   func(in *datapath.Input) { in.SPIOut = 0 },
		"not a pcap": func(in *datapath.Input) { in.Points[1].Data = strings.NewReader("show service ipsec sa\n") },
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			in := captures(t, scene.Scene{})
			spoil(&in)
			r, err := datapath.Correlate(in)
			if err == nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, %v; want a one-line error", r, err)
			}
		})
	}
}
