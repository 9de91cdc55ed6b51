package ike

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// pcapReader reads classic pcap records straight out of a bufio.Reader's buffer: one copy from
// the file, none per packet. (pcapgo's reader copies each record again through its own buffer,
// which costs more than all of our decoding.) A record is valid until the next call.
type pcapReader struct {
	br       *bufio.Reader
	order    binary.ByteOrder
	nanos    bool
	snaplen  int
	link     layers.LinkType
	consumed int // bytes of the previous record still to discard
}

// Link types beyond gopacket's one-byte LinkType, mapped onto unassigned byte values.
const (
	linkTypeSLL2    layers.LinkType = 0xfe // LINKTYPE_LINUX_SLL2 (276): newer tcpdump -i any
	linkTypeUnknown layers.LinkType = 0xff
)

func newPcapReader(br *bufio.Reader) (*pcapReader, error) {
	h, err := br.Peek(24)
	if err != nil {
		return nil, fmt.Errorf("%w: file header of %d bytes", ErrTruncated, len(h))
	}
	r := &pcapReader{br: br, order: binary.LittleEndian}
	switch binary.LittleEndian.Uint32(h) {
	case 0xa1b2c3d4:
	case 0xa1b23c4d:
		r.nanos = true
	case 0xd4c3b2a1:
		r.order = binary.BigEndian
	case 0x4d3cb2a1:
		r.order, r.nanos = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("%w: magic %x", ErrNotCapture, h[:4])
	}
	if v := r.order.Uint16(h[4:]); v != 2 {
		return nil, fmt.Errorf("%w: pcap version %d", ErrNotCapture, v)
	}
	r.snaplen = int(r.order.Uint32(h[16:]))
	if r.snaplen <= 0 || r.snaplen > maxRecord {
		r.snaplen = maxRecord
	}
	switch lt := r.order.Uint32(h[20:]); {
	case lt == 276:
		r.link = linkTypeSLL2
	case lt > 0xff:
		r.link = linkTypeUnknown // gopacket's LinkType is a byte: do not let 0x1xx pass as 0xxx
	default:
		r.link = layers.LinkType(lt)
	}
	if _, err := br.Discard(24); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *pcapReader) LinkType() layers.LinkType { return r.link }

func (r *pcapReader) ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	var ci gopacket.CaptureInfo
	if r.consumed > 0 {
		if _, err := r.br.Discard(r.consumed); err != nil {
			return nil, ci, err
		}
		r.consumed = 0
	}
	h, err := r.br.Peek(16)
	if err != nil {
		if len(h) == 0 && errors.Is(err, io.EOF) {
			return nil, ci, io.EOF
		}
		return nil, ci, io.ErrUnexpectedEOF
	}
	sec, frac := int64(r.order.Uint32(h)), int64(r.order.Uint32(h[4:]))
	caplen, origlen := int(r.order.Uint32(h[8:])), int(r.order.Uint32(h[12:]))
	if caplen > r.snaplen || caplen > maxRecord {
		return nil, ci, fmt.Errorf("record of %d bytes, more than the snap length %d", caplen, r.snaplen)
	}
	if r.br.Size() < 16+caplen {
		return nil, ci, fmt.Errorf("record of %d bytes", caplen)
	}
	rec, err := r.br.Peek(16 + caplen)
	if err != nil {
		return nil, ci, io.ErrUnexpectedEOF
	}
	if !r.nanos {
		frac *= 1000
	}
	ci = gopacket.CaptureInfo{Timestamp: time.Unix(sec, frac).UTC(), CaptureLength: caplen, Length: origlen}
	r.consumed = 16 + caplen
	return rec[16:], ci, nil
}
