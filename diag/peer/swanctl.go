package peer

import (
	"bufio"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"ipsecbot/diag/interop"
)

// Conn is one connection of `swanctl --list-conns` (docs.strongswan.org, swanctlListConns):
//
//	s2s: IKEv2, no reauthentication, rekeying every 14400s, dpd delay 2s
//	  local:  192.0.2.1
//	  remote: 192.0.2.2
//	  local pre-shared key authentication:
//	    id: 192.0.2.1
//	  remote pre-shared key authentication:
//	    id: 192.0.2.2
//	  s2s-net: TUNNEL, rekeying every 3600s, dpd action is start
//	    local:  10.1.1.0/24
//	    remote: 10.2.2.0/24
type Conn struct {
	Name         string
	Version      string // IKEv1, IKEv2 or IKEv1/2
	RekeySeconds int
	ReauthSecs   int
	LocalAddrs   []string
	RemoteAddrs  []string
	LocalAuth    string // "pre-shared key", "public key", "EAP", ...
	RemoteAuth   string
	LocalID      string
	RemoteID     string
	Children     []Child
}

// Child is a CHILD_SA configuration of a Conn.
type Child struct {
	Name         string
	Mode         string // TUNNEL, TRANSPORT, PASS, DROP
	RekeySeconds int
	LocalTS      []string
	RemoteTS     []string
}

// ParseListConns reads `swanctl --list-conns` output. Lines it does not know are skipped,
// so newer swanctl versions that print more keep working; an output with no connection
// header at all is an error.
func ParseListConns(text string) ([]Conn, error) {
	var conns []Conn
	var cur *Conn
	var child *Child
	section := "" // "local-auth", "remote-auth", "child" for indent-4 lines
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r ")
		if strings.TrimSpace(line) == "" {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		key, val, hasColon := strings.Cut(strings.TrimSpace(line), ":")
		val = strings.TrimSpace(val)
		switch {
		case indent == 0:
			if !hasColon || strings.Contains(key, " ") {
				continue
			}
			conns = append(conns, Conn{Name: key})
			cur, child, section = &conns[len(conns)-1], nil, ""
			parseConnHeader(cur, val)
		case cur == nil:
			continue
		case indent <= 2:
			child = nil
			switch {
			case key == "local":
				cur.LocalAddrs = splitList(val)
				section = ""
			case key == "remote":
				cur.RemoteAddrs = splitList(val)
				section = ""
			case strings.HasPrefix(key, "local ") && strings.HasSuffix(key, " authentication"):
				cur.LocalAuth = strings.TrimSuffix(strings.TrimPrefix(key, "local "), " authentication")
				section = "local-auth"
			case strings.HasPrefix(key, "remote ") && strings.HasSuffix(key, " authentication"):
				cur.RemoteAuth = strings.TrimSuffix(strings.TrimPrefix(key, "remote "), " authentication")
				section = "remote-auth"
			case hasColon && !strings.Contains(key, " "):
				cur.Children = append(cur.Children, Child{Name: key})
				child = &cur.Children[len(cur.Children)-1]
				section = "child"
				parseChildHeader(child, val)
			default:
				section = ""
			}
		default:
			switch section {
			case "local-auth":
				if key == "id" {
					cur.LocalID = val
				}
			case "remote-auth":
				if key == "id" {
					cur.RemoteID = val
				}
			case "child":
				if child == nil {
					continue
				}
				switch key {
				case "local":
					child.LocalTS = append(child.LocalTS, splitList(val)...)
				case "remote":
					child.RemoteTS = append(child.RemoteTS, splitList(val)...)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return conns, fmt.Errorf("swanctl --list-conns: %w", err)
	}
	if len(conns) == 0 {
		return nil, fmt.Errorf("swanctl --list-conns: no connection found in %d bytes of output", len(text))
	}
	return conns, nil
}

// parseConnHeader reads "IKEv2, no reauthentication, rekeying every 14400s, dpd delay 2s".
func parseConnHeader(c *Conn, v string) {
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		switch {
		case strings.HasPrefix(f, "IKEv"):
			c.Version = f
		case strings.HasPrefix(f, "rekeying every "):
			c.RekeySeconds = seconds(strings.TrimPrefix(f, "rekeying every "))
		case strings.HasPrefix(f, "reauthentication every "):
			c.ReauthSecs = seconds(strings.TrimPrefix(f, "reauthentication every "))
		}
	}
}

// parseChildHeader reads "TUNNEL, rekeying every 3600s, dpd action is start".
func parseChildHeader(c *Child, v string) {
	for i, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		switch {
		case i == 0:
			c.Mode = f
		case strings.HasPrefix(f, "rekeying every "):
			c.RekeySeconds = seconds(strings.TrimPrefix(f, "rekeying every "))
		}
	}
}

func seconds(s string) int {
	n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(s), "s"))
	return n
}

func splitList(v string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// SelectConn picks the connection whose remote address is addr (the Edge's), else the only one.
func SelectConn(conns []Conn, addr netip.Addr) (*Conn, error) {
	for i, c := range conns {
		for _, r := range c.RemoteAddrs {
			if a, err := netip.ParseAddr(r); err == nil && addr.IsValid() && a == addr {
				return &conns[i], nil
			}
		}
	}
	if len(conns) == 1 {
		return &conns[0], nil
	}
	return nil, fmt.Errorf("no connection to %s among %d connections", addr, len(conns))
}

// Settings turns the connection into the peer's side of the interoperability check.
// swanctl --list-conns prints no proposals; they come from an established SA (ApplySAs)
// or from declared settings.
func (c *Conn) Settings() *interop.Settings {
	s := &interop.Settings{
		Source:      "swanctl --list-conns",
		IKEVersion:  interop.NormVersion(c.Version),
		IKELifetime: c.RekeySeconds,
		LocalID:     c.LocalID,
		PeerID:      c.RemoteID,
		AuthMode:    interop.NormAuth(c.LocalAuth),
	}
	if c.RekeySeconds == 0 {
		s.IKELifetime = c.ReauthSecs
	}
	for _, ch := range c.Children {
		s.LocalSubnets = append(s.LocalSubnets, ch.LocalTS...)
		s.PeerSubnets = append(s.PeerSubnets, ch.RemoteTS...)
		if s.ESPLifetime == 0 {
			s.ESPLifetime = ch.RekeySeconds
		}
	}
	// "dynamic" stands for the gateway's own address: not a subnet to compare.
	s.LocalSubnets = withoutDynamic(s.LocalSubnets)
	s.PeerSubnets = withoutDynamic(s.PeerSubnets)
	return s
}

func withoutDynamic(in []string) []string {
	var out []string
	for _, s := range in {
		if s != "dynamic" {
			out = append(out, s)
		}
	}
	return out
}
