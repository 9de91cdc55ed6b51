package ike

import (
	"encoding/binary"
	"fmt"
	"io"
)

// pcapgo's pcapng reader sizes its packet buffer from the interface's snap length and the record
// lengths. A damaged or hostile file could make it allocate gigabytes, so pcapng passes through a
// guard first (classic pcap is read by pcapReader, which has the same limits).

// maxRecord bounds one packet record (and so pcapgo's buffer): well above any real MTU or snap length.
const maxRecord = 256 << 10

// maxBlock bounds one pcapng block.
const maxBlock = 1 << 20

// ngGuard passes a pcapng stream through block by block, refusing blocks longer than maxBlock,
// packets that claim more bytes than their block holds, and clamping interface snap lengths.
type ngGuard struct {
	r     io.Reader
	order binary.ByteOrder
	buf   []byte
	pend  []byte
	err   error
}

func newNgGuard(r io.Reader) *ngGuard { return &ngGuard{r: r, order: binary.LittleEndian} }

func (g *ngGuard) Read(p []byte) (int, error) {
	for len(g.pend) == 0 {
		if g.err != nil {
			return 0, g.err
		}
		g.err = g.next()
	}
	n := copy(p, g.pend)
	g.pend = g.pend[n:]
	return n, nil
}

// next reads one block into pend. A cut-off block is passed on as far as it goes, so the
// reader behind sees the same unexpected EOF it would have seen.
func (g *ngGuard) next() error {
	var hdr [12]byte
	n, err := io.ReadFull(g.r, hdr[:8])
	if err != nil {
		g.pend = hdr[:n]
		return err
	}
	typ := binary.LittleEndian.Uint32(hdr[:4])
	if typ == 0x0a0d0d0a { // section header: its byte-order magic sets the order of what follows
		if m, err := io.ReadFull(g.r, hdr[8:12]); err != nil {
			g.pend = hdr[:8+m]
			return err
		}
		switch binary.LittleEndian.Uint32(hdr[8:12]) {
		case 0x1a2b3c4d:
			g.order = binary.LittleEndian
		case 0x4d3c2b1a:
			g.order = binary.BigEndian
		default:
			return fmt.Errorf("pcapng section header with bad byte-order magic")
		}
	} else {
		typ = g.order.Uint32(hdr[:4])
	}
	length := int(g.order.Uint32(hdr[4:8]))
	if length < 12 || length > maxBlock || length%4 != 0 {
		return fmt.Errorf("pcapng block of %d bytes", length)
	}
	if cap(g.buf) < length {
		g.buf = make([]byte, length)
	}
	b := g.buf[:length]
	start := 8
	if typ == 0x0a0d0d0a {
		start = 12
	}
	copy(b, hdr[:start])
	m, err := io.ReadFull(g.r, b[start:])
	if err != nil {
		g.pend = b[:start+m]
		return err
	}
	switch typ {
	case 1: // interface description: snap length at 12
		if length >= 20 {
			if s := g.order.Uint32(b[12:]); s == 0 || s > maxRecord {
				g.order.PutUint32(b[12:], maxRecord)
			}
		}
	case 6, 2: // enhanced / obsolete packet: captured length at 20
		if length < 32 {
			return fmt.Errorf("pcapng packet block of %d bytes", length)
		}
		if c := int(g.order.Uint32(b[20:])); c > length-32 {
			return fmt.Errorf("pcapng packet of %d bytes in a block of %d", c, length)
		}
	}
	g.pend = b
	return nil
}
