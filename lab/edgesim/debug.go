package edgesim

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

var ifaceName = regexp.MustCompile(`^vNic_[0-9]+$`)

// debug runs the `debug ...` / `no debug ...` commands; false ends the session. The Edge's
// state changes in Edge methods (state.go) that return the answer; it is written afterwards,
// never under e.mu.
func (sh *shell) debug(args []string, line string, f Faults) bool {
	switch {
	case len(args) >= 5 && args[0] == "debug" && args[1] == "packet" && args[2] == "capture" && args[3] == "interface":
		sh.write(sh.e.startCapture(args[4], strings.Join(args[5:], " ")))
	case len(args) == 6 && args[0] == "no" && args[1] == "debug" && args[2] == "packet" && args[3] == "capture" && args[4] == "interface":
		sh.write(sh.e.stopCapture(args[5]))
	case line == "debug show files":
		return sh.output(line, sh.e.fileListing(), f)
	case len(args) == 3 && args[0] == "debug" && args[1] == "remove":
		sh.write(sh.e.removeFile(args[2]))
	case len(args) == 5 && args[0] == "debug" && args[1] == "copy" && args[2] == "scp":
		sh.copySCP(args[3], args[4])
	case len(args) >= 5 && args[0] == "debug" && args[1] == "packet" && args[2] == "display" && args[3] == "interface":
		sh.display(args[4])
	default:
		sh.write("% Unrecognized command\n")
	}
	return true
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
