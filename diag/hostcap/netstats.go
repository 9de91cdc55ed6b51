// Package hostcap takes the data-path step's captures on hosts over SSH: on VM 1's ESXi host
// it finds the VM's switch port (`net-stats -l`) and runs a bounded pktcap-uw on it; on the far
// side's Linux machine a bounded tcpdump. Each capture is fetched with cat and always removed,
// whether the run succeeds, fails, times out or is cancelled. Commands come from templates
// filled with validated values only (no text a user typed reaches a shell). Plan runs the whole
// step: every capture (the Edge's through EdgeCapture), the ping, then the correlation.
package hostcap

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Port is one row of `net-stats -l`.
type Port struct {
	Num     uint64
	Type    int // 3 vmknic, 4 uplink, 5 a VM's vNIC
	SubType int
	Switch  string
	MAC     string
	Client  string // "vm1.eth0" for a VM's vNIC; may hold spaces ("NSX Manager.eth0")
}

// TypeVNIC is the net-stats type of a VM's vNIC.
const TypeVNIC = 5

// ErrNoPort: the VM has no vNIC on the host.
var ErrNoPort = errors.New("no switch port for the VM on this host")

// maxPorts bounds what one output may list.
const maxPorts = 1 << 14

// ParseNetStats reads `net-stats -l`: a header line starting PortNum, then one port a line
// (PortNum Type SubType SwitchName MACAddress ClientName).
func ParseNetStats(text string) ([]Port, error) {
	var out []Port
	header := false
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if !header {
			if f[0] != "PortNum" {
				return nil, fmt.Errorf("net-stats -l: line %d: want the PortNum header, got %.60q", i+1, line)
			}
			header = true
			continue
		}
		if len(f) < 6 {
			return nil, fmt.Errorf("net-stats -l: line %d: %d columns, want 6: %.60q", i+1, len(f), line)
		}
		num, err1 := strconv.ParseUint(f[0], 10, 64)
		typ, err2 := strconv.Atoi(f[1])
		sub, err3 := strconv.Atoi(f[2])
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("net-stats -l: line %d: %.60q: not a port row", i+1, line)
		}
		if len(out) == maxPorts {
			return nil, fmt.Errorf("net-stats -l: more than %d ports", maxPorts)
		}
		out = append(out, Port{Num: num, Type: typ, SubType: sub, Switch: f[3], MAC: f[4], Client: strings.Join(f[5:], " ")})
	}
	if !header {
		return nil, errors.New("net-stats -l: empty output")
	}
	return out, nil
}

// VMPort finds the switch port of vm's vNIC number nic (the row `<vm>.eth<nic>` of type 5).
func VMPort(ports []Port, vm string, nic int) (Port, error) {
	want := fmt.Sprintf("%s.eth%d", vm, nic)
	for _, p := range ports {
		if p.Type == TypeVNIC && p.Client == want {
			return p, nil
		}
	}
	return Port{}, fmt.Errorf("%w: %s", ErrNoPort, want)
}
