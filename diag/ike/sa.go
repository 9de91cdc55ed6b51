package ike

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// SA is a Security Association payload: proposals of transforms (RFC 7296 3.3; RFC 2408 3.4-3.6).
// IKEv1 adds the DOI and situation words in front of the proposals.
type SA struct {
	DOI       uint32 // IKEv1 only (1 = IPsec)
	Situation uint32 // IKEv1 only
	Proposals []Proposal
}

// Proposal is one proposal: a protocol (1 IKE/ISAKMP, 2 AH, 3 ESP), its SPI and transforms.
type Proposal struct {
	Number     uint8
	Protocol   uint8
	SPI        []byte
	Transforms []Transform
}

// Transform is one transform. In IKEv2 Type is ENCR(1)/PRF(2)/INTEG(3)/KE(4)/ESN(5) and ID the
// algorithm; in IKEv1 Type is 0, Number the transform number and ID the transform ID
// (KEY_IKE for phase 1, the ESP algorithm for phase 2) with the algorithms in attributes.
type Transform struct {
	Number     uint8 // IKEv1
	Type       uint8 // IKEv2
	ID         uint16
	Attributes []Attribute
}

// Attribute is a data attribute in TV form (Basic, Value) or TLV form (Data).
type Attribute struct {
	Type  uint16 // without the AF bit
	Basic bool
	Value uint16
	Data  []byte
}

// Uint returns the attribute's value as a number (a TLV value of up to 8 bytes, big-endian).
func (a Attribute) Uint() uint64 {
	if a.Basic {
		return uint64(a.Value)
	}
	var v uint64
	for i, b := range a.Data {
		if i == 8 {
			break
		}
		v = v<<8 | uint64(b)
	}
	return v
}

// ParseSA decodes the body of an SA payload (after the 4-byte generic header).
func ParseSA(version int, b []byte) (*SA, error) {
	sa := &SA{}
	if version == 1 {
		if len(b) < 8 {
			return nil, malformed("SA payload body %d bytes, want at least 8", len(b))
		}
		sa.DOI, sa.Situation = binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])
		b = b[8:]
	}
	err := walkSA(version, b, func(p Proposal) { sa.Proposals = append(sa.Proposals, p) }, true)
	if err != nil {
		return nil, err
	}
	return sa, nil
}

// validateSA checks the structure of an SA payload body without keeping anything.
func validateSA(version int, b []byte) error {
	if version == 1 {
		if len(b) < 8 {
			return malformed("SA payload body %d bytes, want at least 8", len(b))
		}
		b = b[8:]
	}
	return walkSA(version, b, nil, false)
}

// walkSA walks the proposal substructures; keep says whether to copy them out to fn.
func walkSA(version int, b []byte, fn func(Proposal), keep bool) error {
	for len(b) > 0 {
		if len(b) < 8 {
			return malformed("proposal header %d bytes, want 8", len(b))
		}
		more := b[0]
		plen := int(binary.BigEndian.Uint16(b[2:4]))
		if plen < 8 || plen > len(b) {
			return malformed("proposal length %d with %d bytes left", plen, len(b))
		}
		spiSize, nt := int(b[6]), int(b[7])
		if 8+spiSize > plen {
			return malformed("proposal SPI size %d exceeds proposal length %d", spiSize, plen)
		}
		p := Proposal{Number: b[4], Protocol: b[5]}
		if keep {
			p.SPI = append([]byte(nil), b[8:8+spiSize]...)
		}
		tb := b[8+spiSize : plen]
		for i := 0; i < nt; i++ {
			t, rest, err := parseTransform(version, tb, keep)
			if err != nil {
				return err
			}
			if keep {
				p.Transforms = append(p.Transforms, t)
			}
			tb = rest
		}
		if len(tb) != 0 {
			return malformed("proposal %d has %d bytes after its %d transforms", p.Number, len(tb), nt)
		}
		if fn != nil {
			fn(p)
		}
		b = b[plen:]
		if more == 0 {
			if len(b) != 0 {
				return malformed("%d bytes after the last proposal", len(b))
			}
			break
		}
	}
	return nil
}

func parseTransform(version int, b []byte, keep bool) (Transform, []byte, error) {
	if len(b) < 8 {
		return Transform{}, nil, malformed("transform header %d bytes, want 8", len(b))
	}
	tlen := int(binary.BigEndian.Uint16(b[2:4]))
	if tlen < 8 || tlen > len(b) {
		return Transform{}, nil, malformed("transform length %d with %d bytes left", tlen, len(b))
	}
	var t Transform
	if version == 1 {
		t.Number, t.ID = b[4], uint16(b[5])
	} else {
		t.Type, t.ID = b[4], binary.BigEndian.Uint16(b[6:8])
	}
	ab := b[8:tlen]
	for len(ab) > 0 {
		if len(ab) < 4 {
			return Transform{}, nil, malformed("attribute header %d bytes, want 4", len(ab))
		}
		typ := binary.BigEndian.Uint16(ab)
		a := Attribute{Type: typ & 0x7fff, Basic: typ&0x8000 != 0}
		if a.Basic {
			a.Value = binary.BigEndian.Uint16(ab[2:])
			ab = ab[4:]
		} else {
			n := int(binary.BigEndian.Uint16(ab[2:]))
			if 4+n > len(ab) {
				return Transform{}, nil, malformed("attribute length %d with %d bytes left", n, len(ab)-4)
			}
			if keep {
				a.Data = append([]byte{}, ab[4:4+n]...)
			}
			ab = ab[4+n:]
		}
		if keep {
			t.Attributes = append(t.Attributes, a)
		}
	}
	return t, b[tlen:], nil
}

// Marshal encodes the SA payload body for IKE version v.
func (sa *SA) Marshal(version int) []byte {
	var b []byte
	if version == 1 {
		b = binary.BigEndian.AppendUint32(b, sa.DOI)
		b = binary.BigEndian.AppendUint32(b, sa.Situation)
	}
	for i, p := range sa.Proposals {
		start := len(b)
		more := byte(2)
		if i == len(sa.Proposals)-1 {
			more = 0
		}
		b = append(b, more, 0, 0, 0, p.Number, p.Protocol, byte(len(p.SPI)), byte(len(p.Transforms)))
		b = append(b, p.SPI...)
		for j, t := range p.Transforms {
			ts := len(b)
			tmore := byte(3)
			if j == len(p.Transforms)-1 {
				tmore = 0
			}
			if version == 1 {
				b = append(b, tmore, 0, 0, 0, t.Number, byte(t.ID), 0, 0)
			} else {
				b = append(b, tmore, 0, 0, 0, t.Type, 0, byte(t.ID>>8), byte(t.ID))
			}
			for _, a := range t.Attributes {
				if a.Basic {
					b = binary.BigEndian.AppendUint16(b, a.Type|0x8000)
					b = binary.BigEndian.AppendUint16(b, a.Value)
				} else {
					b = binary.BigEndian.AppendUint16(b, a.Type)
					b = binary.BigEndian.AppendUint16(b, uint16(len(a.Data)))
					b = append(b, a.Data...)
				}
			}
			binary.BigEndian.PutUint16(b[ts+2:], uint16(len(b)-ts))
		}
		binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	}
	return b
}

// Words describes each proposal the way strongSwan's proposal strings do,
// e.g. "IKE:aes256/sha256/prfsha256/modp2048" or "ESP:aes256/sha256/modp2048/noesn".
func (sa *SA) Words(version int) []string {
	var out []string
	for _, p := range sa.Proposals {
		var algs []string
		for _, t := range p.Transforms {
			if version == 1 {
				algs = append(algs, v1TransformWords(p.Protocol, t)...)
			} else {
				algs = append(algs, v2TransformWord(t))
			}
		}
		out = append(out, protocolName(p.Protocol)+":"+strings.Join(algs, "/"))
	}
	return out
}

func protocolName(p uint8) string {
	switch p {
	case 1:
		return "IKE"
	case 2:
		return "AH"
	case 3:
		return "ESP"
	}
	return fmt.Sprintf("PROTO%d", p)
}

// keyLength returns the key-length attribute (IKEv2 type 14, IKEv1 phase 1 class 14, phase 2 class 6).
func keyLength(t Transform, attr uint16) int {
	for _, a := range t.Attributes {
		if a.Type == attr {
			return int(a.Uint())
		}
	}
	return 0
}

func v2TransformWord(t Transform) string {
	switch t.Type {
	case 1:
		return encrName(v2Encr, t.ID, keyLength(t, 14))
	case 2:
		return lookup(v2PRF, t.ID, "prf")
	case 3:
		return lookup(v2Integ, t.ID, "integ")
	case 4:
		return GroupName(t.ID)
	case 5:
		if t.ID == 1 {
			return "esn"
		}
		return "noesn"
	}
	return fmt.Sprintf("type%d-%d", t.Type, t.ID)
}

func v1TransformWords(proto uint8, t Transform) []string {
	var w []string
	if proto == 1 { // ISAKMP: algorithms are attributes of KEY_IKE
		var enc uint16
		klen := keyLength(t, 14)
		life := ""
		for _, a := range t.Attributes {
			switch a.Type {
			case 1:
				enc = uint16(a.Uint())
			case 2:
				w = append(w, lookup(v1Hash, uint16(a.Uint()), "hash"))
			case 3:
				w = append(w, lookup(v1AuthMethod, uint16(a.Uint()), "auth"))
			case 4:
				w = append(w, GroupName(uint16(a.Uint())))
			case 12:
				life = fmt.Sprintf("life%ds", a.Uint())
			}
		}
		w = append([]string{encrName(v1Encr, enc, klen)}, w...)
		if life != "" {
			w = append(w, life)
		}
		return w
	}
	w = append(w, encrName(v1ESP, t.ID, keyLength(t, 6)))
	for _, a := range t.Attributes {
		switch a.Type {
		case 5:
			w = append(w, lookup(v1AuthAlg, uint16(a.Uint()), "auth"))
		case 3:
			w = append(w, GroupName(uint16(a.Uint())))
		case 2:
			w = append(w, fmt.Sprintf("life%d", a.Uint()))
		}
	}
	return w
}

func encrName(table map[uint16]string, id uint16, klen int) string {
	n := lookup(table, id, "encr")
	if klen > 0 && strings.HasPrefix(n, "aes") {
		if rest, ok := strings.CutPrefix(n, "aes"); ok {
			return fmt.Sprintf("aes%d%s", klen, rest)
		}
	}
	if klen > 0 && n == "camellia" {
		return fmt.Sprintf("camellia%d", klen)
	}
	return n
}

func lookup(table map[uint16]string, id uint16, kind string) string {
	if n, ok := table[id]; ok {
		return n
	}
	return fmt.Sprintf("%s%d", kind, id)
}

// GroupName names a Diffie-Hellman / key exchange group (the same numbers in IKEv1 and IKEv2).
func GroupName(g uint16) string { return lookup(groups, g, "group") }

var groups = map[uint16]string{
	0: "none", 1: "modp768", 2: "modp1024", 5: "modp1536", 14: "modp2048", 15: "modp3072", 16: "modp4096",
	17: "modp6144", 18: "modp8192", 19: "ecp256", 20: "ecp384", 21: "ecp521", 22: "modp1024s160",
	23: "modp2048s224", 24: "modp2048s256", 25: "ecp192", 26: "ecp224", 27: "ecp224bp", 28: "ecp256bp",
	29: "ecp384bp", 30: "ecp512bp", 31: "curve25519", 32: "curve448", 35: "mlkem512", 36: "mlkem768", 37: "mlkem1024",
}

var v2Encr = map[uint16]string{
	1: "desiv64", 2: "des", 3: "3des", 5: "idea", 6: "cast", 7: "blowfish", 11: "null", 12: "aes",
	13: "aesctr", 14: "aesccm8", 15: "aesccm12", 16: "aesccm16", 18: "aesgcm8", 19: "aesgcm12", 20: "aesgcm16",
	21: "nullauthaesgmac", 23: "camellia", 24: "camelliactr", 28: "chacha20poly1305",
}

var v2PRF = map[uint16]string{
	1: "prfmd5", 2: "prfsha1", 3: "prftiger", 4: "prfaesxcbc", 5: "prfsha256", 6: "prfsha384", 7: "prfsha512", 8: "prfaescmac",
}

var v2Integ = map[uint16]string{
	0: "none", 1: "md5", 2: "sha1", 3: "des-mac", 4: "kpdk-md5", 5: "aesxcbc", 6: "md5_128", 7: "sha1_160",
	8: "aescmac", 9: "aes128gmac", 10: "aes192gmac", 11: "aes256gmac", 12: "sha256", 13: "sha384", 14: "sha512",
}

var v1Encr = map[uint16]string{
	1: "des", 2: "idea", 3: "blowfish", 4: "rc5", 5: "3des", 6: "cast", 7: "aes", 8: "camellia",
}

var v1Hash = map[uint16]string{1: "md5", 2: "sha1", 3: "tiger", 4: "sha256", 5: "sha384", 6: "sha512"}

var v1AuthMethod = map[uint16]string{
	1: "psk", 2: "dss", 3: "rsasig", 4: "rsaenc", 5: "rsaenc-rev", 9: "ecdsa256", 10: "ecdsa384", 11: "ecdsa521",
	64221: "hybrid-rsa", 65001: "xauth-psk", 65003: "xauth-rsa",
}

var v1ESP = map[uint16]string{
	2: "des", 3: "3des", 6: "cast", 7: "blowfish", 11: "null", 12: "aes", 13: "aesctr", 14: "aesccm8",
	15: "aesccm12", 16: "aesccm16", 18: "aesgcm8", 19: "aesgcm12", 20: "aesgcm16", 22: "camellia",
}

var v1AuthAlg = map[uint16]string{
	1: "md5", 2: "sha1", 3: "des-mac", 4: "kpdk", 5: "sha256", 6: "sha384", 7: "sha512", 9: "aesxcbc",
}
