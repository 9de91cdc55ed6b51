package ike

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformed is wrapped by every error about a message that is cut short or does not parse.
var ErrMalformed = errors.New("malformed IKE message")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Payload is one payload of the chain: its type, the IKEv2 critical bit and its body (after the
// 4-byte generic header). For SK and SKF, Inner is the type of the first payload inside the
// ciphertext (the generic header's next-payload field, RFC 7296 3.14, RFC 7383 2.5).
type Payload struct {
	Type     PayloadType
	Critical bool
	Inner    PayloadType
	Body     []byte
}

// Notify is a Notify payload (RFC 7296 3.10; RFC 2408 3.14, where DOI comes first).
type Notify struct {
	DOI      uint32 // IKEv1 only
	Protocol uint8
	Type     uint16
	SPI      []byte
	Data     []byte
}

// ParseNotify decodes a Notify payload body.
func ParseNotify(version int, b []byte) (Notify, error) {
	var n Notify
	if version == 1 {
		if len(b) < 8 {
			return n, malformed("notify payload body %d bytes, want at least 8", len(b))
		}
		n.DOI = binary.BigEndian.Uint32(b)
		b = b[4:]
	}
	if len(b) < 4 {
		return n, malformed("notify payload body %d bytes, want at least 4", len(b))
	}
	n.Protocol, n.Type = b[0], binary.BigEndian.Uint16(b[2:4])
	spi := int(b[1])
	if 4+spi > len(b) {
		return n, malformed("notify SPI size %d with %d bytes left", spi, len(b)-4)
	}
	n.SPI, n.Data = b[4:4+spi], b[4+spi:]
	return n, nil
}

// Marshal encodes the notify payload body.
func (n Notify) Marshal(version int) []byte {
	var b []byte
	if version == 1 {
		b = binary.BigEndian.AppendUint32(b, n.DOI)
	}
	b = append(b, n.Protocol, byte(len(n.SPI)), byte(n.Type>>8), byte(n.Type))
	b = append(b, n.SPI...)
	return append(b, n.Data...)
}

// notifyType reads a notify's type without allocating; ok is false when the body is too short.
func notifyType(version int, b []byte) (uint16, bool) {
	off := 0
	if version == 1 {
		off = 4
	}
	if len(b) < off+4 {
		return 0, false
	}
	return binary.BigEndian.Uint16(b[off+2:]), true
}

// Delete is a Delete payload: the protocol and the SPIs being deleted (RFC 7296 3.11; RFC 2408 3.15).
type Delete struct {
	DOI      uint32 // IKEv1 only
	Protocol uint8
	SPISize  uint8
	SPIs     [][]byte
}

// ParseDelete decodes a Delete payload body.
func ParseDelete(version int, b []byte) (Delete, error) {
	var d Delete
	if version == 1 {
		if len(b) < 4 {
			return d, malformed("delete payload body %d bytes", len(b))
		}
		d.DOI = binary.BigEndian.Uint32(b)
		b = b[4:]
	}
	if len(b) < 4 {
		return d, malformed("delete payload body %d bytes, want at least 4", len(b))
	}
	d.Protocol, d.SPISize = b[0], b[1]
	n := int(binary.BigEndian.Uint16(b[2:]))
	if n*int(d.SPISize) != len(b)-4 {
		return d, malformed("delete payload: %d SPIs of %d bytes in %d bytes", n, d.SPISize, len(b)-4)
	}
	for i := 0; i < n; i++ {
		s := 4 + i*int(d.SPISize)
		d.SPIs = append(d.SPIs, b[s:s+int(d.SPISize)])
	}
	return d, nil
}

// validateDelete is ParseDelete's length check without keeping the SPIs.
func validateDelete(version int, b []byte) error {
	if version == 1 {
		if len(b) < 4 {
			return malformed("delete payload body %d bytes", len(b))
		}
		b = b[4:]
	}
	if len(b) < 4 {
		return malformed("delete payload body %d bytes, want at least 4", len(b))
	}
	if n := int(binary.BigEndian.Uint16(b[2:])); n*int(b[1]) != len(b)-4 {
		return malformed("delete payload: %d SPIs of %d bytes in %d bytes", n, b[1], len(b)-4)
	}
	return nil
}

// Marshal encodes the delete payload body.
func (d Delete) Marshal(version int) []byte {
	var b []byte
	if version == 1 {
		b = binary.BigEndian.AppendUint32(b, d.DOI)
	}
	b = append(b, d.Protocol, d.SPISize, byte(len(d.SPIs)>>8), byte(len(d.SPIs)))
	for _, s := range d.SPIs {
		b = append(b, s...)
	}
	return b
}

// KEGroup reads the Diffie-Hellman group of an IKEv2 KE payload body (RFC 7296 3.4).
func KEGroup(b []byte) (uint16, error) {
	if len(b) < 4 {
		return 0, malformed("KE payload body %d bytes, want at least 4", len(b))
	}
	return binary.BigEndian.Uint16(b), nil
}

// TrafficSelector is one entry of a TSi/TSr payload (RFC 7296 3.13.1).
type TrafficSelector struct {
	Type      uint8 // 7 IPv4 range, 8 IPv6 range
	Protocol  uint8
	StartPort uint16
	EndPort   uint16
	StartAddr []byte
	EndAddr   []byte
}

// ParseTS decodes a TSi/TSr payload body.
func ParseTS(b []byte) ([]TrafficSelector, error) {
	var out []TrafficSelector
	err := walkTS(b, func(ts TrafficSelector) { out = append(out, ts) })
	return out, err
}

// walkTS checks a TS payload body and hands each selector to fn (which may be nil).
func walkTS(b []byte, fn func(TrafficSelector)) error {
	if len(b) < 4 {
		return malformed("TS payload body %d bytes, want at least 4", len(b))
	}
	n := int(b[0])
	b = b[4:]
	for i := 0; i < n; i++ {
		if len(b) < 8 {
			return malformed("traffic selector %d: %d bytes left", i+1, len(b))
		}
		l := int(binary.BigEndian.Uint16(b[2:]))
		if l < 8 || l > len(b) {
			return malformed("traffic selector length %d with %d bytes left", l, len(b))
		}
		ts := TrafficSelector{Type: b[0], Protocol: b[1], StartPort: binary.BigEndian.Uint16(b[4:]), EndPort: binary.BigEndian.Uint16(b[6:])}
		addrs := b[8:l]
		if len(addrs)%2 != 0 {
			return malformed("traffic selector addresses of odd length %d", len(addrs))
		}
		ts.StartAddr, ts.EndAddr = addrs[:len(addrs)/2], addrs[len(addrs)/2:]
		if fn != nil {
			fn(ts)
		}
		b = b[l:]
	}
	if len(b) != 0 {
		return malformed("%d bytes after %d traffic selectors", len(b), n)
	}
	return nil
}

// MarshalTS encodes a TSi/TSr payload body.
func MarshalTS(tss []TrafficSelector) []byte {
	b := []byte{byte(len(tss)), 0, 0, 0}
	for _, ts := range tss {
		l := 8 + len(ts.StartAddr) + len(ts.EndAddr)
		b = append(b, ts.Type, ts.Protocol, byte(l>>8), byte(l))
		b = binary.BigEndian.AppendUint16(b, ts.StartPort)
		b = binary.BigEndian.AppendUint16(b, ts.EndPort)
		b = append(b, ts.StartAddr...)
		b = append(b, ts.EndAddr...)
	}
	return b
}

// Identification is an ID payload: its type (1 IPv4, 2 FQDN, 3 RFC822, 5 IPv6, 9 DER_ASN1_DN, 11 KEY_ID)
// and data. IKEv1 carries the protocol and port where IKEv2 has reserved bytes.
type Identification struct {
	Type     uint8
	Protocol uint8 // IKEv1
	Port     uint16
	Data     []byte
}

// ParseID decodes an ID payload body.
func ParseID(b []byte) (Identification, error) {
	if len(b) < 4 {
		return Identification{}, malformed("ID payload body %d bytes, want at least 4", len(b))
	}
	return Identification{Type: b[0], Protocol: b[1], Port: binary.BigEndian.Uint16(b[2:]), Data: b[4:]}, nil
}

// Fragment is an IKEv2 SKF payload's header (RFC 7383 2.5) or an IKEv1 fragment payload's
// (type 132: fragment ID, number, last flag).
type Fragment struct {
	ID     uint16 // IKEv1
	Number uint16
	Total  uint16 // IKEv2
	Last   bool
	Data   []byte
}

// ParseFragment decodes an SKF (IKEv2) or FRAG (IKEv1) payload body.
func ParseFragment(version int, b []byte) (Fragment, error) {
	if len(b) < 4 {
		return Fragment{}, malformed("fragment payload body %d bytes, want at least 4", len(b))
	}
	if version == 1 {
		return Fragment{ID: binary.BigEndian.Uint16(b), Number: uint16(b[2]), Last: b[3]&1 != 0, Data: b[4:]}, nil
	}
	f := Fragment{Number: binary.BigEndian.Uint16(b), Total: binary.BigEndian.Uint16(b[2:]), Data: b[4:]}
	f.Last = f.Number == f.Total
	return f, nil
}

// validatePayload checks the structure of the payload bodies we read, so a malformed message
// is an error at decode time rather than a surprise later.
func validatePayload(version int, p Payload) error {
	if (version == 1) != (p.Type < PayloadSA || p.Type > 54) {
		return nil // the other version's number: nothing of ours to check
	}
	b := p.Body
	var err error
	switch p.Type {
	case PayloadSA:
		if version == 2 {
			err = validateSA(2, b)
		}
	case PayloadSAv1:
		if version == 1 {
			err = validateSA(1, b)
		}
	case PayloadNotify, PayloadNotifyV1:
		_, err = ParseNotify(version, b)
	case PayloadDelete, PayloadDeleteV1:
		err = validateDelete(version, b)
	case PayloadTSi, PayloadTSr:
		err = walkTS(b, nil)
	case PayloadIDi, PayloadIDr, PayloadIDv1:
		_, err = ParseID(b)
	case PayloadKE:
		_, err = KEGroup(b)
	case PayloadSKF, PayloadFragV1:
		_, err = ParseFragment(version, b)
	case PayloadAUTH:
		if len(b) < 4 {
			err = malformed("AUTH payload body %d bytes, want at least 4", len(b))
		}
	case PayloadCERT, PayloadCERTREQ, PayloadCERTv1, PayloadCRv1:
		if len(b) < 1 {
			err = malformed("%s payload has no encoding byte", p.Type)
		}
	}
	if err != nil {
		return fmt.Errorf("%s payload: %w", p.Type, err)
	}
	return nil
}
