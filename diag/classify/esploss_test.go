package classify

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"ipsecbot/diag"
	"ipsecbot/diag/ike"
)

// evidenceWith returns the verdict's evidence items (its own and its also-seen findings') whose
// text holds s.
func evidenceWith(v *diag.Verdict, s string) []diag.Evidence {
	var out []diag.Evidence
	all := slices.Clone(v.Evidence)
	for _, f := range v.AlsoSeen {
		all = append(all, f.Evidence...)
	}
	for _, e := range all {
		if strings.Contains(e.Text, s) {
			out = append(out, e)
		}
	}
	return out
}

const lostOnPathText = " arrived at " // the wording of the across-sites observation

// Ensure that, with both sites' captures and both logs, every scenario of both sets keeps its
// label, and only the ESP-blocked ones claim ESP lost between the sites — with the SPI, the
// count that left, the count that arrived, and a frame of the capture that saw them leave.
// The peer's capture given first must change nothing.
func TestClassify_BothCaptures(t *testing.T) {
	for dir, sc := range loadScenarios(t) {
		edge, peer := CaptureSource{Path: filepath.Join(dir, "capture.pcap")}, CaptureSource{Path: filepath.Join(dir, "capture-peerB.pcap")}
		for order, caps := range map[string][]CaptureSource{"EdgeFirst": {edge, peer}, "PeerFirst": {peer, edge}} {
			t.Run(sc.Name+"/"+order, func(t *testing.T) { checkBothCaptures(t, dir, sc, caps) })
		}
	}
}

func checkBothCaptures(t *testing.T, dir string, sc scenario, caps []CaptureSource) {
	v, err := Classify(t.Context(), Input{
		Logs: []LogSource{
			{Path: filepath.Join(dir, "edgeA-charon.log"), Site: "edge"},
			{Path: filepath.Join(dir, "peerB-charon.log"), Site: "peer"},
		},
		Captures: caps,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sc.accepts(v.Cause) {
		t.Fatalf("cause %s, want %s (%s)", v.Cause, sc.ExpectedLabel, v.Summary)
	}
	checkRefs(t, v.Evidence)
	lost := evidenceWith(v, lostOnPathText)
	if sc.ExpectedLabel != diag.CauseESPBlocked {
		if len(lost) > 0 {
			t.Fatalf("claims ESP lost between the sites: %+v", lost)
		}
		return
	}
	if len(v.Evidence) == 0 || !strings.Contains(v.Evidence[0].Text, lostOnPathText) {
		t.Fatalf("first evidence is not the loss between the sites: %+v", v.Evidence)
	}
	e := v.Evidence[0]
	if !strings.HasPrefix(e.Ref, filepath.Join(dir, "capture")) || !strings.Contains(e.Text, "SPI ") ||
		!strings.Contains(e.Text, "packets left ") || !strings.Contains(e.Text, "0 arrived at ") || !strings.Contains(e.Text, e.Ref) {
		t.Errorf("evidence %+v", e)
	}
	if !strings.HasPrefix(v.Remediation[0], "ESP from ") || !strings.Contains(v.Remediation[0], "is lost on the way") {
		t.Errorf("remediation does not name the direction: %q", v.Remediation)
	}
}

// Ensure the alt set's one-direction loss is named from the two captures alone, with the SPI
// that left the Edge and never arrived at the peer.
func TestClassify_LostOnPathCapturesOnly(t *testing.T) {
	for _, name := range []string{"ikev1-esp_blocked", "ikev2-esp_blocked"} {
		dir := filepath.Join("testdata/alt", name)
		v := classifyCaptures(t, filepath.Join(dir, "capture.pcap"), filepath.Join(dir, "capture-peerB.pcap"))
		if v.Cause != diag.CauseESPBlocked || !strings.Contains(v.Evidence[0].Text, "packets left 100.64.20.5") ||
			!strings.Contains(v.Evidence[0].Text, "0 arrived at 100.64.90.7") {
			t.Errorf("%s: %s %+v", name, v.Cause, v.Evidence)
		}
		if want := "ESP from 100.64.20.5 to 100.64.90.7 is lost on the way"; len(v.Remediation) < 2 || !strings.HasPrefix(v.Remediation[0], want) {
			t.Errorf("%s: remediation %q, want first %q", name, v.Remediation, want)
		}
		checkRefs(t, v.Evidence)
	}
}

func classifyCaptures(t *testing.T, paths ...string) *diag.Verdict {
	t.Helper()
	var in Input
	for _, p := range paths {
		in.Captures = append(in.Captures, CaptureSource{Path: p})
	}
	v, err := Classify(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Ensure the one-capture pairing rule (ESP answered at once one way, never the other) is sound
// on every capture both sets hold — healthy, lifetime, certificate, flapping, MTU, dead peer,
// both capture points: it fires only where ESP from the capturing side is lost on the way.
func TestEchoPairing_FiresOnlyOnOneWayLoss(t *testing.T) {
	for dir := range loadScenarios(t) {
		for _, file := range []string{"capture.pcap", "capture-peerB.pcap"} {
			path := filepath.Join(dir, file)
			_, cf, err := readCapture(CaptureSource{Path: path}, time.Time{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			obs, _ := observeEchoes(cf)
			want := strings.HasPrefix(dir, "testdata/alt") && strings.HasSuffix(dir, "esp_blocked") && file == "capture.pcap"
			if (len(obs) > 0) != want {
				t.Errorf("%s: %d observations, want fired=%v: %+v", path, len(obs), want, obs)
			}
			for _, o := range obs {
				if !strings.Contains(o.ev.Text, "100.64.20.5 -> 100.64.90.7") || !strings.Contains(o.ev.Text, "never answered") {
					t.Errorf("%s: %s", path, o.ev.Text)
				}
			}
		}
	}
}

// rewriteCapture copies a classic pcap through fn, which may change a frame's data and time or
// drop it (nil data).
func rewriteCapture(t testing.TB, src, dst string, fn func(frame int, ci *gopacket.CaptureInfo, data []byte) []byte) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := pcapgo.NewWriterNanos(out)
	if err := w.WriteFileHeader(65536, r.LinkType()); err != nil {
		t.Fatal(err)
	}
	for frame := 1; ; frame++ {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return dst
		}
		if err != nil {
			t.Fatal(err)
		}
		if data = fn(frame, &ci, data); data == nil {
			continue
		}
		ci.CaptureLength, ci.Length = len(data), len(data)
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
}

// plainESP turns ESP in UDP 4500 into plain ESP (IP protocol 50), as a real NSX Edge mostly
// sends it: the UDP header goes, the IPv4 header says protocol 50 and the shorter length.
func plainESP(_ int, _ *gopacket.CaptureInfo, data []byte) []byte {
	p := gopacket.NewPacket(data, layers.LinkTypeEthernet, gopacket.Default)
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if ip == nil || udp == nil || udp.DstPort != 4500 || len(udp.Payload) < 8 || udp.Payload[0]|udp.Payload[1]|udp.Payload[2]|udp.Payload[3] == 0 {
		return data
	}
	eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	ip.Protocol = layers.IPProtocolESP
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, gopacket.Payload(udp.Payload)); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// Ensure both rules hold for plain ESP (IP protocol 50): the loss between the sites from both
// captures, the pairing rule from the Edge's alone, and the default set's ESP blocked both ways.
func TestClassify_LostOnPathPlainESP(t *testing.T) {
	tmp := t.TempDir()
	plain := func(set, name, file string) string {
		return rewriteCapture(t, filepath.Join("testdata", set, name, file), filepath.Join(tmp, set+"-"+name+"-"+file), plainESP)
	}
	for _, set := range []string{"alt", "fixtures"} {
		for _, name := range []string{"ikev1-esp_blocked", "ikev2-esp_blocked"} {
			edge, peer := plain(set, name, "capture.pcap"), plain(set, name, "capture-peerB.pcap")
			_, cf, err := readCapture(CaptureSource{Path: edge}, time.Time{}, time.Time{})
			if err != nil || len(cf.flows) == 0 {
				t.Fatalf("%s: plain ESP not read: %v %+v", edge, err, cf)
			}
			v := classifyCaptures(t, edge, peer)
			if v.Cause != diag.CauseESPBlocked || !strings.Contains(v.Evidence[0].Text, "0 arrived at ") {
				t.Errorf("%s/%s both captures: %s %+v", set, name, v.Cause, v.Evidence)
			}
			v = classifyCaptures(t, edge)
			if v.Cause != diag.CauseESPBlocked {
				t.Errorf("%s/%s Edge capture: %s %+v", set, name, v.Cause, v.Evidence)
			}
			checkRefs(t, v.Evidence)
		}
	}
	v := classifyCaptures(t, plain("alt", "ikev2-healthy", "capture.pcap"), plain("alt", "ikev2-healthy", "capture-peerB.pcap"))
	if v.Cause != diag.CauseHealthy {
		t.Errorf("plain ESP healthy: %s %+v", v.Cause, v.Evidence)
	}
}

// Ensure the peer's capture still proves the loss when it was taken behind NAT (other
// addresses; SPIs and IKE messages unchanged) with a clock 41 s ahead: the shared IKE messages
// line the clocks up.
func TestClassify_LostOnPathNATAndClockSkew(t *testing.T) {
	dir := "testdata/alt/ikev2-esp_blocked"
	tmp := t.TempDir()
	natted := filepath.Join(tmp, "natted.pcap")
	in, err := os.Open(filepath.Join(dir, "capture-peerB.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(natted)
	if err != nil {
		t.Fatal(err)
	}
	m := map[netip.Addr]netip.Addr{netip.MustParseAddr("100.64.20.5"): netip.MustParseAddr("203.0.113.50"), netip.MustParseAddr("100.64.90.7"): netip.MustParseAddr("10.9.9.7")}
	if err := ike.RewriteAddrs(in, out, m); err != nil {
		t.Fatal(err)
	}
	out.Close()
	skewed := rewriteCapture(t, natted, filepath.Join(tmp, "peer.pcap"), func(_ int, ci *gopacket.CaptureInfo, data []byte) []byte {
		ci.Timestamp = ci.Timestamp.Add(41 * time.Second)
		return data
	})
	v := classifyCaptures(t, filepath.Join(dir, "capture.pcap"), skewed)
	if v.Cause != diag.CauseESPBlocked || !strings.Contains(v.Evidence[0].Text, "SPI d70e4578: 12 packets left 100.64.20.5") {
		t.Fatalf("%s %+v", v.Cause, v.Evidence)
	}
}

// Ensure no loss between the sites is claimed from a capture that cannot prove it: one of
// another tunnel (same addresses, other IKE messages), or one that stopped before the ESP.
func TestClassify_LostOnPathNeedsTheSameConversation(t *testing.T) {
	edge := "testdata/alt/ikev2-esp_blocked/capture.pcap"
	// Another tunnel's capture between the same addresses, moved to the same time.
	healthy := "testdata/alt/ikev2-healthy/capture-peerB.pcap"
	shift := frameTime(t, edge, 1).Sub(frameTime(t, healthy, 1))
	other := rewriteCapture(t, healthy, filepath.Join(t.TempDir(), "other.pcap"), func(_ int, ci *gopacket.CaptureInfo, data []byte) []byte {
		ci.Timestamp = ci.Timestamp.Add(shift)
		return data
	})
	_, x, _ := readCapture(CaptureSource{Path: edge}, time.Time{}, time.Time{})
	_, y, _ := readCapture(CaptureSource{Path: other}, time.Time{}, time.Time{})
	if y.first.After(x.flows[0].first) || y.last.Before(x.flows[0].last) {
		t.Fatal("the other tunnel's capture does not span the Edge's ESP: the test proves nothing")
	}
	early := rewriteCapture(t, "testdata/alt/ikev2-esp_blocked/capture-peerB.pcap", filepath.Join(t.TempDir(), "early.pcap"),
		func(frame int, _ *gopacket.CaptureInfo, data []byte) []byte {
			if frame > 4 { // IKE_SA_INIT and IKE_AUTH only: the capture ended before any ESP
				return nil
			}
			return data
		})
	for name, peer := range map[string]string{"OtherTunnel": other, "StoppedEarly": early} {
		t.Run(name, func(t *testing.T) {
			v := classifyCaptures(t, edge, peer)
			if lost := evidenceWith(v, lostOnPathText); len(lost) > 0 {
				t.Fatalf("claims a loss between the sites: %+v", lost)
			}
		})
	}
}

// frameTime returns the time of a frame of a capture.
func frameTime(t *testing.T, path string, frame int) time.Time {
	t.Helper()
	var at time.Time
	rewriteCapture(t, path, filepath.Join(t.TempDir(), "copy.pcap"), func(n int, ci *gopacket.CaptureInfo, data []byte) []byte {
		if n == frame {
			at = ci.Timestamp
		}
		return data
	})
	if at.IsZero() {
		t.Fatalf("%s has no frame %d", path, frame)
	}
	return at
}

// Ensure --since/--until apply to what captures say, IKE and ESP alike: the dead-peer capture
// cut off before the peer died (frames 1-10: IKE up, ESP both ways) is healthy, read from its
// file or from a reader the caller opened; evidence still cites the file's frame numbers.
func TestClassify_CaptureWindow(t *testing.T) {
	path := "testdata/fixtures/ikev2-dpd_peer_dead/capture.pcap"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if v := classifyCaptures(t, path); v.Cause != diag.CauseDPDPeerDead {
		t.Fatalf("whole capture: %s", v.Cause)
	}
	until := frameTime(t, path, 10).Add(time.Millisecond)
	for name, src := range map[string]CaptureSource{"File": {Path: path}, "Reader": {Path: path, Data: bytes.NewReader(data)}} {
		t.Run(name, func(t *testing.T) {
			v, err := Classify(t.Context(), Input{Captures: []CaptureSource{src}, Until: until})
			if err != nil {
				t.Fatal(err)
			}
			if v.Cause != diag.CauseHealthy {
				t.Fatalf("until frame 10: %s %+v", v.Cause, v.Evidence)
			}
			if v.Scanned.IKEMessages != 4 {
				t.Errorf("IKE messages in the window: %d, want 4", v.Scanned.IKEMessages)
			}
			checkRefs(t, v.Evidence)
		})
	}
	// From frame 5 on: the Edge's unanswered ESP is still found at its own frame number.
	alt := "testdata/alt/ikev2-esp_blocked/capture.pcap"
	v, err := Classify(t.Context(), Input{Captures: []CaptureSource{{Path: alt}}, Since: frameTime(t, alt, 5)})
	if err != nil {
		t.Fatal(err)
	}
	if v.Cause != diag.CauseESPBlocked || v.Evidence[0].Ref != alt+"#5" {
		t.Errorf("since frame 5: %s %+v", v.Cause, v.Evidence)
	}
}

// passCounter counts the bytes read through it and the reads that found it at its end.
type passCounter struct {
	r          io.Reader
	n          int64
	pastTheEnd int
}

func (c *passCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err == io.EOF {
		c.pastTheEnd++
	}
	return n, err
}

// Ensure Classify reads a capture once, whole or windowed: handed a reader that can be read only
// once, under a path that does not exist (opening it again would fail and be reported), it gets
// the verdict it gets from the file, and the reader is read through exactly once.
func TestClassify_ReadsACaptureOnce(t *testing.T) {
	path := "testdata/fixtures/ikev2-dpd_peer_dead/capture.pcap"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, until := range map[string]time.Time{"Whole": {}, "Window": frameTime(t, path, 10).Add(time.Millisecond)} {
		t.Run(name, func(t *testing.T) {
			want, err := Classify(t.Context(), Input{Captures: []CaptureSource{{Path: path}}, Until: until})
			if err != nil {
				t.Fatal(err)
			}
			absent := filepath.Join(t.TempDir(), "capture.pcap")
			c := &passCounter{r: bytes.NewReader(data)}
			reads := 0
			src := CaptureSource{Path: absent, Data: c, Read: func(sum *ike.Summary, err error) {
				reads++
				if sum == nil || err != nil {
					t.Errorf("read: %v", err)
				}
			}}
			v, err := Classify(t.Context(), Input{Captures: []CaptureSource{src}, Until: until})
			if err != nil {
				t.Fatal(err)
			}
			if reads != 1 || c.n != int64(len(data)) || c.pastTheEnd != 1 {
				t.Errorf("%d reads reported, %d of %d bytes read, the end reached %d times; want one pass", reads, c.n, len(data), c.pastTheEnd)
			}
			if v.Cause != want.Cause || !reflect.DeepEqual(v.Scanned, want.Scanned) || len(v.Missing) != len(want.Missing) {
				t.Errorf("from the reader: %s %+v %q; from the file: %s %+v %q", v.Cause, v.Scanned, v.Missing, want.Cause, want.Scanned, want.Missing)
			}
		})
	}
}

// Ensure a capture cut short mid-record still yields what was read, and the cut is reported,
// windowed or not.
func TestClassify_TruncatedCaptureInWindow(t *testing.T) {
	b, err := os.ReadFile("testdata/alt/ikev2-esp_blocked/capture.pcap")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(path, b[:len(b)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, until := range []time.Time{{}, frameTime(t, "testdata/alt/ikev2-esp_blocked/capture.pcap", 26)} {
		v, err := Classify(t.Context(), Input{Captures: []CaptureSource{{Path: path}}, Until: until})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(v.Missing, func(m string) bool { return strings.Contains(m, "cut.pcap") }) {
			t.Errorf("until %v: the cut is not reported: %q", until, v.Missing)
		}
		if v.Scanned.Packets == 0 || v.Scanned.IKEMessages == 0 {
			t.Errorf("until %v: nothing read: %+v", until, v.Scanned)
		}
	}
}
