package edge_test

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ipsecbot/config"
	"ipsecbot/diag/edge"
	"ipsecbot/lab/edgesim"
)

var peerAddr = netip.MustParseAddr("192.0.2.2")

// captureLab starts an SCP receiver and a lab Edge whose `debug copy scp` reaches it.
func captureLab(t *testing.T, mod func(*edgesim.Config)) (*edgesim.Edge, edge.Target, *edge.SCPReceiver, []byte) {
	t.Helper()
	pcap, err := os.ReadFile("testdata/ikev2-healthy.pcap")
	if err != nil {
		t.Fatal(err)
	}
	recv, err := edge.NewSCPReceiver("127.0.0.1:0", newSigner(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { recv.Close() })
	e, target := startEdge(t, func(c *edgesim.Config) {
		c.CaptureFile = func() []byte { return pcap }
		c.SCPDialOverride = recv.Addr() // stands in for the DNAT to port 22
		if mod != nil {
			mod(c)
		}
	})
	target.SCPHost = "127.0.0.1"
	return e, target, recv, pcap
}

func TestCaptureReachesBotOnlyThroughSCP(t *testing.T) {
	e, target, recv, pcap := captureLab(t, nil)
	s := dial(t, target)
	c, err := s.StartCapture(t.Context(), edge.CaptureSpec{Interface: "vNic_0", Peer: peerAddr, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Captures(); len(got) != 1 || !got[0].Running || got[0].Expr != "host_192.0.2.2_and_(udp_port_500_or_udp_port_4500_or_esp)" {
		t.Fatalf("edge captures after start: %+v", got)
	}
	if err := c.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path, err := c.Fetch(t.Context(), recv, dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(path) != dir {
		t.Errorf("file written to %s, want inside %s", path, dir)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, pcap) {
		t.Errorf("received %d bytes, want the %d-byte capture", len(got), len(pcap))
	}
	if err := c.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	files, err := s.Files(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 0 {
		t.Errorf("debug show files after remove: %+v", files)
	}
	caps := e.Captures()
	if len(caps) != 1 || caps[0].Running || !caps[0].Stopped || !caps[0].Removed || caps[0].Copied != 1 {
		t.Errorf("edge capture state: %+v", caps)
	}
	// The second fetch of a new capture must not ask about the host key again (the Edge
	// remembered it); the expect rule is optional.
	c2, err := s.StartCapture(t.Context(), edge.CaptureSpec{Interface: "vNic_0", Peer: peerAddr, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Fetch(t.Context(), recv, dir); err != nil {
		t.Fatal(err)
	}
	if err := c2.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	if f := e.Files(); len(f) != 0 {
		t.Errorf("edge files left: %v", f)
	}
}

func TestCaptureOverSizeCapIsRefusedAndRemoved(t *testing.T) {
	e, target, recv, _ := captureLab(t, nil)
	s := dial(t, target)
	c, err := s.StartCapture(t.Context(), edge.CaptureSpec{Interface: "vNic_0", Peer: peerAddr, MaxBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Fetch(t.Context(), recv, t.TempDir())
	if !errors.Is(err, edge.ErrSCPTooLarge) {
		t.Fatalf("fetch over the cap: %v, want ErrSCPTooLarge", err)
	}
	if err := c.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	if f := e.Files(); len(f) != 0 {
		t.Errorf("edge files left: %v", f)
	}
}

func TestCaptureRefusedWhenDiskLow(t *testing.T) {
	e, target, _, _ := captureLab(t, func(c *edgesim.Config) { c.FreeDiskBytes = 10 << 20 })
	s := dial(t, target)
	_, err := s.StartCapture(t.Context(), edge.CaptureSpec{Interface: "vNic_0", Peer: peerAddr, MaxBytes: 64 << 20})
	if !errors.Is(err, edge.ErrDiskFull) {
		t.Fatalf("got %v, want ErrDiskFull", err)
	}
	if caps := e.Captures(); len(caps) != 0 {
		t.Errorf("a capture was started: %+v", caps)
	}
}

func TestCaptureRejectsBadInterface(t *testing.T) {
	e, target, _, _ := captureLab(t, nil)
	s := dial(t, target)
	for _, iface := range []string{"vNic_0; reboot", "eth0", "vNic_", "vNic_0 port_22"} {
		if _, err := s.StartCapture(t.Context(), edge.CaptureSpec{Interface: iface, Peer: peerAddr}); !errors.Is(err, edge.ErrInvalidArgument) {
			t.Errorf("%q: got %v, want ErrInvalidArgument", iface, err)
		}
	}
	for _, cmd := range e.Commands() {
		if strings.Contains(cmd, "reboot") || strings.Contains(cmd, "eth0") {
			t.Errorf("sent to the edge: %q", cmd)
		}
	}
}

func TestCaptureTimeCapStopsIt(t *testing.T) {
	e, target, _, _ := captureLab(t, nil)
	s := dial(t, target)
	c, err := s.StartCapture(t.Context(), edge.CaptureSpec{Interface: "vNic_1", Peer: peerAddr, MaxDuration: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if caps := e.Captures(); len(caps) == 1 && caps[0].Stopped {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if caps := e.Captures(); len(caps) != 1 || !caps[0].Stopped {
		t.Fatalf("capture not stopped by its time cap: %+v", caps)
	}
	if err := c.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestDisplayFallbackKeepsTextEvidence(t *testing.T) {
	_, target, _, _ := captureLab(t, nil)
	s := dial(t, target)
	out, err := s.Display(t.Context(), "vNic_0", peerAddr, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "IP 192.0.2.1.500 > 192.0.2.2.500") {
		t.Errorf("display text lacks the IKE_SA_INIT packet:\n%s", out)
	}
	// The session is usable afterwards.
	if _, err := s.Run(t.Context(), edge.CmdServiceIPsec); err != nil {
		t.Fatal(err)
	}
}

func TestPingMTU(t *testing.T) {
	_, target, _, _ := captureLab(t, func(c *edgesim.Config) {
		c.Ping = func(dst string, size int, df bool) (int, int) {
			if df && size > 1400 {
				return 3, 0
			}
			return 3, 3
		}
	})
	s := dial(t, target)
	dst := netip.MustParseAddr("10.2.2.10")
	if sent, recv, err := s.Ping(t.Context(), dst, 64, 3, true); err != nil || sent != 3 || recv != 3 {
		t.Errorf("small ping: %d/%d %v", sent, recv, err)
	}
	if sent, recv, err := s.Ping(t.Context(), dst, 1472, 3, true); err != nil || sent != 3 || recv != 0 {
		t.Errorf("large DF ping: %d/%d %v", sent, recv, err)
	}
}

func TestFetchWithoutSCPPathFailsFastAndCleansUp(t *testing.T) {
	e, target, recv, _ := captureLab(t, nil)
	recv.Close() // nothing listens where the Edge is told to copy
	s := dial(t, target)
	c, err := s.StartCapture(t.Context(), edge.CaptureSpec{Interface: "vNic_0", Peer: peerAddr})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fetch(t.Context(), recv, t.TempDir()); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("fetch with no endpoint: %v", err)
	}
	if err := c.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	if f := e.Files(); len(f) != 0 {
		t.Errorf("edge files left: %v", f)
	}
}

// TestCaptureLeavesOthersAlone: a capture already running on the interface (an operator's, or
// a crashed run's) makes the start fail; it is neither stopped nor removed.
func TestCaptureLeavesOthersAlone(t *testing.T) {
	e, target, _, _ := captureLab(t, nil)
	s := dial(t, target)
	if _, err := s.Run(t.Context(), "debug packet capture interface vNic_0 port_22"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartCapture(t.Context(), edge.CaptureSpec{Interface: "vNic_0", Peer: peerAddr}); !errors.Is(err, edge.ErrCommand) {
		t.Fatalf("second capture on the interface: %v, want the Edge's refusal", err)
	}
	caps := e.Captures()
	if len(caps) != 1 || !caps[0].Running || caps[0].Expr != "port_22" {
		t.Errorf("the other capture was touched: %+v", caps)
	}
}

func TestTemplateOverridesValidated(t *testing.T) {
	for name, tmpl := range map[string]map[string]string{
		"unknown-name":        {"reboot": "reboot"},
		"unknown-placeholder": {config.TemplateStart: "debug packet capture interface {{iface}} {{anything}}"},
		"two-lines":           {config.TemplateStop: "no debug packet capture interface {{iface}}\nreboot"},
		"empty":               {config.TemplateFiles: "  "},
	} {
		t.Run(name, func(t *testing.T) {
			if err := edge.ValidateTemplates(tmpl); !errors.Is(err, edge.ErrInvalidArgument) {
				t.Errorf("got %v", err)
			}
		})
	}
	if err := edge.ValidateTemplates(map[string]string{config.TemplateRemove: "debug remove file {{file}}"}); err != nil {
		t.Errorf("a valid override: %v", err)
	}
	// An override is what the session sends.
	e, target, recv, _ := captureLab(t, nil)
	target.Templates = map[string]string{config.TemplateStart: "debug packet capture interface {{iface}} udp_port_500"}
	s := dial(t, target)
	c, err := s.StartCapture(t.Context(), edge.CaptureSpec{Interface: "vNic_2", Peer: peerAddr})
	if err != nil {
		t.Fatal(err)
	}
	if caps := e.Captures(); len(caps) != 1 || caps[0].Expr != "udp_port_500" || caps[0].Interface != "vNic_2" {
		t.Errorf("captures %+v", caps)
	}
	if _, err := c.Fetch(t.Context(), recv, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	target.Templates = map[string]string{"reboot": "reboot"}
	if _, err := edge.Dial(t.Context(), target); !errors.Is(err, edge.ErrInvalidArgument) {
		t.Errorf("dial with a bad template: %v", err)
	}
}

// TestAbandonCaptureRemovesOnlyWhatItLeft: a capture whose handle was lost is stopped and its
// file removed; a file that was there before, and another interface's, stay.
func TestAbandonCaptureRemovesOnlyWhatItLeft(t *testing.T) {
	e, target, _, _ := captureLab(t, nil)
	s := dial(t, target)
	run := func(cmd string) {
		t.Helper()
		if _, err := s.Run(t.Context(), cmd); err != nil {
			t.Fatal(err)
		}
	}
	run("debug packet capture interface vNic_0 port_22") // an earlier capture, stopped: its file stays
	run("no debug packet capture interface vNic_0")
	run("debug packet capture interface vNic_1 port_22") // another interface's
	run("no debug packet capture interface vNic_1")
	files, err := s.Files(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var before []string
	for _, f := range files {
		before = append(before, f.Name)
	}
	run("debug packet capture interface vNic_0 " + edge.CaptureExpr(peerAddr)) // the lost one
	if err := s.AbandonCapture(t.Context(), "vNic_0", before); err != nil {
		t.Fatal(err)
	}
	slices.Sort(before)
	if got := e.Files(); !slices.Equal(slices.Sorted(slices.Values(got)), before) {
		t.Errorf("files after abandoning: %v, want %v", got, before)
	}
	for _, c := range e.Captures() {
		if c.Running {
			t.Errorf("still running: %+v", c)
		}
	}
	if err := s.AbandonCapture(t.Context(), "vNic_0; reboot", nil); !errors.Is(err, edge.ErrInvalidArgument) {
		t.Errorf("bad interface: %v, want ErrInvalidArgument", err)
	}
}

// Ensure a capture's own expression reaches the Edge as given (step 8's filters), and one that
// could smuggle a second command is refused before anything is sent.
func TestCaptureExprIsSentAndChecked(t *testing.T) {
	e, target, _, _ := captureLab(t, nil)
	s := dial(t, target)
	vm, host2 := netip.MustParseAddr("10.10.0.10"), netip.MustParseAddr("10.20.0.20")
	for _, spec := range []edge.CaptureSpec{{Interface: "vNic_1", Expr: edge.ICMPExpr(vm, host2)}, {Interface: "vNic_0", Expr: edge.ESPExpr(peerAddr)}} {
		c, err := s.StartCapture(t.Context(), spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Remove(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	var exprs []string
	for _, c := range e.Captures() {
		exprs = append(exprs, c.Interface+" "+c.Expr)
	}
	want := []string{"vNic_1 icmp_and_host_10.10.0.10_and_host_10.20.0.20", "vNic_0 host_192.0.2.2_and_(esp_or_udp_port_4500)"}
	if !slices.Equal(exprs, want) {
		t.Errorf("captures %q, want %q", exprs, want)
	}
	for _, bad := range []string{"icmp; reboot", "icmp and host 1.2.3.4", "icmp\rreboot"} {
		if _, err := s.StartCapture(t.Context(), edge.CaptureSpec{Interface: "vNic_1", Expr: bad}); !errors.Is(err, edge.ErrInvalidArgument) {
			t.Errorf("%q: got %v, want ErrInvalidArgument", bad, err)
		}
	}
	if n := len(e.Captures()); n != 2 {
		t.Errorf("%d captures on the Edge, want the 2 good ones", n)
	}
}
