// Package interop compares the IPsec settings of the two sites of a tunnel (procedure step 2):
// the NSX Edge's site configuration against the third-party gateway's, field by field, with
// the names each vendor uses normalised to one vocabulary (aes256, sha256, dh14, ...).
package interop

import (
	"strings"

	"ipsecbot/config"
)

// Settings is one side's IPsec settings as seen from that side: LocalID is its own ID,
// PeerID the ID it expects of the other side. An empty string, a zero lifetime, a nil slice
// or a nil PFS means "not known" and is never reported as a mismatch.
type Settings struct {
	Source       string   // where they were read, e.g. "swanctl --list-conns", "ipsec/config"
	IKEVersion   string   // ikev1 | ikev2 | ikeflex
	Encryption   []string // IKE (phase 1) encryption, normalised: aes128, aes256, 3des, aes128gcm16 ...
	Digest       []string // IKE integrity: sha1, sha256 ...
	DHGroup      []string // IKE DH groups: dh2, dh14 ...
	ESPEncrypt   []string // ESP (phase 2) encryption, when known separately from IKE
	ESPDigest    []string
	PFS          *bool
	PFSGroup     []string
	IKELifetime  int // seconds
	ESPLifetime  int // seconds
	LocalID      string
	PeerID       string
	LocalSubnets []string
	PeerSubnets  []string
	AuthMode     string // psk | x.509
}

// FromDeclared turns settings declared in the configuration (for gateways whose settings
// cannot be read, such as SonicWall or WatchGuard) into Settings. A declared PFS is known.
func FromDeclared(p *config.PeerSettings) *Settings {
	if p == nil {
		return nil
	}
	pfs := p.PFS
	s := &Settings{
		Source:       "config (declared)",
		IKEVersion:   NormVersion(p.IKEVersion),
		Encryption:   list(NormEncryption(p.Encryption)),
		Digest:       list(NormDigest(p.Digest)),
		DHGroup:      list(NormDH(p.DHGroup)),
		PFS:          &pfs,
		PFSGroup:     list(NormDH(p.PFSGroup)),
		IKELifetime:  p.IKELifetime,
		ESPLifetime:  p.ESPLifetime,
		LocalID:      p.LocalID,
		PeerID:       p.PeerID,
		LocalSubnets: p.LocalSubnets,
		PeerSubnets:  p.PeerSubnets,
		AuthMode:     NormAuth(p.AuthMode),
	}
	// NSX-style gateways declare one algorithm set for both phases.
	s.ESPEncrypt, s.ESPDigest = s.Encryption, s.Digest
	return s
}

// Merge fills what s does not know from o (o's values never override s's).
func (s *Settings) Merge(o *Settings) {
	if o == nil {
		return
	}
	str := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	lst := func(dst *[]string, v []string) {
		if len(*dst) == 0 {
			*dst = v
		}
	}
	num := func(dst *int, v int) {
		if *dst == 0 {
			*dst = v
		}
	}
	str(&s.IKEVersion, o.IKEVersion)
	lst(&s.Encryption, o.Encryption)
	lst(&s.Digest, o.Digest)
	lst(&s.DHGroup, o.DHGroup)
	lst(&s.ESPEncrypt, o.ESPEncrypt)
	lst(&s.ESPDigest, o.ESPDigest)
	if s.PFS == nil {
		s.PFS = o.PFS
	}
	lst(&s.PFSGroup, o.PFSGroup)
	num(&s.IKELifetime, o.IKELifetime)
	num(&s.ESPLifetime, o.ESPLifetime)
	str(&s.LocalID, o.LocalID)
	str(&s.PeerID, o.PeerID)
	lst(&s.LocalSubnets, o.LocalSubnets)
	lst(&s.PeerSubnets, o.PeerSubnets)
	str(&s.AuthMode, o.AuthMode)
	if s.Source == "" {
		s.Source = o.Source
	} else if o.Source != "" && !strings.Contains(s.Source, o.Source) {
		s.Source += " + " + o.Source
	}
}

func list(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}

// NormVersion maps "IKEv2", "ikev2", "2" and "IKEFlex" to ikev1 | ikev2 | ikeflex.
func NormVersion(v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "ikev1", "1", "v1":
		return "ikev1"
	case "ikev2", "2", "v2":
		return "ikev2"
	case "ikeflex", "ikev1/2":
		return "ikeflex"
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// NormEncryption maps NSX's, strongSwan's and IANA-style names of an encryption
// algorithm to one name: "AES" and "aes" (NSX default) are aes128, "AES_CBC-256" is aes256.
func NormEncryption(v string) string {
	k := strings.ToLower(strings.TrimSpace(v))
	k = strings.NewReplacer("_", "", "-", "", " ", "").Replace(k)
	switch k {
	case "":
		return ""
	case "aes", "aes128", "aescbc128", "aescbc":
		return "aes128"
	case "aes192", "aescbc192":
		return "aes192"
	case "aes256", "aescbc256":
		return "aes256"
	case "3des", "tripledes", "3descbc", "des3", "des3cbc":
		return "3des"
	case "aesgcm", "aesgcm16", "aes128gcm16", "aes128gcm", "aesgcm16128", "aesgcm128":
		return "aes128gcm16"
	case "aes256gcm16", "aes256gcm", "aesgcm16256", "aesgcm256":
		return "aes256gcm16"
	}
	return k
}

// NormDigest maps "sha-256", "HMAC_SHA2_256_128", "sha2_256" ... to sha256, and so on.
func NormDigest(v string) string {
	k := strings.ToLower(strings.TrimSpace(v))
	k = strings.NewReplacer("_", "", "-", "", " ", "").Replace(k)
	k = strings.TrimPrefix(k, "hmac")
	k = strings.TrimPrefix(k, "prfhmac")
	switch {
	case k == "":
		return ""
	case k == "sha" || strings.HasPrefix(k, "sha196") || k == "sha1":
		return "sha1"
	case strings.HasPrefix(k, "sha2256") || k == "sha256":
		return "sha256"
	case strings.HasPrefix(k, "sha2384") || k == "sha384":
		return "sha384"
	case strings.HasPrefix(k, "sha2512") || k == "sha512":
		return "sha512"
	case strings.HasPrefix(k, "md5"):
		return "md5"
	}
	return k
}

// dhNames maps strongSwan's and IANA's group names to NSX's dhN form.
var dhNames = map[string]string{
	"modp768": "dh1", "modp1024": "dh2", "modp1536": "dh5", "modp2048": "dh14",
	"modp3072": "dh15", "modp4096": "dh16", "modp6144": "dh17", "modp8192": "dh18",
	"ecp256": "dh19", "ecp384": "dh20", "ecp521": "dh21", "curve25519": "dh31", "x25519": "dh31",
	"curve448": "dh32",
}

// NormDH maps "DH14", "dh14", "modp2048", "MODP_2048" and "14" to dh14.
func NormDH(v string) string {
	k := strings.ToLower(strings.TrimSpace(v))
	k = strings.NewReplacer("_", "", "-", "", " ", "").Replace(k)
	if k == "" {
		return ""
	}
	if n, ok := dhNames[k]; ok {
		return n
	}
	if strings.HasPrefix(k, "group") {
		k = "dh" + strings.TrimPrefix(k, "group")
	}
	if k[0] >= '0' && k[0] <= '9' {
		k = "dh" + k
	}
	return k
}

// NormAuth maps authentication modes to psk | x.509.
func NormAuth(v string) string {
	k := strings.ToLower(strings.TrimSpace(v))
	switch {
	case k == "":
		return ""
	case k == "psk" || strings.Contains(k, "pre-shared") || strings.Contains(k, "preshared"):
		return "psk"
	case k == "x.509" || k == "x509" || k == "pubkey" || k == "rsa" || k == "ecdsa" || strings.Contains(k, "public key") || strings.Contains(k, "certificate"):
		return "x.509"
	}
	return k
}

// ParseProposal reads one strongSwan proposal, in swanctl.conf form
// ("aes256-sha256-modp2048") or as `swanctl --list-sas` prints a negotiated one
// ("AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"), into normalised
// encryption, digest and DH group names. PRFs are skipped.
func ParseProposal(p string) (enc, digest, dh []string) {
	p = strings.TrimSpace(p)
	var tokens []string
	if strings.Contains(p, "/") {
		tokens = strings.Split(p, "/")
	} else {
		tokens = strings.Split(p, "-")
	}
	for _, t := range tokens {
		k := strings.ToLower(strings.TrimSpace(t))
		flat := strings.NewReplacer("_", "", "-", "").Replace(k)
		switch {
		case flat == "":
		case strings.HasPrefix(flat, "prf"):
		case strings.HasPrefix(flat, "aes") && !strings.HasPrefix(flat, "aesxcbc") && !strings.HasPrefix(flat, "aescmac"),
			strings.HasPrefix(flat, "3des"), strings.HasPrefix(flat, "chacha"), strings.HasPrefix(flat, "camellia"):
			enc = appendNew(enc, NormEncryption(k))
		case strings.HasPrefix(flat, "sha"), strings.HasPrefix(flat, "md5"), strings.HasPrefix(flat, "hmac"),
			strings.HasPrefix(flat, "aesxcbc"), strings.HasPrefix(flat, "aescmac"):
			digest = appendNew(digest, NormDigest(k))
		case strings.HasPrefix(flat, "modp"), strings.HasPrefix(flat, "ecp"), strings.HasPrefix(flat, "curve"),
			strings.HasPrefix(flat, "x25519"), strings.HasPrefix(flat, "x448"):
			dh = appendNew(dh, NormDH(k))
		}
	}
	return enc, digest, dh
}

func appendNew(s []string, v string) []string {
	if v == "" {
		return s
	}
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}
