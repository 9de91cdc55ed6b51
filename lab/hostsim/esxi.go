package hostsim

import (
	"fmt"
	"io"
	"strconv"
)

// The ESXi host's inventory: VM 1 and a few neighbours, on a distributed switch.
const (
	VM1Name    = "vm1"
	VM1Port    = 100663363
	VM1WorldID = 2099147
	vm1MAC     = "00:50:56:8a:3c:10"
)

// netStats is `net-stats -l`, in the layout ESXi prints (uplinks type 4, vmknics 3, VM vNICs 5).
var netStats = fmt.Sprintf(`PortNum          Type SubType SwitchName       MACAddress         ClientName
33554434            4       0 vSwitch0         74:e6:e2:ba:f9:70  vmnic0
33554436            3       0 vSwitch0         74:e6:e2:ba:f9:70  vmk0
100663298           4       0 DvsPortset-0     74:e6:e2:ba:f8:a4  vmnic1
100663302           3       0 DvsPortset-0     00:50:56:6b:d2:53  vmk1
100663361           5       9 DvsPortset-0     00:50:56:8a:3c:0f  web-02.eth0
%-16d    5       9 DvsPortset-0     %s  %s.eth0
100663366           5       9 DvsPortset-0     00:50:56:8a:51:e2  edge-01-0.eth1
`, VM1Port, vm1MAC, VM1Name)

var vmList = fmt.Sprintf(`World ID  Name        Num Ports  Networks
--------  ----------  ---------  --------------
 2098810  web-02              1  dvportgroup-21
 %7d  %-10s          1  dvportgroup-21
 2099501  edge-01-0           3  dvportgroup-21, dvportgroup-22, dvportgroup-30
`, VM1WorldID, VM1Name)

var vmPort = fmt.Sprintf(`   Port ID: %d
   vSwitch: DvsPortset-0
   Portgroup: dvportgroup-21
   DVPort ID: 21
   MAC Address: %s
   IP Address: 10.1.1.10
   Team Uplink: vmnic1
   Uplink Port ID: 100663298
   Active Filters:
`, VM1Port, vm1MAC)

// esxi answers the ESXi commands.
func (h *Host) esxi(out io.Writer, args []string) (uint32, error) {
	switch {
	case len(args) == 2 && args[0] == "net-stats" && args[1] == "-l":
		_, err := io.WriteString(out, netStats)
		return 0, err
	case len(args) == 4 && args[0] == "esxcli" && args[1] == "network" && args[2] == "vm" && args[3] == "list":
		_, err := io.WriteString(out, vmList)
		return 0, err
	case len(args) == 7 && args[0] == "esxcli" && args[1] == "network" && args[2] == "vm" && args[3] == "port" && args[4] == "list" && args[5] == "-w":
		if args[6] != strconv.Itoa(VM1WorldID) {
			_, err := io.WriteString(out, "")
			return 0, err
		}
		_, err := io.WriteString(out, vmPort)
		return 0, err
	case args[0] == "pktcap-uw":
		return h.pktcap(out, args[1:])
	}
	return notFound(args[0])
}

// pktcap answers `pktcap-uw --switchport ID [--dir N] [--proto 0xNN] [-c N] -o FILE`: VM 1's
// port gets the scene's point 1, any other port an empty capture.
func (h *Host) pktcap(out io.Writer, args []string) (uint32, error) {
	opts := map[string]string{}
	for i := 0; i < len(args); i += 2 {
		if i+1 >= len(args) {
			return 1, fmt.Errorf("pktcap-uw: option %s needs a value", args[i])
		}
		switch args[i] {
		case "--switchport", "--dir", "--proto", "-c", "--count", "-o", "--outfile":
			opts[args[i]] = args[i+1]
		default:
			return 1, fmt.Errorf("pktcap-uw: unknown option %s", args[i])
		}
	}
	file := opts["-o"] + opts["--outfile"]
	port, err := strconv.Atoi(opts["--switchport"])
	if err != nil || file == "" {
		return 1, fmt.Errorf("pktcap-uw: --switchport PORT and -o FILE are needed")
	}
	fmt.Fprintf(out, "The switch port id is 0x%08x.\nThe output file is %s.\n", port, file)
	n := 0
	if port == VM1Port {
		n, err = h.capture(file, 1)
	} else {
		n, err = h.capture(file, 0)
	}
	if err != nil {
		return 1, err
	}
	fmt.Fprintf(out, "Dumped %d packet to file %s, dropped 0 packets.\nDone.\n", n, file)
	return 0, nil
}
