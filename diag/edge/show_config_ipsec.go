package edge

import (
	"encoding/json"
	"strings"
)

// IPsecConfig is `show configuration ipsec`.
//
// [INF] Like `show configuration bgp` (docs/nsx-formats.md §1.3) the Edge prints a header line such
// as "vShield Edge IPSec Config:" and then pretty-printed JSON of the ipsec feature, with the
// keys of the API's JSON mode (§2.4: sites.sites[], localSubnets.subnets[], PSKs masked).
// The parser ignores the header text and reads the first JSON object; unknown keys are ignored.
type IPsecConfig struct {
	Enabled bool               `json:"enabled"`
	Logging *IPsecLogging      `json:"logging,omitempty"`
	Sites   IPsecConfigSites   `json:"sites"`
	Global  *IPsecConfigGlobal `json:"global,omitempty"`
}

// IPsecLogging is the ipsec feature's log settings.
type IPsecLogging struct {
	Enable   bool   `json:"enable"`
	LogLevel string `json:"logLevel"`
}

// IPsecConfigSites wraps the site list as the API does ({"sites": [...]}).
type IPsecConfigSites struct {
	Sites []IPsecConfigSite `json:"sites"`
}

// IPsecConfigSite is one site's settings.
type IPsecConfigSite struct {
	Enabled             bool    `json:"enabled"`
	Name                string  `json:"name"`
	Description         string  `json:"description,omitempty"`
	SiteID              string  `json:"siteId,omitempty"`
	LocalID             string  `json:"localId"`
	LocalIP             string  `json:"localIp"`
	PeerID              string  `json:"peerId"`
	PeerIP              string  `json:"peerIp"` // an address or "any"
	IPsecSessionType    string  `json:"ipsecSessionType,omitempty"`
	EncryptionAlgorithm string  `json:"encryptionAlgorithm"`
	DigestAlgorithm     string  `json:"digestAlgorithm,omitempty"`
	AuthenticationMode  string  `json:"authenticationMode"`
	PSK                 string  `json:"psk,omitempty"` // masked by the Edge ("****")
	EnablePFS           bool    `json:"enablePfs"`
	DHGroup             string  `json:"dhGroup"`
	IKEOption           string  `json:"ikeOption,omitempty"` // ikev1, ikev2, ikeflex
	ResponderOnly       bool    `json:"responderOnly,omitempty"`
	ComplianceSuite     string  `json:"complianceSuite,omitempty"`
	Extension           string  `json:"extension,omitempty"`
	LocalSubnets        Subnets `json:"localSubnets"`
	PeerSubnets         Subnets `json:"peerSubnets"`
}

// Subnets wraps a subnet list as the API does ({"subnets": [...]}).
type Subnets struct {
	Subnets []string `json:"subnets"`
}

// IPsecConfigGlobal holds the global settings (certificates, the global PSK, extensions).
type IPsecConfigGlobal struct {
	PSK                string   `json:"psk,omitempty"`
	ServiceCertificate string   `json:"serviceCertificate,omitempty"`
	CACertificates     []string `json:"caCertificates,omitempty"`
	Extension          string   `json:"extension,omitempty"`
}

// ParseConfigIPsec reads `show configuration ipsec`.
func ParseConfigIPsec(out string) (*IPsecConfig, error) {
	const cmd = CmdConfigIPsec
	text := cleanOutput(out)
	i := strings.IndexByte(text, '{')
	if i < 0 {
		return nil, unreadable(cmd, out, 0, "no JSON document")
	}
	var doc struct {
		IPsec *IPsecConfig `json:"ipsec"`
	}
	if err := json.NewDecoder(strings.NewReader(text[i:])).Decode(&doc); err != nil {
		return nil, formatError(cmd, 1+strings.Count(text[:i], "\n"), "JSON: %v", err)
	}
	if doc.IPsec == nil {
		return nil, formatError(cmd, 0, `no "ipsec" object`)
	}
	return doc.IPsec, nil
}
