package sshdial

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"ipsecbot/diag/fault"
)

// Host-key refusals; both match fault.ErrHostKey.
var (
	// ErrHostKeyUnknown: the host's key is not in known_hosts (HostKeyError wraps it).
	ErrHostKeyUnknown = fmt.Errorf("host key unknown: %w", fault.ErrHostKey)
	// ErrHostKeyChanged: the host's key differs from the one in known_hosts (HostKeyError wraps it).
	ErrHostKeyChanged = fmt.Errorf("host key changed: %w", fault.ErrHostKey)
)

// HostKeyError says which host presented which key, and whether known_hosts had another one.
type HostKeyError struct {
	Host        string // as dialled, host:port
	Fingerprint string // SHA256 fingerprint of the key the host presented
	Changed     bool   // known_hosts has a different key for the host (possible MITM)
}

func (e *HostKeyError) Error() string {
	if e.Changed {
		return fmt.Sprintf("host key for %s changed: presented %s, which is not the key in known_hosts (refused)", e.Host, e.Fingerprint)
	}
	return fmt.Sprintf("host key for %s is unknown: presented %s, not in known_hosts (refused)", e.Host, e.Fingerprint)
}

// Unwrap lets errors.Is match ErrHostKeyUnknown or ErrHostKeyChanged (and fault.ErrHostKey).
func (e *HostKeyError) Unwrap() error {
	if e.Changed {
		return ErrHostKeyChanged
	}
	return ErrHostKeyUnknown
}

// hostKeyCheck returns the callback that checks the host's key and the host-key algorithms to
// ask for. Strict by default: the key must be in t.KnownHosts. t.InsecureIgnoreHostKey accepts
// any key, with a warning naming the host and the key's fingerprint.
func hostKeyCheck(t Target, log *slog.Logger) (ssh.HostKeyCallback, []string, error) {
	if t.InsecureIgnoreHostKey {
		return func(host string, _ net.Addr, key ssh.PublicKey) error {
			log.Warn("host key NOT checked (insecure_ignore_host_key is set)",
				"role", t.Device.Role, "name", t.Device.Name, "host", host, "fingerprint", ssh.FingerprintSHA256(key))
			return nil
		}, nil, nil
	}
	if t.KnownHosts == "" {
		return nil, nil, fmt.Errorf("%s: no known_hosts file configured (set known_hosts, or insecure_ignore_host_key to skip the check)", t.Device.Name)
	}
	kh, err := knownhosts.New(t.KnownHosts)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: known_hosts: %w", t.Device.Name, err)
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
// for a key we can check. Without it x/crypto prefers ECDSA, and a host whose ed25519 key is
// on file would look "changed". nil: host unknown, keep the defaults.
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
