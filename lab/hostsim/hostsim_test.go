package hostsim_test

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"ipsecbot/diag/datapath/scene"
	"ipsecbot/diag/ike"
	"ipsecbot/lab/hostsim"
	"ipsecbot/lab/sshserver"
)

// run sends one exec request over real SSH and returns stdout, stderr and the exit status.
func run(t *testing.T, h *hostsim.Host, cmd string) (string, string, int) {
	t.Helper()
	c, err := ssh.Dial("tcp", h.Addr(), &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.Password("lab")},
		HostKeyCallback: ssh.FixedHostKey(h.HostKey())})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	s.Stdout, s.Stderr = &out, &errOut
	status := 0
	if err := s.Run(cmd); err != nil {
		ee, ok := err.(*ssh.ExitError)
		if !ok {
			t.Fatal(err)
		}
		status = ee.ExitStatus()
	}
	return out.String(), errOut.String(), status
}

func start(t *testing.T, kind hostsim.Kind) *hostsim.Host {
	key, err := sshserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := scene.Lookup("datapath-healthy")
	h, err := hostsim.Start(t.Context(), "127.0.0.1:0", hostsim.Config{Kind: kind, User: "root", Password: "lab", HostKey: key, Scene: sc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func TestESXiCommands(t *testing.T) {
	h := start(t, hostsim.ESXi)
	if out, _, st := run(t, h, "esxcli network vm list"); st != 0 || !strings.Contains(out, "2099147  vm1") {
		t.Fatalf("vm list (%d):\n%s", st, out)
	}
	if out, _, st := run(t, h, "esxcli network vm port list -w 2099147"); st != 0 || !strings.Contains(out, "Port ID: 100663363") {
		t.Fatalf("port list (%d):\n%s", st, out)
	}
	// Another port's capture holds no frame; rm without -f of a missing file fails.
	if out, _, st := run(t, h, "pktcap-uw --switchport 100663361 --dir 2 --proto 0x01 -o /tmp/x.pcap"); st != 0 || !strings.Contains(out, "Dumped 0 packet") {
		t.Fatalf("pktcap (%d):\n%s", st, out)
	}
	data, _, _ := run(t, h, "cat /tmp/x.pcap")
	n := 0
	if err := ike.EachPacket(strings.NewReader(data), func(ike.Packet) { n++ }); err != nil || n != 0 {
		t.Fatalf("empty capture: %d frames, %v", n, err)
	}
	if _, _, st := run(t, h, "rm /tmp/x.pcap"); st != 0 || len(h.Files()) != 0 {
		t.Fatalf("rm: %d, files %v", st, h.Files())
	}
	if _, errOut, st := run(t, h, "rm /tmp/x.pcap"); st == 0 || !strings.Contains(errOut, "No such file") {
		t.Fatalf("rm of a missing file: %d %q", st, errOut)
	}
	if _, errOut, st := run(t, h, "tcpdump -w /tmp/y.pcap"); st != 127 || !strings.Contains(errOut, "not found") {
		t.Fatalf("tcpdump on ESXi: %d %q", st, errOut)
	}
	if _, _, st := run(t, h, "pktcap-uw --switchport 1 --bogus 2 -o /tmp/z"); st == 0 {
		t.Fatal("an unknown pktcap-uw option was accepted")
	}
}

func TestLinuxCommands(t *testing.T) {
	h := start(t, hostsim.Linux)
	if out, _, st := run(t, h, "ping -c 2 -i 1 10.1.1.10"); st != 0 || !strings.Contains(out, "2 received") {
		t.Fatalf("ping (%d):\n%s", st, out)
	}
	if _, _, st := run(t, h, "ping -c 2 not-an-address"); st != 2 {
		t.Fatalf("ping of a name: status %d", st)
	}
	if out, _, st := run(t, h, "tcpdump -i any -nn -c 200 -w /tmp/f.pcap icmp or esp"); st != 0 || !strings.Contains(out, "packets captured") {
		t.Fatalf("tcpdump (%d):\n%s", st, out)
	}
	if got := h.Files(); len(got) != 1 || got[0] != "/tmp/f.pcap" {
		t.Fatalf("files %v", got)
	}
}
