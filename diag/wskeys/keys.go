// Package wskeys reads the keys an operator gives the bot (--keys FILE) and writes them as
// Wireshark's decryption tables (the esp_sa and ikev2_decryption_table UAT files), so that
// Wireshark can decrypt the ESP and IKEv2 the bot captured.
//
// The keys file has one entry a line; blank lines and lines starting with # are ignored:
//
//	esp SRC DST SPI ENCRYPTION ENC_KEY AUTHENTICATION AUTH_KEY
//	ike SPI_I SPI_R ENCRYPTION SK_EI SK_ER INTEGRITY SK_AI SK_AR
//
// SRC and DST are IP addresses (or * for any IPv4 address), SPI is the ESP SPI in hex (0x
// optional, up to 8 digits), SPI_I and SPI_R the IKE SA's 16-digit SPIs, keys are hex (0x
// optional; "-" for none with the null algorithms). The algorithm names are in ESPEncryption,
// ESPAuthentication, IKEEncryption and IKEIntegrity.
package wskeys

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// ESPEncryption maps the keys file's ESP encryption names to Wireshark's.
var ESPEncryption = map[string]string{
	"null":      "NULL",
	"3des":      "TripleDES-CBC [RFC2451]",
	"aes-cbc":   "AES-CBC [RFC3602]",
	"aes-ctr":   "AES-CTR [RFC3686]",
	"aes-gcm8":  "AES-GCM with 8 octet ICV [RFC4106]",
	"aes-gcm12": "AES-GCM with 12 octet ICV [RFC4106]",
	"aes-gcm16": "AES-GCM with 16 octet ICV [RFC4106]",
}

// ESPAuthentication maps the keys file's ESP authentication names to Wireshark's.
var ESPAuthentication = map[string]string{
	"null":       "NULL",
	"md5-96":     "HMAC-MD5-96 [RFC2403]",
	"sha1-96":    "HMAC-SHA-1-96 [RFC2404]",
	"sha256-128": "HMAC-SHA-256-128 [RFC4868]",
	"sha384-192": "HMAC-SHA-384-192 [RFC4868]",
	"sha512-256": "HMAC-SHA-512-256 [RFC4868]",
}

// IKEEncryption maps the keys file's IKEv2 encryption names to Wireshark's.
var IKEEncryption = func() map[string]string {
	m := map[string]string{"3des": "3DES [RFC2451]"}
	for _, bits := range []string{"128", "192", "256"} {
		m["aes-cbc-"+bits] = "AES-CBC-" + bits + " [RFC3602]"
		m["aes-ctr-"+bits] = "AES-CTR-" + bits + " [RFC5930]"
		for _, icv := range []string{"8", "12", "16"} {
			m["aes-gcm"+icv+"-"+bits] = "AES-GCM-" + bits + " with " + icv + " octet ICV [RFC5282]"
		}
	}
	return m
}()

// IKEIntegrity maps the keys file's IKEv2 integrity names to Wireshark's ("none" with AES-GCM).
var IKEIntegrity = map[string]string{
	"none":       "NONE [RFC4306]",
	"md5-96":     "HMAC_MD5_96 [RFC2403]",
	"sha1-96":    "HMAC_SHA1_96 [RFC2404]",
	"sha256-128": "HMAC_SHA2_256_128 [RFC4868]",
	"sha384-192": "HMAC_SHA2_384_192 [RFC4868]",
	"sha512-256": "HMAC_SHA2_512_256 [RFC4868]",
}

// ESP is one ESP SA: addresses, SPI, algorithms (Wireshark's names) and keys (hex).
type ESP struct {
	Src, Dst       string
	SPI            uint32
	Encryption     string
	EncKey         string
	Authentication string
	AuthKey        string
	IPv6           bool
}

// IKE is one IKEv2 SA: SPIs, algorithms (Wireshark's names) and keys (hex).
type IKE struct {
	SPII, SPIR string
	Encryption string
	SKei, SKer string
	Integrity  string
	SKai, SKar string
}

// Keys is what a keys file holds.
type Keys struct {
	ESP []ESP
	IKE []IKE
}

// maxLine bounds one line of the keys file.
const maxLine = 4096

// Parse reads a keys file. The error names the line and what is wrong with it.
func Parse(r io.Reader) (*Keys, error) {
	k := &Keys{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxLine)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		var err error
		switch f[0] {
		case "esp":
			err = k.addESP(f[1:])
		case "ike":
			err = k.addIKE(f[1:])
		default:
			err = fmt.Errorf("entry %q is neither esp nor ike", f[0])
		}
		if err != nil {
			return nil, fmt.Errorf("keys line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if len(k.ESP)+len(k.IKE) == 0 {
		return nil, fmt.Errorf("keys: no esp or ike entry")
	}
	return k, nil
}

func (k *Keys) addESP(f []string) error {
	if len(f) != 7 {
		return fmt.Errorf("esp wants SRC DST SPI ENCRYPTION ENC_KEY AUTHENTICATION AUTH_KEY (7 fields), got %d", len(f))
	}
	var e ESP
	var v6s, v6d bool
	var err error
	if e.Src, v6s, err = address(f[0]); err != nil {
		return err
	}
	if e.Dst, v6d, err = address(f[1]); err != nil {
		return err
	}
	if f[0] != "*" && f[1] != "*" && v6s != v6d {
		return fmt.Errorf("source %s and destination %s are not of one IP version", f[0], f[1])
	}
	e.IPv6 = v6s || v6d
	spi, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(f[2]), "0x"), 16, 32)
	if err != nil {
		return fmt.Errorf("SPI %q is not up to 8 hex digits", f[2])
	}
	e.SPI = uint32(spi)
	if e.Encryption, err = algorithm(ESPEncryption, "ESP encryption", f[3]); err != nil {
		return err
	}
	if e.EncKey, err = key(f[4], f[3] == "null"); err != nil {
		return fmt.Errorf("encryption key: %w", err)
	}
	if e.Authentication, err = algorithm(ESPAuthentication, "ESP authentication", f[5]); err != nil {
		return err
	}
	if e.AuthKey, err = key(f[6], f[5] == "null"); err != nil {
		return fmt.Errorf("authentication key: %w", err)
	}
	k.ESP = append(k.ESP, e)
	return nil
}

func (k *Keys) addIKE(f []string) error {
	if len(f) != 8 {
		return fmt.Errorf("ike wants SPI_I SPI_R ENCRYPTION SK_EI SK_ER INTEGRITY SK_AI SK_AR (8 fields), got %d", len(f))
	}
	var e IKE
	var err error
	for i, dst := range []*string{&e.SPII, &e.SPIR} {
		s := strings.TrimPrefix(strings.ToLower(f[i]), "0x")
		if len(s) != 16 {
			return fmt.Errorf("IKE SPI %q is not 16 hex digits", f[i])
		}
		if _, err := hex.DecodeString(s); err != nil {
			return fmt.Errorf("IKE SPI %q is not 16 hex digits", f[i])
		}
		*dst = s
	}
	if e.Encryption, err = algorithm(IKEEncryption, "IKEv2 encryption", f[2]); err != nil {
		return err
	}
	if e.SKei, err = key(f[3], false); err != nil {
		return fmt.Errorf("SK_ei: %w", err)
	}
	if e.SKer, err = key(f[4], false); err != nil {
		return fmt.Errorf("SK_er: %w", err)
	}
	if e.Integrity, err = algorithm(IKEIntegrity, "IKEv2 integrity", f[5]); err != nil {
		return err
	}
	none := f[5] == "none"
	if e.SKai, err = key(f[6], none); err != nil {
		return fmt.Errorf("SK_ai: %w", err)
	}
	if e.SKar, err = key(f[7], none); err != nil {
		return fmt.Errorf("SK_ar: %w", err)
	}
	k.IKE = append(k.IKE, e)
	return nil
}

// address reads an IP address or *; it returns the text Wireshark takes and whether it is IPv6.
func address(s string) (string, bool, error) {
	if s == "*" {
		return "*", false, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", false, fmt.Errorf("%q is not an IP address or *", s)
	}
	return a.String(), a.Is6() && !a.Is4In6(), nil
}

// algorithm looks name up in m; the error lists the names there are.
func algorithm(m map[string]string, what, name string) (string, error) {
	if ws, ok := m[strings.ToLower(name)]; ok {
		return ws, nil
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return "", fmt.Errorf("unknown %s %q (one of %s)", what, name, strings.Join(names, ", "))
}

// key reads a hex key ("-" is no key, allowed only when mayBeEmpty).
func key(s string, mayBeEmpty bool) (string, error) {
	if s == "-" {
		if mayBeEmpty {
			return "", nil
		}
		return "", fmt.Errorf("a key is required")
	}
	h := strings.TrimPrefix(strings.ToLower(s), "0x")
	if h == "" {
		return "", fmt.Errorf("empty key")
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", fmt.Errorf("%q is not an even number of hex digits", s)
	}
	return h, nil
}
