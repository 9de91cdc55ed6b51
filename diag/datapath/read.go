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
	ForwardID uint16     // the ICMP id of the ping VM 1 -> host 2; 0: learnt from the captures
	ReturnID  uint16     // the ICMP id of the ping host 2 -> VM 1; 0: learnt from the captures
	SPIOut    uint32     // the Edge's outbound SA (Edge to peer)
	SPIIn     uint32     // the Edge's inbound SA (peer to Edge)
}

// Check reports an input that cannot be correlated, before any capture is taken.
func (in *Input) Check() error {
	switch {
	case !in.VM1.IsValid() || !in.Host2.IsValid():
		return errors.New("both hosts' addresses are needed")
	case in.VM1 == in.Host2:
		return fmt.Errorf("VM 1 and host 2 are both %s", in.VM1)
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

// echoKey names an echo between the two hosts before it is known which ping it belongs to.
type echoKey struct {
	id, seq     uint16
	reply       bool
	towardHost2 bool
}

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
	echoes   map[echoKey]*sighting // every echo between the hosts, while reading
	clear    map[pktKey]*sighting  // the two pings' echoes
	esp      map[espKey]*sighting
	note     string // why the capture was read only in part
}

// readPoint reads one capture, keeping only the two pings' echoes between the hosts and ESP on
// the two SAs. A capture cut short keeps what came before the cut, with a note.
func readPoint(c Capture, in *Input) (*view, error) {
	v := &view{name: c.Name, captured: c.Data != nil, echoes: map[echoKey]*sighting{}, clear: map[pktKey]*sighting{}, esp: map[espKey]*sighting{}}
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
		case p.Echo && (p.Src == in.VM1 && p.Dst == in.Host2 || p.Src == in.Host2 && p.Dst == in.VM1):
			over = record(v, v.echoes, echoKey{p.EchoID, p.EchoSeq, p.Reply, p.Dst == in.Host2}, p)
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
	return len(v.echoes)+len(v.esp) > maxSightings
}

// pingOf says which ping an echo belongs to: the forward ping's requests go toward host 2 and
// its replies back, the return ping's the other way.
func (in *Input) pingOf(e echoKey) (pktKey, bool) {
	k := pktKey{seq: e.seq, reply: e.reply}
	switch {
	case e.id == in.ForwardID && e.towardHost2 != e.reply:
		k.ping = pingForward
	case e.id == in.ReturnID && e.towardHost2 == e.reply:
		k.ping = pingReturn
	default:
		return k, false
	}
	return k, true
}

// learnIDs sets a ping's ICMP id left 0 to the id with the most echo requests going its way
// (the lowest on a tie), and says so.
func (in *Input) learnIDs(views []*view) []string {
	var notes []string
	for _, ping := range []struct {
		id          *uint16
		towardHost2 bool
		name        string
	}{{&in.ForwardID, true, "VM 1 -> host 2"}, {&in.ReturnID, false, "host 2 -> VM 1"}} {
		if *ping.id != 0 {
			continue
		}
		requests := map[uint16]map[uint16]bool{}
		for _, v := range views {
			for e := range v.echoes {
				if !e.reply && e.towardHost2 == ping.towardHost2 {
					if requests[e.id] == nil {
						requests[e.id] = map[uint16]bool{}
					}
					requests[e.id][e.seq] = true
				}
			}
		}
		best, most := uint16(0), 0
		for id, seqs := range requests {
			if len(seqs) > most || len(seqs) == most && id < best {
				best, most = id, len(seqs)
			}
		}
		if most > 0 {
			*ping.id = best
			notes = append(notes, fmt.Sprintf("the ping %s has ICMP id %d (learnt from the captures: %d echo requests)", ping.name, best, most))
		}
	}
	return notes
}

// sort files each view's echoes under the two pings.
func (in *Input) sort(views []*view) {
	for _, v := range views {
		for e, s := range v.echoes {
			if k, ok := in.pingOf(e); ok {
				v.clear[k] = s
			}
		}
		v.echoes = nil
	}
}
