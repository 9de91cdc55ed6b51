package edge

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeyCheck returns the callback that checks the Edge's key and the host-key algorithms to
// ask for. Strict by default: the key must be in t.KnownHosts. t.InsecureIgnoreHostKey accepts
// any key, with a warning naming the host and the key's fingerprint.
func hostKeyCheck(t Target, log *slog.Logger) (ssh.HostKeyCallback, []string, error) {
	if t.InsecureIgnoreHostKey {
		return func(host string, _ net.Addr, key ssh.PublicKey) error {
			log.Warn("host key NOT checked (insecure_ignore_host_key is set for this edge)",
				"edge", t.Name, "host", host, "fingerprint", ssh.FingerprintSHA256(key))
			return nil
		}, nil, nil
	}
	if t.KnownHosts == "" {
		return nil, nil, fmt.Errorf("%s: no known_hosts file configured (set known_hosts, or insecure_ignore_host_key to skip the check)", t.Name)
	}
	kh, err := knownhosts.New(t.KnownHosts)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: known_hosts: %w", t.Name, err)
	}
	check := func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := kh(host, remote, key)
		if ke, ok := errors.AsType[*knownhosts.KeyError](err); ok {
			return &HostKeyError{Host: host, Fingerprint: ssh.FingerprintSHA256(key), Changed: len(ke.Want) > 0}
		}
		if _, ok := errors.AsType[*knownhosts.RevokedError](err); ok {
			return &HostKeyError{Host: host, Fingerprint: ssh.FingerprintSHA256(key), Changed: true}
		}
		return err
	}
	return check, knownHostAlgorithms(kh, t.Address), nil
}

// knownHostAlgorithms returns the key types known_hosts holds for addr, so the server is asked
// for a key we can check. Without it x/crypto prefers ECDSA and an Edge whose ed25519 key is on
// file would look "changed" (libs-notes.md §2a). nil: host unknown, keep the defaults.
func knownHostAlgorithms(kh ssh.HostKeyCallback, addr string) []string {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil
	}
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil
	}
	ke, ok := errors.AsType[*knownhosts.KeyError](kh(addr, tcp, probe.PublicKey()))
	if !ok {
		return nil
	}
	var algos []string
	for _, k := range ke.Want {
		if k.Key.Type() == ssh.KeyAlgoRSA { // an ssh-rsa key verifies via rsa-sha2-*
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		} else {
			algos = append(algos, k.Key.Type())
		}
	}
	return algos
}
