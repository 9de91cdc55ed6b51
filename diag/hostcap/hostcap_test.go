package hostcap_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ipsecbot/diag/datapath"
	"ipsecbot/diag/datapath/scene"
	"ipsecbot/diag/hostcap"
	"ipsecbot/diag/peer"
	"ipsecbot/lab/hostsim"
	"ipsecbot/lab/sshserver"
)

// start runs a lab host on loopback and returns it with an SSH client to it that checks its key.
func start(t *testing.T, kind hostsim.Kind, sc scene.Scene) (*hostsim.Host, *peer.SSHExec) {
	t.Helper()
	key, err := sshserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	h, err := hostsim.Start(t.Context(), "127.0.0.1:0", hostsim.Config{Kind: kind, User: "root", Password: "lab", HostKey: key, Scene: sc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte(h.KnownHostsLine()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	x := peer.NewSSHExec(h.Target("host", kh))
	t.Cleanup(func() { x.Close() })
	return h, x
}

// assertClean fails if a capture file or process was left on the host.
func assertClean(t *testing.T, h *hostsim.Host) {
	t.Helper()
	if files, procs := h.Files(), h.Running(); len(files)+len(procs) > 0 {
		t.Fatalf("left on the host: files %v, processes %v (commands %q)", files, procs, h.Commands())
	}
}

// capture starts a capture, lets it run while the pings would, and finishes it.
func capture(ctx context.Context, start func(context.Context) (*hostcap.Running, error)) ([]byte, error) {
	r, err := start(ctx)
	if err != nil {
		return nil, err
	}
	return r.Finish(ctx)
}

// TestESXiCapture: the VM's port is found, pktcap-uw's capture is fetched, is the scene's point 1
// and is removed.
func TestESXiCapture(t *testing.T) {
	sc, _ := scene.Lookup("datapath-dropped_before_edge")
	h, x := start(t, hostsim.ESXi, sc)
	host := &hostcap.Host{Name: "esxi-01", X: x}
	port, err := host.SwitchPort(t.Context(), hostsim.VM1Name, 0)
	if err != nil {
		t.Fatal(err)
	}
	if port.Num != hostsim.VM1Port {
		t.Fatalf("port %d, want %d", port.Num, hostsim.VM1Port)
	}
	got, err := capture(t.Context(), func(ctx context.Context) (*hostcap.Running, error) { return host.StartPktcap(ctx, port.Num) })
	if err != nil {
		t.Fatal(err)
	}
	assertClean(t, h)
	var want bytes.Buffer
	if err := sc.WritePoint(1, &want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("fetched %d bytes, not the scene's point 1 (%d bytes)", len(got), want.Len())
	}
	cmds := strings.Join(h.Commands(), "\n")
	if !strings.Contains(cmds, "pktcap-uw --switchport 100663363 --dir 2 --proto 0x01 -c 200 -o /tmp/ipsecbot-") || !strings.Contains(cmds, "rm -f /tmp/ipsecbot-") || !strings.Contains(cmds, "kill 40212") {
		t.Fatalf("commands:\n%s", cmds)
	}
	if _, err := host.SwitchPort(t.Context(), "no-such-vm", 0); !errors.Is(err, hostcap.ErrNoPort) {
		t.Fatalf("unknown VM: %v", err)
	}
	if _, err := host.SwitchPort(t.Context(), "vm1; reboot", 0); err == nil {
		t.Fatal("a VM name with a shell metacharacter was run")
	}
}

// cancelAfter is the real SSH client that cancels the run once n commands have been sent.
type cancelAfter struct {
	x      *peer.SSHExec
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Exec(ctx context.Context, cmd string, w io.Writer) error {
	err := c.x.Exec(ctx, cmd, w)
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return err
}

// TestAlwaysRemoved: a failed fetch, a capture over the size limit, a run cancelled after the
// start, an aborted capture and a start that printed no process id all leave no file and no
// process behind, and say what went wrong.
func TestAlwaysRemoved(t *testing.T) {
	h, x := start(t, hostsim.ESXi, scene.Scene{})
	cases := map[string]func() (*hostcap.Host, context.Context){
		"fetch fails": func() (*hostcap.Host, context.Context) {
			return &hostcap.Host{Name: "esxi", X: x, Templates: hostcap.Templates{Fetch: "cat {file}.gone"}}, t.Context()
		},
		"too large": func() (*hostcap.Host, context.Context) {
			return &hostcap.Host{Name: "esxi", X: x, MaxBytes: 100}, t.Context()
		},
		"cancelled": func() (*hostcap.Host, context.Context) {
			ctx, cancel := context.WithCancel(t.Context())
			t.Cleanup(cancel)
			return &hostcap.Host{Name: "esxi", X: &cancelAfter{x: x, n: 1, cancel: cancel}}, ctx
		},
		"no pid": func() (*hostcap.Host, context.Context) {
			return &hostcap.Host{Name: "esxi", X: x, Templates: hostcap.Templates{Pktcap: "pktcap-uw --switchport {port} -o {file}"}}, t.Context()
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			host, ctx := mk()
			_, err := capture(ctx, func(ctx context.Context) (*hostcap.Running, error) { return host.StartPktcap(ctx, hostsim.VM1Port) })
			if err == nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want a one-line error", err)
			}
			assertClean(t, h)
		})
	}
	host := &hostcap.Host{Name: "esxi", X: x}
	r, err := host.StartPktcap(t.Context(), hostsim.VM1Port)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Files()) != 1 || len(h.Running()) != 1 {
		t.Fatalf("a started capture: files %v, processes %v", h.Files(), h.Running())
	}
	if err := r.Abort(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertClean(t, h)
	if _, err := r.Finish(t.Context()); err == nil {
		t.Fatal("an aborted capture was finished")
	}
	if _, err := (&hostcap.Host{X: x, Templates: hostcap.Templates{Stop: "kill -9"}}).StartPktcap(t.Context(), 1); err == nil {
		t.Fatal("a stop template without {pid} was run")
	}
}

// TestFarSide: tcpdump on the far side is the scene's point 4, host 2's ping says what the
// scene says, and the four points correlate to the scene's fault.
func TestFarSide(t *testing.T) {
	sc, _ := scene.Lookup("datapath-lost_on_wan")
	h, x := start(t, hostsim.Linux, sc)
	far := &hostcap.Host{Name: "host2", X: x}
	out, err := far.Ping(t.Context(), scene.VM1, 4)
	if err != nil || !strings.Contains(out, "4 packets transmitted, 0 received") {
		t.Fatalf("ping: %v\n%s", err, out)
	}
	p4, err := capture(t.Context(), far.StartTcpdump)
	if err != nil {
		t.Fatal(err)
	}
	assertClean(t, h)
	in := sc.Input()
	for p := range 3 {
		var b bytes.Buffer
		if err := sc.WritePoint(p+1, &b); err != nil {
			t.Fatal(err)
		}
		in.Points[p] = datapath.Capture{Data: &b}
	}
	in.Points[3] = datapath.Capture{Data: bytes.NewReader(p4)}
	r, err := datapath.Correlate(in)
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != datapath.LostOnWAN {
		t.Fatalf("verdict %s\n%s", r.Verdict, datapath.Table(r))
	}
}
