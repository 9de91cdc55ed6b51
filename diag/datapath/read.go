package datapath

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"ipsecbot/diag/ike"
)

// maxSightings bounds what one capture may hold of the pings and their SAs; a longer capture is
// refused rather than read into memory without end.
const maxSightings = 1 << 18

// Capture is one point's capture file.
type Capture struct {
	Name string    // how evidence names it, e.g. "point-3.pcap"
	Data io.Reader // nil: the point was not captured
}

// Input is what the correlation needs: the captures of points 1 to 4, the two hosts, the ICMP
// ids of the two pings and the tunnel's SPIs (from `show service ipsec sa`).
type Input struct {
	Points    [4]Capture
	VM1       netip.Addr // the VM behind the Edge (point 1 is its port)
	Host2     netip.Addr // the host behind the peer
	ForwardID uint16     // the ICMP id of the ping VM 1 -> host 2
	ReturnID  uint16     // the ICMP id of the ping host 2 -> VM 1
	SPIOut    uint32     // the Edge's outbound SA (Edge to peer)
	SPIIn     uint32     // the Edge's inbound SA (peer to Edge)
}

func (in *Input) check() error {
	switch {
	case !in.VM1.IsValid() || !in.Host2.IsValid():
		return errors.New("both hosts' addresses are needed")
	case in.VM1 == in.Host2:
		return fmt.Errorf("VM 1 and host 2 are both %s", in.VM1)
	case in.ForwardID == in.ReturnID:
		return fmt.Errorf("the two pings share the ICMP id %d; give each its own", in.ForwardID)
	case in.SPIOut == 0 || in.SPIIn == 0 || in.SPIOut == in.SPIIn:
		return fmt.Errorf("SPIs %#08x and %#08x: two different non-zero SPIs are needed", in.SPIOut, in.SPIIn)
	}
	return nil
}

// pingForward and pingReturn index the two pings.
const (
	pingForward uint8 = iota
	pingReturn
)

// pktKey names one echo: which ping, its sequence number, request or reply.
type pktKey struct {
	ping  uint8
	seq   uint16
	reply bool
}

// towardHost2 reports whether the packet travels from VM 1's side to host 2's: the forward
// ping's requests and the return ping's replies.
func (k pktKey) towardHost2() bool { return (k.ping == pingForward) != k.reply }

type espKey struct{ spi, seq uint32 }

// sighting is a packet's first frame in one capture, and how often it was seen there.
type sighting struct {
	frame int
	t     time.Time
	ipLen int
	count int
}

// view is what one capture holds of the pings (clear) and the tunnel's SAs (ESP).
type view struct {
	name     string
	captured bool
	clear    map[pktKey]*sighting
	esp      map[espKey]*sighting
	note     string // why the capture was read only in part
}

// readPoint reads one capture, keeping only the two pings' echoes between the hosts and ESP on
// the two SAs. A capture cut short keeps what came before the cut, with a note.
func readPoint(c Capture, in *Input) (*view, error) {
	v := &view{name: c.Name, captured: c.Data != nil, clear: map[pktKey]*sighting{}, esp: map[espKey]*sighting{}}
	if c.Data == nil {
		return v, nil
	}
	over := false
	err := ike.EachPacket(c.Data, func(p ike.Packet) {
		if over {
			return
		}
		switch {
		case p.ESP && (p.SPI == in.SPIOut || p.SPI == in.SPIIn):
			over = record(v, v.esp, espKey{p.SPI, p.ESPSeq}, p)
		case p.Echo:
			if k, ok := in.echoKey(p); ok {
				over = record(v, v.clear, k, p)
			}
		}
	})
	switch {
	case over:
		return nil, fmt.Errorf("%s: more than %d packets of the pings and the tunnel; capture a shorter window", c.Name, maxSightings)
	case errors.Is(err, ike.ErrTruncated):
		v.note = fmt.Sprintf("%s: %v; the frames before the cut were used", c.Name, err)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	return v, nil
}

// record notes p under k in m (once, counting repeats) and reports whether the capture now holds
// too many packets.
func record[K comparable](v *view, m map[K]*sighting, k K, p ike.Packet) bool {
	if old := m[k]; old != nil {
		old.count++
		return false
	}
	m[k] = &sighting{frame: p.Frame, t: p.Time, ipLen: p.IPLen, count: 1}
	return len(v.clear)+len(v.esp) > maxSightings
}

// echoKey says which echo p is, if it is one of the two pings going the way that ping goes.
func (in *Input) echoKey(p ike.Packet) (pktKey, bool) {
	var k pktKey
	switch p.EchoID {
	case in.ForwardID:
		k.ping = pingForward
	case in.ReturnID:
		k.ping = pingReturn
	default:
		return k, false
	}
	k.seq, k.reply = p.EchoSeq, p.Reply
	a, b := in.VM1, in.Host2
	if !k.towardHost2() {
		a, b = b, a
	}
	return k, p.Src == a && p.Dst == b
}
