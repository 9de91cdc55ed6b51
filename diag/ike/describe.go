package ike

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
)

// Words for what readable payloads say, used by `bot pcap decode`.

var idTypes = map[uint8]string{
	1: "ipv4", 2: "fqdn", 3: "email", 4: "ipv4-subnet", 5: "ipv6", 6: "ipv6-subnet", 7: "ipv4-range",
	8: "ipv6-range", 9: "dn", 10: "der-gn", 11: "key-id",
}

// describeID gives "fqdn peerb.example.net" or "ipv4 192.0.2.2".
func describeID(id Identification) string {
	kind := idTypes[id.Type]
	if kind == "" {
		kind = fmt.Sprintf("type%d", id.Type)
	}
	switch id.Type {
	case 1, 5:
		if a, ok := netip.AddrFromSlice(id.Data); ok {
			return kind + " " + a.String()
		}
	case 2, 3:
		return kind + " " + printable(id.Data)
	}
	return kind + " " + hex.EncodeToString(id.Data)
}

// printable keeps an identity readable and on one line.
func printable(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '.'
		}
		return r
	}, string(b))
}

func describeTS(ts TrafficSelector) string {
	from, ok1 := netip.AddrFromSlice(ts.StartAddr)
	to, ok2 := netip.AddrFromSlice(ts.EndAddr)
	if !ok1 || !ok2 {
		return fmt.Sprintf("type%d", ts.Type)
	}
	s := from.String() + "-" + to.String()
	if ts.Protocol != 0 {
		s += fmt.Sprintf(" proto %d", ts.Protocol)
	}
	if ts.StartPort != 0 || ts.EndPort != 65535 {
		s += fmt.Sprintf(" ports %d-%d", ts.StartPort, ts.EndPort)
	}
	return s
}

func describeDelete(d Delete) []string {
	if len(d.SPIs) == 0 {
		return []string{protocolName(d.Protocol)}
	}
	var out []string
	for _, spi := range d.SPIs {
		out = append(out, protocolName(d.Protocol)+" "+hex.EncodeToString(spi))
	}
	return out
}

var authMethods = map[uint8]string{1: "rsa-sig", 2: "psk", 3: "dss", 9: "ecdsa256", 10: "ecdsa384", 11: "ecdsa521", 12: "gspm", 13: "null", 14: "digital-signature"}

var certEncodings = map[uint8]string{1: "pkcs7", 4: "x509-sig", 7: "crl", 12: "hash-url-x509", 13: "hash-url-bundle"}

func describeVendor(body []byte) string {
	if n := VendorName(body); n != "" {
		return n
	}
	return hex.EncodeToString(body)
}

// describePayloads fills the words of MessageInfo from the readable payloads of m.
func describePayloads(mi *MessageInfo, m *Message) {
	v := m.Version()
	for _, pl := range m.Payloads {
		switch pl.Type {
		case PayloadVendor, PayloadVendorV1:
			mi.VendorIDs = append(mi.VendorIDs, describeVendor(pl.Body))
		case PayloadIDi, PayloadIDr, PayloadIDv1:
			if id, err := ParseID(pl.Body); err == nil {
				mi.IDs = append(mi.IDs, pl.Type.String()+" "+describeID(id))
			}
		case PayloadDelete, PayloadDeleteV1:
			if d, err := ParseDelete(v, pl.Body); err == nil {
				mi.Deletes = append(mi.Deletes, describeDelete(d)...)
			}
		case PayloadTSi, PayloadTSr:
			if tss, err := ParseTS(pl.Body); err == nil {
				for _, ts := range tss {
					mi.TrafficSelectors = append(mi.TrafficSelectors, pl.Type.String()+" "+describeTS(ts))
				}
			}
		case PayloadAUTH:
			if len(pl.Body) > 0 {
				mi.AuthMethod = lookupName(authMethods, pl.Body[0], "auth")
			}
		case PayloadCERT, PayloadCERTv1:
			if len(pl.Body) > 0 {
				mi.Certificates = append(mi.Certificates, lookupName(certEncodings, pl.Body[0], "encoding"))
			}
		}
	}
}

func lookupName(table map[uint8]string, k uint8, kind string) string {
	if n, ok := table[k]; ok {
		return n
	}
	return fmt.Sprintf("%s%d", kind, k)
}
