package ike

import (
	"encoding/binary"
	"fmt"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Message is one IKE message, IKEv1 (ISAKMP, RFC 2408) or IKEv2 (RFC 7296), as a gopacket layer.
// The header is the same in both versions:
//
//	                     1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       IKE SA Initiator's SPI                  |
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       IKE SA Responder's SPI                  |
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                          Message ID                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                            Length                             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// followed by a chain of payloads, each with a generic header (next payload, critical bit or
// reserved, length). IKEv2 stops at SK or SKF: what follows is ciphertext. An IKEv1 message with
// the E flag has its whole chain encrypted; its bytes are kept in Encrypted and not read.
type Message struct {
	layers.BaseLayer
	InitiatorSPI uint64
	ResponderSPI uint64
	NextPayload  PayloadType // first payload (for an encrypted IKEv1 message, the first encrypted one)
	MajorVersion uint8
	MinorVersion uint8
	ExchangeType uint8
	Flags        uint8
	MessageID    uint32
	Length       uint32
	Payloads     []Payload
	Encrypted    []byte // IKEv1 with FlagEncryption: the encrypted payload chain
}

// Header flags. IKEv1: E(ncryption), C(ommit), A(uthentication only). IKEv2: I(nitiator), V(ersion), R(esponse).
const (
	FlagEncryption uint8 = 0x01
	FlagCommit     uint8 = 0x02
	FlagAuthOnly   uint8 = 0x04
	FlagInitiator  uint8 = 0x08
	FlagVersion    uint8 = 0x10
	FlagResponse   uint8 = 0x20
)

// HeaderLen is the size of the IKE header.
const HeaderLen = 28

func (m *Message) LayerType() gopacket.LayerType     { return LayerTypeIKE }
func (m *Message) CanDecode() gopacket.LayerClass    { return LayerTypeIKE }
func (m *Message) NextLayerType() gopacket.LayerType { return gopacket.LayerTypePayload }

// Version is the major version, 1 or 2.
func (m *Message) Version() int { return int(m.MajorVersion) }

// IsInitiator reports the IKEv2 I flag: the sender is the original initiator of the IKE SA.
func (m *Message) IsInitiator() bool { return m.Flags&FlagInitiator != 0 }

// IsResponse reports the IKEv2 R flag.
func (m *Message) IsResponse() bool { return m.Flags&FlagResponse != 0 }

// IsEncrypted reports an IKEv1 message with the E flag, or an IKEv2 message whose chain ends in SK or SKF.
func (m *Message) IsEncrypted() bool {
	if m.MajorVersion == 1 {
		return m.Flags&FlagEncryption != 0
	}
	if n := len(m.Payloads); n > 0 {
		t := m.Payloads[n-1].Type
		return t == PayloadSK || t == PayloadSKF
	}
	return false
}

// Decode decodes one IKE message (the UDP payload after any non-ESP marker). The message keeps
// sub-slices of data.
func Decode(data []byte) (*Message, error) {
	m := &Message{}
	if err := m.DecodeFromBytes(data, gopacket.NilDecodeFeedback); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeFromBytes decodes an IKE message, reusing m's slices. Every length is checked; a message
// shorter than its Length field, a payload running past the end or a malformed payload we read
// (SA, Notify, Delete, TS, ID, KE, fragments) is an error wrapping ErrMalformed.
func (m *Message) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	err := m.decode(data, false)
	if err != nil && len(data) < HeaderLen || err != nil && int(m.Length) > len(data) {
		df.SetTruncated()
	}
	return err
}

// decode does the work of DecodeFromBytes. lenient is for messages quoted in ICMP errors: it keeps
// the payloads that fit and stops quietly where the quote ends.
func (m *Message) decode(data []byte, lenient bool) error {
	m.Payloads = m.Payloads[:0]
	m.Encrypted = nil
	if len(data) < HeaderLen {
		return malformed("%d bytes, want at least %d for the header", len(data), HeaderLen)
	}
	m.InitiatorSPI = binary.BigEndian.Uint64(data[0:8])
	m.ResponderSPI = binary.BigEndian.Uint64(data[8:16])
	m.NextPayload = PayloadType(data[16])
	m.MajorVersion, m.MinorVersion = data[17]>>4, data[17]&0x0f
	m.ExchangeType, m.Flags = data[18], data[19]
	m.MessageID = binary.BigEndian.Uint32(data[20:24])
	m.Length = binary.BigEndian.Uint32(data[24:28])
	if m.MajorVersion != 1 && m.MajorVersion != 2 {
		return malformed("version %d.%d", m.MajorVersion, m.MinorVersion)
	}
	if m.Length < HeaderLen {
		return malformed("length field %d is shorter than the header", m.Length)
	}
	end := int(m.Length)
	if end > len(data) {
		if !lenient {
			return malformed("length field %d but only %d bytes", m.Length, len(data))
		}
		end = len(data)
	}
	m.Contents, m.Payload = data[:end], data[end:]
	body := data[HeaderLen:end]
	if m.MajorVersion == 1 && m.Flags&FlagEncryption != 0 {
		m.Encrypted = body
		return nil
	}
	next := m.NextPayload
	for next != PayloadNone {
		if len(body) < 4 {
			if lenient {
				return nil
			}
			return malformed("%s payload header needs 4 bytes, %d left", next, len(body))
		}
		plen := int(binary.BigEndian.Uint16(body[2:4]))
		if plen < 4 {
			return malformed("%s payload length %d", next, plen)
		}
		if plen > len(body) {
			if lenient {
				return nil
			}
			return malformed("%s payload length %d, %d bytes left", next, plen, len(body))
		}
		p := Payload{Type: next, Critical: body[1]&0x80 != 0 && m.MajorVersion == 2, Body: body[4:plen]}
		following := PayloadType(body[0])
		encrypted := m.MajorVersion == 2 && (next == PayloadSK || next == PayloadSKF)
		if encrypted {
			p.Inner = following
			following = PayloadNone
		}
		if err := validatePayload(int(m.MajorVersion), p); err != nil {
			return fmt.Errorf("%w (payload %d)", err, len(m.Payloads)+1)
		}
		m.Payloads = append(m.Payloads, p)
		body = body[plen:]
		next = following
		if encrypted && len(body) != 0 {
			return malformed("%d bytes after the %s payload", len(body), p.Type)
		}
	}
	if len(body) != 0 && !lenient {
		return malformed("%d bytes after the last payload", len(body))
	}
	return nil
}

// SerializeTo writes the message: header, then the payload chain (or the IKEv1 ciphertext).
// Length and the next-payload fields are computed; opts.FixLengths is implied.
func (m *Message) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	size := HeaderLen + len(m.Encrypted)
	for _, p := range m.Payloads {
		size += 4 + len(p.Body)
	}
	if size > 0xffffffff {
		return fmt.Errorf("IKE message of %d bytes", size)
	}
	buf, err := b.PrependBytes(size)
	if err != nil {
		return err
	}
	next := m.NextPayload
	if len(m.Payloads) > 0 {
		next = m.Payloads[0].Type
	}
	binary.BigEndian.PutUint64(buf[0:], m.InitiatorSPI)
	binary.BigEndian.PutUint64(buf[8:], m.ResponderSPI)
	buf[16] = byte(next)
	buf[17] = m.MajorVersion<<4 | m.MinorVersion&0x0f
	buf[18], buf[19] = m.ExchangeType, m.Flags
	binary.BigEndian.PutUint32(buf[20:], m.MessageID)
	binary.BigEndian.PutUint32(buf[24:], uint32(size))
	off := HeaderLen
	off += copy(buf[off:], m.Encrypted)
	for i, p := range m.Payloads {
		following := PayloadNone
		if i+1 < len(m.Payloads) {
			following = m.Payloads[i+1].Type
		}
		if m.MajorVersion == 2 && (p.Type == PayloadSK || p.Type == PayloadSKF) {
			following = p.Inner
		}
		plen := 4 + len(p.Body)
		if plen > 0xffff {
			return fmt.Errorf("%s payload of %d bytes", p.Type, plen)
		}
		buf[off] = byte(following)
		buf[off+1] = 0
		if p.Critical {
			buf[off+1] = 0x80
		}
		binary.BigEndian.PutUint16(buf[off+2:], uint16(plen))
		copy(buf[off+4:], p.Body)
		off += plen
	}
	return nil
}

// Marshal returns the encoded message.
func (m *Message) Marshal() ([]byte, error) {
	sb := gopacket.NewSerializeBuffer()
	if err := m.SerializeTo(sb, gopacket.SerializeOptions{}); err != nil {
		return nil, err
	}
	return sb.Bytes(), nil
}

func decodeIKE(data []byte, p gopacket.PacketBuilder) error {
	m := &Message{}
	if err := m.DecodeFromBytes(data, p); err != nil {
		return err
	}
	p.AddLayer(m)
	return p.NextDecoder(gopacket.LayerTypePayload)
}
