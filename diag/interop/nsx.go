package interop

import (
	"strings"
	"time"

	"ipsecbot/diag/nsx"
)

// NSX-v 6.4 has fixed lifetimes (Admin Guide: phase 1 28800 s, phase 2 3600 s); peerconfig
// states them too, and wins when present.
const (
	nsxIKELifetime = 28800
	nsxESPLifetime = 3600
)

// FromNSX turns an Edge's IPsec site (ipsec/config) and, when available, its peer
// configuration (peerconfig, which states the fixed phase 1/2 parameters) into Settings.
// NSX uses the site's encryption, digest and DH group for both phases.
func FromNSX(site *nsx.IPsecSite, pc *nsx.PeerConfig) *Settings {
	if site == nil {
		return nil
	}
	pfs := site.EnablePFS
	s := &Settings{
		Source:       "ipsec/config",
		IKEVersion:   NormVersion(orDefault(site.IKEOption, "ikev1")),
		Encryption:   list(NormEncryption(orDefault(site.EncryptionAlgorithm, "aes"))),
		Digest:       list(NormDigest(orDefault(site.DigestAlgorithm, "sha1"))),
		DHGroup:      list(NormDH(orDefault(site.DHGroup, "dh14"))),
		PFS:          &pfs,
		IKELifetime:  nsxIKELifetime,
		ESPLifetime:  nsxESPLifetime,
		LocalID:      site.LocalID,
		PeerID:       site.PeerID,
		LocalSubnets: site.LocalSubnets,
		PeerSubnets:  site.PeerSubnets,
		AuthMode:     NormAuth(site.AuthenticationMode),
	}
	s.ESPEncrypt, s.ESPDigest = s.Encryption, s.Digest
	if pfs {
		s.PFSGroup = s.DHGroup
	}
	if pc != nil {
		s.Source += " + peerconfig"
		if v := pc.Phase1.IKEVersion; v != "" {
			s.IKEVersion = NormVersion(v)
		}
		if d := secs(pc.Phase1.SALifetime); d > 0 {
			s.IKELifetime = d
		}
		if d := secs(pc.Phase2.SALifetime); d > 0 {
			s.ESPLifetime = d
		}
		if pc.Phase2.PFSDHGroup != "" || pc.Phase2.PFS != pfs {
			p := pc.Phase2.PFS
			s.PFS = &p
			if p && pc.Phase2.PFSDHGroup != "" {
				s.PFSGroup = list(NormDH(pc.Phase2.PFSDHGroup))
			}
		}
		if g := pc.Phase1.DHGroup; g != "" {
			s.DHGroup = list(NormDH(g))
		}
	}
	return s
}

func secs(d time.Duration) int { return int(d / time.Second) }

func orDefault(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return v
}
