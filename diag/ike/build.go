package ike

import "encoding/binary"

// Payload constructors, so the lab, the tests and the generator build messages the same way.

// Payload returns the SA as a payload of IKE version v.
func (sa *SA) Payload(version int) Payload {
	t := PayloadSA
	if version == 1 {
		t = PayloadSAv1
	}
	return Payload{Type: t, Body: sa.Marshal(version)}
}

// Payload returns the notify as a payload of IKE version v.
func (n Notify) Payload(version int) Payload {
	t := PayloadNotify
	if version == 1 {
		t = PayloadNotifyV1
	}
	return Payload{Type: t, Body: n.Marshal(version)}
}

// Payload returns the delete as a payload of IKE version v.
func (d Delete) Payload(version int) Payload {
	t := PayloadDelete
	if version == 1 {
		t = PayloadDeleteV1
	}
	return Payload{Type: t, Body: d.Marshal(version)}
}

// KEPayload is an IKEv2 KE payload of a group with its public value.
func KEPayload(group uint16, public []byte) Payload {
	b := binary.BigEndian.AppendUint16(nil, group)
	return Payload{Type: PayloadKE, Body: append(append(b, 0, 0), public...)}
}

// EncryptedPayload is an IKEv2 SK payload: inner names the first payload inside the ciphertext.
func EncryptedPayload(inner PayloadType, ciphertext []byte) Payload {
	return Payload{Type: PayloadSK, Inner: inner, Body: ciphertext}
}

// FragmentPayload is an IKEv2 SKF payload (RFC 7383); inner is set on fragment 1 only.
func FragmentPayload(number, total uint16, inner PayloadType, ciphertext []byte) Payload {
	b := binary.BigEndian.AppendUint16(nil, number)
	b = binary.BigEndian.AppendUint16(b, total)
	if number != 1 {
		inner = PayloadNone
	}
	return Payload{Type: PayloadSKF, Inner: inner, Body: append(b, ciphertext...)}
}

// IKEv2Proposal is the common one-proposal IKE SA offer: encryption (with key length), PRF,
// integrity and group, e.g. IKEv2Proposal(12, 256, 5, 12, 14) for aes256-sha256-modp2048.
func IKEv2Proposal(encr, keyLen, prf, integ, group uint16) *SA {
	tr := []Transform{{Type: 1, ID: encr}, {Type: 2, ID: prf}, {Type: 3, ID: integ}, {Type: 4, ID: group}}
	if keyLen > 0 {
		tr[0].Attributes = []Attribute{{Type: 14, Basic: true, Value: keyLen}}
	}
	return &SA{Proposals: []Proposal{{Number: 1, Protocol: 1, Transforms: tr}}}
}
