package interop

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"ipsecbot/diag"
)

// Severity says how much a mismatch matters to the tunnel.
const (
	// Breaking: the two sides cannot agree (versions, algorithms, IDs, subnets, auth mode).
	Breaking = "breaking"
	// Minor: the tunnel still comes up (lifetimes: the shorter one wins and rekeys).
	Minor = "minor"
)

// Mismatch is one setting whose values on the two sites cannot work together.
type Mismatch struct {
	Field    string `json:"field"` // ike_version, encryption, digest, dh_group, pfs, pfs_group, ike_lifetime, esp_lifetime, local_id, peer_id, local_subnets, peer_subnets, auth_mode
	Edge     string `json:"edge"`
	Peer     string `json:"peer"`
	Severity string `json:"severity"`
	Text     string `json:"text"`
}

// Compare checks the Edge's settings against the peer's. Both are seen from their own side,
// so the Edge's local ID must be the ID the peer expects, its local subnets the peer's remote
// subnets, and so on. Unknown values on either side are skipped.
func Compare(edge, peer *Settings) []Mismatch {
	if edge == nil || peer == nil {
		return nil
	}
	var out []Mismatch
	add := func(field, e, p, sev, what string) {
		out = append(out, Mismatch{Field: field, Edge: e, Peer: p, Severity: sev,
			Text: fmt.Sprintf("%s: not the same on both sides, Edge %s, peer %s", what, orUnset(e), orUnset(p))})
	}
	if edge.IKEVersion != "" && peer.IKEVersion != "" && edge.IKEVersion != peer.IKEVersion &&
		edge.IKEVersion != "ikeflex" && peer.IKEVersion != "ikeflex" {
		add("ike_version", edge.IKEVersion, peer.IKEVersion, Breaking, "IKE version")
	}
	algo := func(field, what string, e, p []string) {
		if len(e) > 0 && len(p) > 0 && !intersects(e, p) {
			add(field, strings.Join(e, ","), strings.Join(p, ","), Breaking, what)
		}
	}
	algo("encryption", "IKE encryption", edge.Encryption, peer.Encryption)
	algo("digest", "IKE digest", edge.Digest, peer.Digest)
	algo("dh_group", "IKE DH group", edge.DHGroup, peer.DHGroup)
	algo("esp_encryption", "ESP encryption", espOr(edge.ESPEncrypt, edge.Encryption), espOr(peer.ESPEncrypt, nil))
	algo("esp_digest", "ESP digest", espOr(edge.ESPDigest, edge.Digest), espOr(peer.ESPDigest, nil))
	if edge.PFS != nil && peer.PFS != nil && *edge.PFS != *peer.PFS {
		add("pfs", onOff(*edge.PFS), onOff(*peer.PFS), Breaking, "PFS")
	}
	if pfsOn(edge) && pfsOn(peer) {
		algo("pfs_group", "PFS DH group", edge.PFSGroup, peer.PFSGroup)
	}
	lifetime := func(field, what string, e, p int) {
		if e > 0 && p > 0 && e != p {
			add(field, fmt.Sprintf("%ds", e), fmt.Sprintf("%ds", p), Minor, what)
		}
	}
	lifetime("ike_lifetime", "IKE SA lifetime", edge.IKELifetime, peer.IKELifetime)
	lifetime("esp_lifetime", "IPsec SA lifetime", edge.ESPLifetime, peer.ESPLifetime)
	id := func(field, what, e, p string) {
		if e != "" && p != "" && !sameID(e, p) {
			add(field, e, p, Breaking, what)
		}
	}
	id("local_id", "the Edge's ID and the ID the peer expects", edge.LocalID, peer.PeerID)
	id("peer_id", "the ID the Edge expects and the peer's ID", edge.PeerID, peer.LocalID)
	nets := func(field, what string, e, p []string) {
		if len(e) > 0 && len(p) > 0 && !sameSubnets(e, p) {
			add(field, strings.Join(e, ","), strings.Join(p, ","), Breaking, what)
		}
	}
	nets("local_subnets", "the Edge's local subnets and the peer's remote subnets", edge.LocalSubnets, peer.PeerSubnets)
	nets("peer_subnets", "the Edge's peer subnets and the peer's local subnets", edge.PeerSubnets, peer.LocalSubnets)
	if edge.AuthMode != "" && peer.AuthMode != "" && edge.AuthMode != peer.AuthMode {
		add("auth_mode", edge.AuthMode, peer.AuthMode, Breaking, "authentication mode")
	}
	return out
}

// Evidence turns mismatches into evidence items citing the field's line of the Table written
// as TableFile ("interop.txt:12"); "interop:FIELD" when lines does not know the field.
func Evidence(ms []Mismatch, lines map[string]int) []diag.Evidence {
	out := make([]diag.Evidence, 0, len(ms))
	for _, m := range ms {
		out = append(out, diag.Evidence{Source: diag.SourceConfig, Ref: Ref(m.Field, lines), Text: m.Text + " (" + m.Severity + ")"})
	}
	return out
}

// Ref is the reference of field: its line of TableFile, or "interop:FIELD" when unknown.
func Ref(field string, lines map[string]int) string {
	if n, ok := lines[field]; ok {
		return diag.LineRef(TableFile, int64(n)).String()
	}
	return diag.ConfigFieldRef(field).String()
}

// espOr: when a side does not list ESP algorithms separately, NSX uses the site's IKE
// algorithms for ESP too; a peer without separate ESP values is unknown.
func espOr(esp, fallback []string) []string {
	if len(esp) > 0 {
		return esp
	}
	return fallback
}

func pfsOn(s *Settings) bool { return s.PFS != nil && *s.PFS }

func onOff(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

func orUnset(s string) string {
	if s == "" {
		return "(unset)"
	}
	return s
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// sameID compares IDs leniently: case, a "@" FQDN prefix and IP forms are ignored.
func sameID(a, b string) bool {
	norm := func(s string) string {
		s = strings.TrimSpace(strings.Trim(strings.TrimSpace(s), "'\""))
		s = strings.TrimPrefix(s, "@")
		if ip, err := netip.ParseAddr(s); err == nil {
			return ip.String()
		}
		return strings.ToLower(s)
	}
	return norm(a) == norm(b)
}

func sameSubnets(a, b []string) bool {
	norm := func(in []string) []string {
		out := make([]string, 0, len(in))
		for _, s := range in {
			s = strings.TrimSpace(s)
			if p, err := netip.ParsePrefix(s); err == nil {
				s = p.Masked().String()
			} else if ip, err := netip.ParseAddr(s); err == nil {
				s = netip.PrefixFrom(ip, ip.BitLen()).String()
			}
			out = append(out, s)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b))
}
