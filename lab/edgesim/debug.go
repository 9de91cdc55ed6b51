package edgesim

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

var ifaceName = regexp.MustCompile(`^vNic_[0-9]+$`)

// debug runs the `debug ...` / `no debug ...` commands; false ends the session.
func (sh *shell) debug(args []string, line string, f Faults) bool {
	switch {
	case len(args) >= 5 && args[0] == "debug" && args[1] == "packet" && args[2] == "capture" && args[3] == "interface":
		sh.startCapture(args[4], strings.Join(args[5:], " "))
	case len(args) == 6 && args[0] == "no" && args[1] == "debug" && args[2] == "packet" && args[3] == "capture" && args[4] == "interface":
		sh.stopCapture(args[5])
	case line == "debug show files":
		return sh.output(line, sh.listFiles(), f)
	case len(args) == 3 && args[0] == "debug" && args[1] == "remove":
		sh.remove(args[2])
	case len(args) == 5 && args[0] == "debug" && args[1] == "copy" && args[2] == "scp":
		sh.copySCP(args[3], args[4])
	case len(args) >= 5 && args[0] == "debug" && args[1] == "packet" && args[2] == "display" && args[3] == "interface":
		sh.display(args[4])
	default:
		sh.write("% Unrecognized command\n")
	}
	return true
}

func (sh *shell) startCapture(iface, expr string) {
	if !ifaceName.MatchString(iface) {
		sh.write("% Invalid interface " + iface + "\n")
		return
	}
	e := sh.e
	e.mu.Lock()
	n := 0
	for _, c := range e.captures {
		if c.Interface == iface {
			if c.Running {
				e.mu.Unlock()
				sh.write("% A packet capture is already running on " + iface + "\n")
				return
			}
			n++
		}
	}
	c := &Capture{Interface: iface, Expr: expr, File: fmt.Sprintf("tcpdump_%s.%d", iface, n), Running: true}
	e.captures = append(e.captures, c)
	e.mu.Unlock()
	sh.write("tcpdump: listening on " + iface + ", link-type EN10MB (Ethernet), capture size 65535 bytes\n")
}

func (sh *shell) stopCapture(iface string) {
	e := sh.e
	data := emptyPcap()
	if e.cfg.CaptureFile != nil {
		data = e.cfg.CaptureFile()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.captures {
		if c.Interface == iface && c.Running {
			c.Running, c.Stopped = false, true
			e.files[c.File] = data
			return
		}
	}
	sh.write("% No packet capture is running on " + iface + "\n")
}

// listFiles renders `debug show files` (nsx-formats.md §1.7).
func (sh *shell) listFiles() string {
	e := sh.e
	e.mu.Lock()
	defer e.mu.Unlock()
	names := make([]string, 0, len(e.files))
	var total int
	for n, d := range e.files {
		names = append(names, n)
		total += len(d)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "total %.1fK\n", float64(total)/1024)
	stamp := time.Now().UTC().Format("Jan _2 15:04")
	for _, n := range names {
		fmt.Fprintf(&b, "-rw------- 1 %d %s %s\n", len(e.files[n]), stamp, n)
	}
	return b.String()
}

func (sh *shell) remove(name string) {
	e := sh.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.files[name]; !ok {
		sh.write("% File not found: " + name + "\n")
		return
	}
	delete(e.files, name)
	for _, c := range e.captures {
		if c.File == name {
			c.Removed = true
		}
	}
}

// display streams tcpdump-style one-liners of the scenario's capture until Ctrl-C.
func (sh *shell) display(iface string) {
	if !ifaceName.MatchString(iface) {
		sh.write("% Invalid interface " + iface + "\n")
		return
	}
	sh.write("tcpdump: verbose output suppressed, use -v or -vv for full protocol decode\n")
	sh.write("listening on " + iface + ", link-type EN10MB (Ethernet), capture size 65535 bytes\n")
	n := 0
	if sh.e.cfg.CaptureFile != nil {
		for _, l := range tcpdumpLines(sh.e.cfg.CaptureFile()) {
			sh.write(l + "\n")
			n++
		}
	}
	for {
		k, ok := sh.readKey()
		if !ok {
			return
		}
		if k == ctrlC {
			sh.write(fmt.Sprintf("^C\n%d packets captured\n%d packets received by filter\n0 packets dropped by kernel\n", n, n))
			return
		}
	}
}

// tcpdumpLines renders the IPv4 packets of a pcap as tcpdump one-liners.
func tcpdumpLines(pcap []byte) []string {
	r, err := pcapgo.NewReader(bytes.NewReader(pcap))
	if err != nil {
		return nil
	}
	var out []string
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			return out
		}
		p := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if ip == nil {
			continue
		}
		ts := ci.Timestamp.UTC().Format("15:04:05.000000")
		switch {
		case p.Layer(layers.LayerTypeUDP) != nil:
			u := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
			kind := "UDP"
			if u.SrcPort == 500 || u.DstPort == 500 || u.SrcPort == 4500 || u.DstPort == 4500 {
				kind = "isakmp"
				if len(u.Payload) >= 4 && u.DstPort == 4500 && !bytes.Equal(u.Payload[:4], []byte{0, 0, 0, 0}) {
					kind = "UDP-encap: ESP"
				}
			}
			out = append(out, fmt.Sprintf("%s IP %s.%d > %s.%d: %s, length %d", ts, ip.SrcIP, u.SrcPort, ip.DstIP, u.DstPort, kind, len(u.Payload)))
		case ip.Protocol == layers.IPProtocolESP:
			pl := ip.Payload
			if len(pl) >= 8 {
				out = append(out, fmt.Sprintf("%s IP %s > %s: ESP(spi=0x%x,seq=0x%x), length %d", ts, ip.SrcIP, ip.DstIP,
					uint32(pl[0])<<24|uint32(pl[1])<<16|uint32(pl[2])<<8|uint32(pl[3]),
					uint32(pl[4])<<24|uint32(pl[5])<<16|uint32(pl[6])<<8|uint32(pl[7]), len(pl)))
			}
		case ip.Protocol == layers.IPProtocolICMPv4:
			out = append(out, fmt.Sprintf("%s IP %s > %s: ICMP, length %d", ts, ip.SrcIP, ip.DstIP, len(ip.Payload)))
		}
	}
}

// emptyPcap is a pcap file header with no packets.
func emptyPcap() []byte {
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	_ = w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	return b.Bytes()
}
