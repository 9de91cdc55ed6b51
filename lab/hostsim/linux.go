package hostsim

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"

	"ipsecbot/diag/datapath"
	"ipsecbot/diag/datapath/scene"
)

// linux answers the far side's commands.
func (h *Host) linux(out io.Writer, args []string) (uint32, error) {
	switch args[0] {
	case "ping":
		return h.ping(out, args[1:])
	case "tcpdump":
		return h.tcpdump(out, args[1:])
	}
	return notFound(args[0])
}

// ping answers `ping -c N [-i S] ADDR` from host 2: VM 1 answers unless the scene's fault is on
// the path (every fault but host 2 not answering breaks one half of it).
func (h *Host) ping(out io.Writer, args []string) (uint32, error) {
	if len(args) < 3 || args[0] != "-c" {
		return 2, fmt.Errorf("usage: ping -c COUNT [-i INTERVAL] ADDRESS")
	}
	count, err := strconv.Atoi(args[1])
	if err != nil || count < 1 || count > 100 {
		return 2, fmt.Errorf("ping: invalid count %q", args[1])
	}
	dst, err := netip.ParseAddr(args[len(args)-1])
	if err != nil {
		return 2, fmt.Errorf("ping: %s: Name or service not known", args[len(args)-1])
	}
	if gate := h.pingGate(); gate != nil {
		<-gate
	}
	fault := h.cfg.Scene.Fault
	answered := dst == scene.VM1 && (fault == "" || fault == "healthy" || fault == datapath.RemoteNotAnswering && !h.cfg.Scene.TowardVM)
	fmt.Fprintf(out, "PING %s (%s) 56(84) bytes of data.\n", dst, dst)
	got := 0
	if answered {
		for i := 1; i <= count; i++ {
			fmt.Fprintf(out, "64 bytes from %s: icmp_seq=%d ttl=62 time=21.4 ms\n", dst, i)
		}
		got = count
	}
	fmt.Fprintf(out, "\n--- %s ping statistics ---\n%d packets transmitted, %d received, %d%% packet loss, time %dms\n",
		dst, count, got, 100*(count-got)/count, 1000*(count-1))
	if got == 0 {
		return 1, nil
	}
	return 0, nil
}

// tcpdump answers `tcpdump -i IFACE -nn [-c N] -w FILE [EXPR...]` with the scene's point 4.
func (h *Host) tcpdump(out io.Writer, args []string) (uint32, error) {
	file := ""
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-w":
			if i+1 < len(args) {
				file = args[i+1]
			}
			i++
		case "-i", "-c", "-s":
			i++
		}
	}
	if file == "" {
		return 1, fmt.Errorf("tcpdump: -w FILE is needed here")
	}
	n, err := h.capture(file, 4)
	if err != nil {
		return 1, err
	}
	fmt.Fprintf(out, "tcpdump: listening on any, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n%d packets captured\n%d packets received by filter\n0 packets dropped by kernel\n", n, n)
	return 0, nil
}
