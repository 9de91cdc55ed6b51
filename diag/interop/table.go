package interop

import (
	"fmt"
	"strings"
)

// TableFile is the artifact the comparison is written to; evidence cites its lines.
const TableFile = "interop.txt"

// Table writes the comparison of the two sides as text, one line per setting in the order
// Compare checks them (each side's value, then "ok", "mismatch (SEVERITY)" or "not compared"
// when a side does not know it), and returns the line of each field (1-based) for evidence.
func Table(edge, peer *Settings, ms []Mismatch) (text string, lines map[string]int) {
	if edge == nil || peer == nil {
		return "", nil
	}
	pfs := func(s *Settings) string {
		if s.PFS == nil {
			return ""
		}
		return onOff(*s.PFS)
	}
	secs := func(n int) string {
		if n <= 0 {
			return ""
		}
		return fmt.Sprintf("%ds", n)
	}
	join := func(v []string) string { return strings.Join(v, ",") }
	rows := []struct{ field, edge, peer string }{
		{"ike_version", edge.IKEVersion, peer.IKEVersion},
		{"encryption", join(edge.Encryption), join(peer.Encryption)},
		{"digest", join(edge.Digest), join(peer.Digest)},
		{"dh_group", join(edge.DHGroup), join(peer.DHGroup)},
		{"esp_encryption", join(espOr(edge.ESPEncrypt, edge.Encryption)), join(peer.ESPEncrypt)},
		{"esp_digest", join(espOr(edge.ESPDigest, edge.Digest)), join(peer.ESPDigest)},
		{"pfs", pfs(edge), pfs(peer)},
		{"pfs_group", join(edge.PFSGroup), join(peer.PFSGroup)},
		{"ike_lifetime", secs(edge.IKELifetime), secs(peer.IKELifetime)},
		{"esp_lifetime", secs(edge.ESPLifetime), secs(peer.ESPLifetime)},
		{"local_id", edge.LocalID, peer.PeerID}, // the Edge's ID, the ID the peer expects
		{"peer_id", edge.PeerID, peer.LocalID},  // the ID the Edge expects, the peer's ID
		{"local_subnets", join(edge.LocalSubnets), join(peer.PeerSubnets)},
		{"peer_subnets", join(edge.PeerSubnets), join(peer.LocalSubnets)},
		{"auth_mode", edge.AuthMode, peer.AuthMode},
	}
	verdict := map[string]string{}
	for _, m := range ms {
		verdict[m.Field] = "mismatch (" + m.Severity + ")"
	}
	var b strings.Builder
	lines = map[string]int{}
	for i, r := range rows {
		v, ok := verdict[r.field]
		switch {
		case ok:
		case r.edge == "" || r.peer == "":
			v = "not compared"
		default:
			v = "ok"
		}
		fmt.Fprintf(&b, "%-15s edge=%s peer=%s: %s\n", r.field, orUnset(r.edge), orUnset(r.peer), v)
		lines[r.field] = i + 1
	}
	return b.String(), lines
}
