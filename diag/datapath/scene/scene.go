// Package scene builds the four captures of a data-path check (procedure step 8) from one
// simulated run of the two pings, so that they agree with each other: the same ICMP ids and
// sequence numbers, the same ESP SPIs and sequence numbers at both ends of the tunnel, each
// point on its own clock. A fault stops the packets at one hop; impairments add what real
// captures have (loss, duplicates, reordering, skew, other traffic on the SAs). The tests of
// diag/datapath and the lab's ESXi host and far side use it.
package scene

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"ipsecbot/diag"
	"ipsecbot/diag/datapath"
	"ipsecbot/diag/ike"
)

// The addresses, ids and SPIs every scene uses.
var (
	VM1        = netip.MustParseAddr("10.1.1.10")
	Host2      = netip.MustParseAddr("10.2.2.20")
	EdgeUplink = netip.MustParseAddr("198.51.100.1")
	Peer       = netip.MustParseAddr("203.0.113.2")
)

const (
	ForwardID uint16 = 0x1a01
	ReturnID  uint16 = 0x2b02
	SPIOut    uint32 = 0xc1a5e001 // Edge to peer
	SPIIn     uint32 = 0x5e7a0002 // peer to Edge
	echoSize         = 84         // a default ping's IP packet
)

// FarView is what the far side's capture (point 4) sees.
type FarView int

const (
	Gateway  FarView = iota // the peer gateway on every interface: ESP and clear
	ESPOnly                 // the peer gateway's outside interface only
	HostOnly                // the remote host: clear only
)

// Scene is one run of the two pings.
type Scene struct {
	// Fault is the hop that passes nothing (healthy or empty: none); TowardVM makes it stop the
	// packets going toward VM 1 instead of those going toward host 2. RemoteNotAnswering is
	// host 2 not answering (VM 1 with TowardVM).
	Fault    diag.Cause
	TowardVM bool
	// Echoes per ping; 0 means 4.
	Echoes int
	Start  time.Time // zero: a fixed time
	View   FarView
	// Skew is each point's clock offset from the Edge's (points 2 and 3 are both the Edge).
	SkewESXi, SkewFar time.Duration
	// Impairments.
	LoseOne   bool // the forward ping's second request is lost on the WAN
	Duplicate bool // point 1 shows every frame twice (both directions of the port)
	Reorder   bool // the WAN swaps two ESP packets; point 4's file is written out of time order
	Noise     bool // other traffic on both SAs and another ping between other hosts
	Busy      int  // this many more packets of other traffic on each SA, spread over the run
	NATT      bool // ESP in UDP 4500 (NAT traversal), as the lab's Edge negotiates it
}

// Name is the lab's scenario name for the scene's fault: datapath-<cause>[-return].
func (s Scene) Name() string {
	if s.Fault == "" || s.Fault == diag.CauseHealthy {
		return "datapath-healthy"
	}
	if s.TowardVM {
		return "datapath-" + string(s.Fault) + "-return"
	}
	return "datapath-" + string(s.Fault)
}

// Scenes lists the lab's data-path scenes: healthy, then each fault toward host 2 and toward
// VM 1, all with skewed clocks, duplicates, reordering and other traffic.
func Scenes() []Scene {
	base := Scene{SkewESXi: 3700 * time.Millisecond, SkewFar: -11200 * time.Millisecond, Duplicate: true, Reorder: true, Noise: true}
	out := []Scene{base}
	for _, c := range datapath.Causes[:5] {
		for _, toward := range []bool{false, true} {
			s := base
			s.Fault, s.TowardVM = c, toward
			out = append(out, s)
		}
	}
	return out
}

// Lookup finds a scene by its Name.
func Lookup(name string) (Scene, bool) {
	for _, s := range Scenes() {
		if s.Name() == name {
			return s, true
		}
	}
	return Scene{}, false
}

// Input is what datapath.Correlate needs for this scene, without the captures.
func (s Scene) Input() datapath.Input {
	return datapath.Input{VM1: VM1, Host2: Host2, ForwardID: ForwardID, ReturnID: ReturnID, SPIOut: SPIOut, SPIIn: SPIIn}
}

// Write writes point-1.pcap to point-4.pcap into dir.
func (s Scene) Write(dir string) error {
	for p := 1; p <= 4; p++ {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("point-%d.pcap", p)))
		if err != nil {
			return err
		}
		err = s.WritePoint(p, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// WritePoint writes point p's capture (1 to 4) to w.
func (s Scene) WritePoint(p int, w io.Writer) error {
	if p < 1 || p > 4 {
		return fmt.Errorf("point %d: want 1 to 4", p)
	}
	frames := s.run()[p-1]
	cw, err := ike.NewCaptureWriter(w)
	if err != nil {
		return err
	}
	for _, f := range frames {
		if err := f.write(cw, s.NATT); err != nil {
			return err
		}
	}
	return nil
}
