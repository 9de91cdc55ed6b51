// Package peer reads the third-party gateway at the far end of an IPsec site (procedure steps
// 2 and 5): its IPsec logs, its settings for the interoperability check and its SA state.
// One Driver per kind of gateway: strongSwan over SSH, a log file collected by syslog, or
// settings declared in the configuration.
package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"

	"ipsecbot/config"
	"ipsecbot/diag/interop"
)

// ErrNotSupported is returned by a driver that cannot give what was asked
// (e.g. SA state from a gateway known only by its syslog).
var ErrNotSupported = errors.New("not available for this kind of peer")

// Driver is one third-party gateway.
type Driver interface {
	// Logs writes the gateway's IPsec log to w. ErrNotSupported when there is none.
	Logs(ctx context.Context, w io.Writer) error
	// Settings returns the gateway's IPsec settings, seen from its side.
	Settings(ctx context.Context) (*interop.Settings, error)
	// SAs returns the gateway's SA state as text (`swanctl --list-sas`).
	SAs(ctx context.Context) (string, error)
	// Close releases connections.
	Close() error
}

// New returns the driver for p. edgeAddr is the Edge's IKE endpoint, used to pick the peer's
// connection to the Edge when it has several. Secrets and paths resolve through cfg.
func New(cfg *config.Config, p *config.Peer, edgeAddr netip.Addr) (Driver, error) {
	declared := interop.FromDeclared(p.Declared)
	switch p.Kind {
	case config.PeerStrongSwan, "":
		if p.SSH == nil {
			return nil, fmt.Errorf("peer %s: kind strongswan needs ssh settings", p.Name)
		}
		t, err := SSHTargetFrom(cfg, p.Name, p.SSH)
		if err != nil {
			return nil, fmt.Errorf("peer %s: %w", p.Name, err)
		}
		return &StrongSwan{Exec: NewSSHExec(t), EdgeAddr: edgeAddr, Declared: declared}, nil
	case config.PeerSyslog, config.PeerDeclared:
		s := &Static{Declared: declared}
		if p.Log != "" {
			s.LogPath = cfg.Path(p.Log)
		}
		return s, nil
	}
	return nil, fmt.Errorf("peer %s: unknown kind %q", p.Name, p.Kind)
}

// Static is a gateway that cannot be asked anything: its log is a file this machine collects
// (kind syslog) and its settings are declared in the configuration (kind declared). Either
// may be missing.
type Static struct {
	LogPath  string
	Declared *interop.Settings
}

var _ Driver = (*Static)(nil)

// Logs copies the collected log file.
func (s *Static) Logs(ctx context.Context, w io.Writer) error {
	if s.LogPath == "" {
		return fmt.Errorf("no log file configured: %w", ErrNotSupported)
	}
	f, err := os.Open(s.LogPath)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, ctxReader{ctx, f})
	return err
}

// Settings returns the declared settings.
func (s *Static) Settings(context.Context) (*interop.Settings, error) {
	if s.Declared == nil {
		return nil, fmt.Errorf("no settings declared in the configuration: %w", ErrNotSupported)
	}
	c := *s.Declared
	return &c, nil
}

// SAs is not available without access to the gateway.
func (s *Static) SAs(context.Context) (string, error) { return "", ErrNotSupported }

// Close does nothing.
func (s *Static) Close() error { return nil }

// ctxReader stops a long copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
