package peer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"

	"ipsecbot/diag/interop"
)

// The commands run on a strongSwan gateway. They are fixed strings: nothing a user types
// reaches the gateway's shell. LogCommand is what lab/peersim answers too.
const (
	CmdListConns = "swanctl --list-conns"
	CmdListSAs   = "swanctl --list-sas"
	CmdLog       = "cat /var/log/charon.log"
)

// Execer runs one command on a host and writes its output to w.
type Execer interface {
	Exec(ctx context.Context, command string, w io.Writer) error
	Close() error
}

// StrongSwan is a strongSwan gateway reached over SSH (exec requests).
type StrongSwan struct {
	Exec     Execer
	EdgeAddr netip.Addr        // picks the connection to the Edge among several
	Declared *interop.Settings // fills what the gateway does not print (proposals)
}

var _ Driver = (*StrongSwan)(nil)

// Logs writes the charon log.
func (s *StrongSwan) Logs(ctx context.Context, w io.Writer) error {
	if err := s.Exec.Exec(ctx, CmdLog, w); err != nil {
		return fmt.Errorf("%s: %w", CmdLog, err)
	}
	return nil
}

// Settings reads `swanctl --list-conns` for versions, IDs, auth, subnets and lifetimes, and
// the negotiated proposals of an established SA from `swanctl --list-sas` when there is one
// (list-conns prints no proposals); declared settings fill the rest.
func (s *StrongSwan) Settings(ctx context.Context) (*interop.Settings, error) {
	var buf bytes.Buffer
	if err := s.Exec.Exec(ctx, CmdListConns, &buf); err != nil {
		return nil, fmt.Errorf("%s: %w", CmdListConns, err)
	}
	conns, err := ParseListConns(buf.String())
	if err != nil {
		return nil, err
	}
	conn, err := SelectConn(conns, s.EdgeAddr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CmdListConns, err)
	}
	set := conn.Settings()
	if text, err := s.SAs(ctx); err == nil {
		if sas, err := ParseListSAs(text); err == nil {
			set.Merge(Negotiated(sas, conn.Name))
		}
	}
	set.Merge(s.Declared)
	return set, nil
}

// SAs returns `swanctl --list-sas`.
func (s *StrongSwan) SAs(ctx context.Context) (string, error) {
	var buf bytes.Buffer
	if err := s.Exec.Exec(ctx, CmdListSAs, &buf); err != nil {
		return buf.String(), fmt.Errorf("%s: %w", CmdListSAs, err)
	}
	return buf.String(), nil
}

// Close closes the SSH connection.
func (s *StrongSwan) Close() error { return s.Exec.Close() }
