package ike

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/google/gopacket"
)

// DecodeFile lists every IKE message of a capture (pcap or pcapng) as `bot pcap decode` prints
// them. A file cut short returns the messages read before the cut AND an error (errors.Is ErrTruncated).
func DecodeFile(path string) ([]MessageInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeCapture(f)
}

// DecodeCapture is DecodeFile on a reader. It yields one element per frame that carries IKE (the
// frames tshark's isakmp filter counts), in frame order: an IKEv1 message rebuilt from fragments is
// folded into the element of the frame whose fragment completed it.
func DecodeCapture(r io.Reader) ([]MessageInfo, error) {
	src, err := openCapture(r)
	if err != nil {
		return nil, err
	}
	out := []MessageInfo{}
	v1Initiators := map[uint64]netip.Addr{} // IKEv1 has no I flag: the initiator sent the first message
	err = walk(src, func(p *packetInfo, t time.Time) {
		for _, ref := range p.ike {
			mi := messageInfo(p, ref, t)
			if mi.Version == 1 && ref.err == nil && !ref.inICMP {
				ispi := ref.msg.InitiatorSPI
				if _, ok := v1Initiators[ispi]; !ok && len(v1Initiators) < maxExchanges {
					v1Initiators[ispi] = p.ip.src
				}
				mi.Initiator = v1Initiators[ispi] == p.ip.src
			}
			if last := len(out) - 1; ref.reassembled && last >= 0 && out[last].Frame == p.frame && out[last].Fragment {
				out[last] = foldReassembled(out[last], mi)
				continue
			}
			out = append(out, mi)
		}
	})
	return out, err
}

// walkCapture dissects every frame of a capture and hands it to fn.
func walkCapture(r io.Reader, fn func(p *packetInfo, t time.Time)) error {
	src, err := openCapture(r)
	if err != nil {
		return err
	}
	return walk(src, fn)
}

// walk dissects every frame of an open capture and hands it to fn.
func walk(src packetSource, fn func(p *packetInfo, t time.Time)) error {
	d := dissector{link: src.LinkType()}
	return eachFrame(src, func(frame int, data []byte, ci gopacket.CaptureInfo) error {
		fn(d.dissect(frame, data, ci.Length), ci.Timestamp)
		return nil
	})
}

// foldReassembled makes one element of the fragment that completed an IKEv1 message and the
// message rebuilt from it: the whole message's fields, marked as that fragment. A rebuilt message
// too short to have a header keeps the fragment's fields and says why it did not decode.
func foldReassembled(frag, whole MessageInfo) MessageInfo {
	if whole.Error != "" && whole.Version == 0 {
		frag.Reassembled, frag.Error = true, "reassembled message: "+whole.Error
		return frag
	}
	whole.Fragment, whole.FragmentNumber, whole.FragmentTotal = true, frag.FragmentNumber, frag.FragmentTotal
	return whole
}

// messageInfo describes one IKE message of a frame.
func messageInfo(p *packetInfo, ref ikeRef, t time.Time) MessageInfo {
	m := ref.msg
	src, dst := addrPort(p.ip.src, p.sport), addrPort(p.ip.dst, p.dport)
	if ref.inICMP {
		src, dst = addrPort(p.quoted.src, p.quotedPort[0]), addrPort(p.quoted.dst, p.quotedPort[1])
	}
	v := int(m.MajorVersion)
	mi := MessageInfo{
		Frame: p.frame, Time: t.UTC(), Src: src, Dst: dst, Version: v,
		Exchange: ExchangeName(v, m.ExchangeType), ExchangeType: int(m.ExchangeType), MessageID: m.MessageID,
		ISPI: fmt.Sprintf("%016x", m.InitiatorSPI), RSPI: fmt.Sprintf("%016x", m.ResponderSPI),
		Initiator: m.IsInitiator(), Response: m.IsResponse(), Encrypted: m.IsEncrypted(), Flags: int(m.Flags),
		Payloads: []string{}, Notify: []NotifyInfo{}, NonESPMarker: ref.marker, Length: int(m.Length),
		InICMP: ref.inICMP, Reassembled: ref.reassembled,
	}
	if v == 1 {
		// IKEv1 has no I and R flags: DecodeCapture fills Initiator from who spoke first, and
		// Response stays false (a turn in an exchange is not a response in the IKEv2 sense).
		mi.Initiator, mi.Response = false, false
	}
	if ref.err != nil {
		mi.Error = ref.err.Error()
		if len(m.Contents) < HeaderLen {
			mi.Version, mi.Exchange, mi.ISPI, mi.RSPI = 0, "", "", ""
			mi.ExchangeType, mi.MessageID, mi.Length = 0, 0, 0
			mi.Initiator, mi.Response, mi.Encrypted = false, false, false
		}
	}
	if m.Encrypted != nil {
		mi.Payloads = append(mi.Payloads, "encrypted")
	}
	for _, pl := range m.Payloads {
		mi.Payloads = append(mi.Payloads, pl.Type.String())
		switch pl.Type {
		case PayloadNotify, PayloadNotifyV1:
			if n, err := ParseNotify(v, pl.Body); err == nil {
				mi.Notify = append(mi.Notify, NotifyInfo{Type: int(n.Type), Name: NotifyName(v, n.Type)})
			}
		case PayloadSA, PayloadSAv1:
			if sa, err := ParseSA(v, pl.Body); err == nil {
				mi.Proposals = append(mi.Proposals, sa.Words(v)...)
			}
		case PayloadKE:
			if g, err := KEGroup(pl.Body); err == nil && v == 2 {
				mi.KEGroup = GroupName(g)
			}
		case PayloadSKF, PayloadFragV1:
			mi.Fragment = true
			if f, err := ParseFragment(v, pl.Body); err == nil {
				mi.FragmentNumber, mi.FragmentTotal = int(f.Number), int(f.Total)
			}
		}
	}
	describePayloads(&mi, m)
	if v == 1 && mi.KEGroup == "" && slices.Contains(mi.Payloads, "KE") {
		mi.KEGroup = v1Group(m)
	}
	return mi
}

// v1Group takes the group of an IKEv1 KE from the SA it travels with (the KE itself has none).
func v1Group(m *Message) string {
	for _, pl := range m.Payloads {
		if pl.Type != PayloadSAv1 {
			continue
		}
		sa, err := ParseSA(1, pl.Body)
		if err != nil {
			return ""
		}
		for _, p := range sa.Proposals {
			for _, t := range p.Transforms {
				for _, at := range t.Attributes {
					if (p.Protocol == 1 && at.Type == 4) || (p.Protocol != 1 && at.Type == 3) {
						return GroupName(uint16(at.Uint()))
					}
				}
			}
		}
	}
	return ""
}
