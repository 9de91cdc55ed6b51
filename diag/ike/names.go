package ike

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Name tables for IKEv1 (RFC 2407/2408/2409, 3706, 3947) and IKEv2 (RFC 7296 and the IANA
// "IKEv2 Parameters" registry). Names use the registries' spelling with underscores, which is
// also how the logs and the classifier speak of them (NO_PROPOSAL_CHOSEN, INVALID_ID_INFORMATION).

// ExchangeName names exchange type t of IKE version v ("IKE_AUTH", "MAIN_MODE").
func ExchangeName(v int, t uint8) string {
	if v == 1 {
		if n, ok := exchangesV1[t]; ok {
			return n
		}
	} else if n, ok := exchangesV2[t]; ok {
		return n
	}
	return fmt.Sprintf("EXCHANGE_%d", t)
}

var exchangesV1 = map[uint8]string{
	0: "NONE", 1: "BASE", 2: "MAIN_MODE", 3: "AUTH_ONLY", 4: "AGGRESSIVE", 5: "INFORMATIONAL_V1",
	6: "TRANSACTION", 32: "QUICK_MODE", 33: "NEW_GROUP_MODE",
}

var exchangesV2 = map[uint8]string{
	34: "IKE_SA_INIT", 35: "IKE_AUTH", 36: "CREATE_CHILD_SA", 37: "INFORMATIONAL",
	38: "IKE_SESSION_RESUME", 43: "IKE_INTERMEDIATE", 44: "IKE_FOLLOWUP_KE",
}

// NotifyName names notify message type t of IKE version v. Types 1-16383 are errors in both versions.
func NotifyName(v int, t uint16) string {
	if v == 1 {
		if n, ok := notifiesV1[t]; ok {
			return n
		}
	} else if n, ok := notifiesV2[t]; ok {
		return n
	}
	if t < 16384 {
		return fmt.Sprintf("ERROR_%d", t)
	}
	return fmt.Sprintf("STATUS_%d", t)
}

// NotifyIsError reports whether a notify type is an error (RFC 7296 3.10.1, RFC 2408 3.14.1).
func NotifyIsError(t uint16) bool { return t > 0 && t < 16384 }

var notifiesV1 = map[uint16]string{
	1: "INVALID_PAYLOAD_TYPE", 2: "DOI_NOT_SUPPORTED", 3: "SITUATION_NOT_SUPPORTED", 4: "INVALID_COOKIE",
	5: "INVALID_MAJOR_VERSION", 6: "INVALID_MINOR_VERSION", 7: "INVALID_EXCHANGE_TYPE", 8: "INVALID_FLAGS",
	9: "INVALID_MESSAGE_ID", 10: "INVALID_PROTOCOL_ID", 11: "INVALID_SPI", 12: "INVALID_TRANSFORM_ID",
	13: "ATTRIBUTES_NOT_SUPPORTED", 14: "NO_PROPOSAL_CHOSEN", 15: "BAD_PROPOSAL_SYNTAX", 16: "PAYLOAD_MALFORMED",
	17: "INVALID_KEY_INFORMATION", 18: "INVALID_ID_INFORMATION", 19: "INVALID_CERT_ENCODING",
	20: "INVALID_CERTIFICATE", 21: "CERT_TYPE_UNSUPPORTED", 22: "INVALID_CERT_AUTHORITY",
	23: "INVALID_HASH_INFORMATION", 24: "AUTHENTICATION_FAILED", 25: "INVALID_SIGNATURE",
	26: "ADDRESS_NOTIFICATION", 27: "NOTIFY_SA_LIFETIME", 28: "CERTIFICATE_UNAVAILABLE",
	29: "UNSUPPORTED_EXCHANGE_TYPE", 30: "UNEQUAL_PAYLOAD_LENGTHS",
	16384: "CONNECTED", 24576: "RESPONDER_LIFETIME", 24577: "REPLAY_STATUS", 24578: "INITIAL_CONTACT",
	36136: "R_U_THERE", 36137: "R_U_THERE_ACK",
}

var notifiesV2 = map[uint16]string{
	1: "UNSUPPORTED_CRITICAL_PAYLOAD", 4: "INVALID_IKE_SPI", 5: "INVALID_MAJOR_VERSION", 7: "INVALID_SYNTAX",
	9: "INVALID_MESSAGE_ID", 11: "INVALID_SPI", 14: "NO_PROPOSAL_CHOSEN", 17: "INVALID_KE_PAYLOAD",
	24: "AUTHENTICATION_FAILED", 34: "SINGLE_PAIR_REQUIRED", 35: "NO_ADDITIONAL_SAS",
	36: "INTERNAL_ADDRESS_FAILURE", 37: "FAILED_CP_REQUIRED", 38: "TS_UNACCEPTABLE", 39: "INVALID_SELECTORS",
	40: "UNACCEPTABLE_ADDRESSES", 41: "UNEXPECTED_NAT_DETECTED", 42: "USE_ASSIGNED_HoA", 43: "TEMPORARY_FAILURE",
	44: "CHILD_SA_NOT_FOUND", 45: "INVALID_GROUP_ID", 46: "AUTHORIZATION_FAILED", 47: "STATE_NOT_FOUND",
	16384: "INITIAL_CONTACT", 16385: "SET_WINDOW_SIZE", 16386: "ADDITIONAL_TS_POSSIBLE", 16387: "IPCOMP_SUPPORTED",
	16388: "NAT_DETECTION_SOURCE_IP", 16389: "NAT_DETECTION_DESTINATION_IP", 16390: "COOKIE",
	16391: "USE_TRANSPORT_MODE", 16392: "HTTP_CERT_LOOKUP_SUPPORTED", 16393: "REKEY_SA",
	16394: "ESP_TFC_PADDING_NOT_SUPPORTED", 16395: "NON_FIRST_FRAGMENTS_ALSO", 16396: "MOBIKE_SUPPORTED",
	16397: "ADDITIONAL_IP4_ADDRESS", 16398: "ADDITIONAL_IP6_ADDRESS", 16399: "NO_ADDITIONAL_ADDRESSES",
	16400: "UPDATE_SA_ADDRESSES", 16401: "COOKIE2", 16402: "NO_NATS_ALLOWED", 16403: "AUTH_LIFETIME",
	16404: "MULTIPLE_AUTH_SUPPORTED", 16405: "ANOTHER_AUTH_FOLLOWS", 16406: "REDIRECT_SUPPORTED",
	16407: "REDIRECT", 16408: "REDIRECTED_FROM", 16409: "TICKET_LT_OPAQUE", 16410: "TICKET_REQUEST",
	16411: "TICKET_ACK", 16412: "TICKET_NACK", 16413: "TICKET_OPAQUE", 16414: "LINK_ID", 16415: "USE_WESP_MODE",
	16416: "ROHC_SUPPORTED", 16417: "EAP_ONLY_AUTHENTICATION", 16418: "CHILDLESS_IKEV2_SUPPORTED",
	16419: "QUICK_CRASH_DETECTION", 16420: "IKEV2_MESSAGE_ID_SYNC_SUPPORTED",
	16421: "IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED", 16422: "IKEV2_MESSAGE_ID_SYNC", 16423: "IPSEC_REPLAY_COUNTER_SYNC",
	16424: "SECURE_PASSWORD_METHODS", 16425: "PSK_PERSIST", 16426: "PSK_CONFIRM", 16427: "ERX_SUPPORTED",
	16428: "IFOM_CAPABILITY", 16429: "SENDER_REQUEST_ID", 16430: "IKEV2_FRAGMENTATION_SUPPORTED",
	16431: "SIGNATURE_HASH_ALGORITHMS", 16432: "CLONE_IKE_SA_SUPPORTED", 16433: "CLONE_IKE_SA", 16434: "PUZZLE",
	16435: "USE_PPK", 16436: "PPK_IDENTITY", 16437: "NO_PPK_AUTH", 16438: "INTERMEDIATE_EXCHANGE_SUPPORTED",
	16439: "IP4_ALLOWED", 16440: "IP6_ALLOWED", 16441: "ADDITIONAL_KEY_EXCHANGE", 16442: "USE_AGGFRAG",
}

// PayloadType is the "next payload" number of an IKE payload.
type PayloadType uint8

// Payload types of IKEv1 (RFC 2408 3.1, RFC 3947) and IKEv2 (RFC 7296 3.2, RFC 7383).
const (
	PayloadNone PayloadType = 0
	// IKEv1
	PayloadSAv1       PayloadType = 1
	PayloadProposalV1 PayloadType = 2
	PayloadTransform  PayloadType = 3
	PayloadKEv1       PayloadType = 4
	PayloadIDv1       PayloadType = 5
	PayloadCERTv1     PayloadType = 6
	PayloadCRv1       PayloadType = 7
	PayloadHASH       PayloadType = 8
	PayloadSIG        PayloadType = 9
	PayloadNoncev1    PayloadType = 10
	PayloadNotifyV1   PayloadType = 11
	PayloadDeleteV1   PayloadType = 12
	PayloadVendorV1   PayloadType = 13
	PayloadAttrV1     PayloadType = 14 // mode config
	PayloadNATD       PayloadType = 20
	PayloadNATOA      PayloadType = 21
	PayloadNATDDraft  PayloadType = 130
	PayloadNATOADraft PayloadType = 131
	PayloadFragV1     PayloadType = 132 // Cisco/strongSwan IKEv1 fragmentation
	// IKEv2
	PayloadSA      PayloadType = 33
	PayloadKE      PayloadType = 34
	PayloadIDi     PayloadType = 35
	PayloadIDr     PayloadType = 36
	PayloadCERT    PayloadType = 37
	PayloadCERTREQ PayloadType = 38
	PayloadAUTH    PayloadType = 39
	PayloadNonce   PayloadType = 40
	PayloadNotify  PayloadType = 41
	PayloadDelete  PayloadType = 42
	PayloadVendor  PayloadType = 43
	PayloadTSi     PayloadType = 44
	PayloadTSr     PayloadType = 45
	PayloadSK      PayloadType = 46
	PayloadCP      PayloadType = 47
	PayloadEAP     PayloadType = 48
	PayloadSKF     PayloadType = 53
)

var payloadNames = map[PayloadType]string{
	1: "SA", 2: "P", 3: "T", 4: "KE", 5: "ID", 6: "CERT", 7: "CR", 8: "HASH", 9: "SIG", 10: "Nonce", 11: "N",
	12: "D", 13: "V", 14: "ATTR", 20: "NAT-D", 21: "NAT-OA", 130: "NAT-D", 131: "NAT-OA", 132: "FRAG",
	33: "SA", 34: "KE", 35: "IDi", 36: "IDr", 37: "CERT", 38: "CERTREQ", 39: "AUTH", 40: "Nonce", 41: "N",
	42: "D", 43: "V", 44: "TSi", 45: "TSr", 46: "SK", 47: "CP", 48: "EAP", 49: "GSPM", 50: "IDg", 51: "GSA",
	52: "KD", 53: "SKF", 54: "PS",
}

// String gives the short name strongSwan's logs use ("SA", "KE", "N", "SK").
func (t PayloadType) String() string {
	if n, ok := payloadNames[t]; ok {
		return n
	}
	return fmt.Sprintf("PAYLOAD_%d", uint8(t))
}

// vendorIDs maps a Vendor ID (hex) or its prefix to a name; longest prefix wins.
var vendorIDs = []struct{ prefix, name string }{
	{"afcad71368a1f1c96b8696fc77570100", "DPD"},
	{"4a131c81070358455c5728f20e95452f", "NAT-T (RFC 3947)"},
	{"90cb80913ebb696e086381b5ec427b1f", "NAT-T (draft-02\\n)"},
	{"cd60464335df21f87cfdb2fc68b6a448", "NAT-T (draft-02)"},
	{"7d9419a65310ca6f2c179d9215529d56", "NAT-T (draft-03)"},
	{"4485152d18b6bbcd0be8a8469579ddcc", "NAT-T (draft-00)"},
	{"4048b7d56ebce88525e7de7f00d6c2d3", "FRAGMENTATION"},
	{"09002689dfd6b712", "XAUTH"},
	{"12f5f28c457168a9702d9fe274cc01", "Cisco Unity"},
	{"1e2b516905991c7d7c96fcbfb587e461", "Microsoft"},
	{"882fe56d6fd20dbc2251613b2ebe5beb", "strongSwan"},
	{"f4ed19e0c114eb516faaac0ee37daf2807b4381f", "Check Point"},
	{"4f45", "Openswan/Libreswan"},
	{"1f07f70eaa6514d3b0fa96542a500100", "Cisco Copyright"},
	{"4865617274426561745f4e6f74696679", "Heartbeat Notify"},
	{"8299031757a36082c6a621de000502d7", "Juniper/NetScreen"},
	{"1d6e178f6c2c0be284985465450fe9d4", "Fortinet"},
	{"8db7a41811221660", "Palo Alto Networks"},
	{"6a7434c19d7e36348090a02334c9c805", "Microsoft (IKEv2)"},
}

// VendorName names a Vendor ID payload's data, or returns "" when it is not one we know.
func VendorName(data []byte) string {
	h := hex.EncodeToString(data)
	best := ""
	bestLen := 0
	for _, v := range vendorIDs {
		if len(v.prefix) > bestLen && strings.HasPrefix(h, v.prefix) {
			best, bestLen = v.name, len(v.prefix)
		}
	}
	return best
}
