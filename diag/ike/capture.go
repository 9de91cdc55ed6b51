package ike

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Errors about the capture file itself.
var (
	// ErrNotCapture: the file is neither pcap nor pcapng.
	ErrNotCapture = errors.New("not a pcap or pcapng capture")
	// ErrTruncated: the file ends in the middle of a record. What came before is still returned.
	ErrTruncated = errors.New("capture file is cut short")
)

// packetSource is what both pcapgo readers offer.
type packetSource interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	LinkType() layers.LinkType
}

// openCapture sniffs the magic number and returns a pcap or pcapng reader.
func openCapture(r io.Reader) (packetSource, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("%w: %d bytes", ErrNotCapture, len(magic))
	}
	switch binary.LittleEndian.Uint32(magic) {
	case 0x0a0d0d0a:
		ng, err := pcapgo.NewNgReader(newNgGuard(br), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, fmt.Errorf("%w: pcapng: %v", ErrNotCapture, err)
		}
		return ng, nil
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		return newPcapReader(br)
	}
	return nil, fmt.Errorf("%w: magic %x", ErrNotCapture, magic)
}

// eachFrame hands every frame of src to fn (frames count from 1) until the capture ends or fn
// fails. A clean end is nil; a cut-off record is ErrTruncated.
func eachFrame(src packetSource, fn func(frame int, data []byte, ci gopacket.CaptureInfo) error) error {
	frame := 0
	for {
		data, ci, err := src.ZeroCopyReadPacketData()
		if err != nil {
			return readErr(err, frame)
		}
		frame++
		if err := fn(frame, data, ci); err != nil {
			return err
		}
	}
}

// readErr turns a reader error into ours: nil at a clean end, ErrTruncated for a cut-off record.
func readErr(err error, frame int) error {
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w after frame %d", ErrTruncated, frame)
	}
	return fmt.Errorf("%w: after frame %d: %v", ErrTruncated, frame, err)
}
