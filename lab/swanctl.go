package lab

import (
	"fmt"
	"strings"
	"time"
)

// swanConn is the one connection of a fixture's swanctl.conf, the fields the lab shows.
type swanConn struct {
	Name        string
	Version     int
	LocalAddrs  string
	RemoteAddrs string
	Proposals   string // "aes256-sha256-modp2048"
	DPDDelay    time.Duration
	DPDTimeout  time.Duration // IKEv1 only
	RekeyTime   time.Duration
	LocalAuth   string // psk | pubkey
	LocalID     string
	LocalCerts  string
	RemoteAuth  string
	RemoteID    string
	Children    []swanChild
	PSK         string // from the secrets section; never shown
}

// swanChild is one child SA (IPsec SA) of a connection.
type swanChild struct {
	Name         string
	LocalTS      string
	RemoteTS     string
	ESPProposals string
	Mode         string
	DPDAction    string
	RekeyTime    time.Duration
}

// confSection is a parsed swanctl.conf section: key = value pairs and named subsections.
type confSection struct {
	values map[string]string
	subs   []*confSection
	name   string
}

func (s *confSection) sub(name string) *confSection {
	for _, c := range s.subs {
		if c.name == name {
			return c
		}
	}
	return &confSection{values: map[string]string{}}
}

// parseSwanctlConf reads the strongSwan swanctl.conf syntax the fixtures use: nested
// "name {" ... "}" sections, "key = value" settings, "#" comments. It keeps the first
// connection and the first PSK secret.
func parseSwanctlConf(text string) (swanConn, error) {
	root := &confSection{values: map[string]string{}}
	stack := []*confSection{root}
	for n, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case line == "":
		case line == "}":
			if len(stack) == 1 {
				return swanConn{}, fmt.Errorf("line %d: unbalanced }", n+1)
			}
			stack = stack[:len(stack)-1]
		case strings.HasSuffix(line, "{"):
			s := &confSection{name: strings.TrimSpace(strings.TrimSuffix(line, "{")), values: map[string]string{}}
			top := stack[len(stack)-1]
			top.subs = append(top.subs, s)
			stack = append(stack, s)
		case strings.Contains(line, "="):
			k, v, _ := strings.Cut(line, "=")
			stack[len(stack)-1].values[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
		default:
			return swanConn{}, fmt.Errorf("line %d: unreadable %q", n+1, line)
		}
	}
	if len(stack) != 1 {
		return swanConn{}, fmt.Errorf("unclosed section %q", stack[len(stack)-1].name)
	}
	conns := root.sub("connections")
	if len(conns.subs) == 0 {
		return swanConn{}, fmt.Errorf("no connection")
	}
	cs := conns.subs[0]
	v := cs.values
	c := swanConn{
		Name: cs.name, LocalAddrs: v["local_addrs"], RemoteAddrs: v["remote_addrs"], Proposals: v["proposals"],
		DPDDelay: dur(v["dpd_delay"]), DPDTimeout: dur(v["dpd_timeout"]), RekeyTime: dur(v["rekey_time"]),
	}
	fmt.Sscan(v["version"], &c.Version)
	local, remote := cs.sub("local"), cs.sub("remote")
	c.LocalAuth, c.LocalID, c.LocalCerts = local.values["auth"], local.values["id"], local.values["certs"]
	c.RemoteAuth, c.RemoteID = remote.values["auth"], remote.values["id"]
	for _, ch := range cs.sub("children").subs {
		cv := ch.values
		c.Children = append(c.Children, swanChild{
			Name: ch.name, LocalTS: cv["local_ts"], RemoteTS: cv["remote_ts"], ESPProposals: cv["esp_proposals"],
			Mode: cv["mode"], DPDAction: cv["dpd_action"], RekeyTime: dur(cv["rekey_time"]),
		})
	}
	for _, s := range root.sub("secrets").subs {
		if p, ok := s.values["secret"]; ok && strings.HasPrefix(s.name, "ike") {
			c.PSK = p
			break
		}
	}
	return c, nil
}

func dur(s string) time.Duration {
	d, _ := time.ParseDuration(s)
	return d
}

// listConns renders `swanctl --list-conns` as strongSwan 5.9 prints it
// (docs.strongswan.org swanctlListConns; checked against the fixtures' own edgeA output).
func listConns(c swanConn) string {
	var b strings.Builder
	head := fmt.Sprintf("%s: IKEv%d, ", c.Name, c.Version)
	if c.Version == 1 { // IKEv1 cannot rekey an IKE SA in place: it reauthenticates
		head += fmt.Sprintf("reauthentication every %ds", int(c.RekeyTime.Seconds()))
	} else {
		head += fmt.Sprintf("no reauthentication, rekeying every %ds", int(c.RekeyTime.Seconds()))
	}
	if c.DPDDelay > 0 {
		head += fmt.Sprintf(", dpd delay %ds", int(c.DPDDelay.Seconds()))
	}
	b.WriteString(head + "\n")
	fmt.Fprintf(&b, "  local:  %s\n  remote: %s\n", c.LocalAddrs, c.RemoteAddrs)
	auth := func(side, method, id, certs string) {
		fmt.Fprintf(&b, "  %s %s authentication:\n    id: %s\n", side, authName(method), id)
		if certs != "" {
			// The certificate's subject; the lab's certificates are issued as C=XX, O=Lab, CN=<id>.
			fmt.Fprintf(&b, "    certs: C=XX, O=Lab, CN=%s\n", id)
		}
	}
	auth("local", c.LocalAuth, c.LocalID, c.LocalCerts)
	auth("remote", c.RemoteAuth, c.RemoteID, "")
	for _, ch := range c.Children {
		line := fmt.Sprintf("  %s: %s, rekeying every %ds", ch.Name, strings.ToUpper(orDefault(ch.Mode, "tunnel")), int(ch.RekeyTime.Seconds()))
		if a := dpdActionName(ch.DPDAction); a != "" {
			line += ", dpd action is " + a
		}
		fmt.Fprintf(&b, "%s\n    local:  %s\n    remote: %s\n", line, ch.LocalTS, ch.RemoteTS)
	}
	return b.String()
}

func authName(method string) string {
	switch method {
	case "psk":
		return "pre-shared key"
	case "pubkey":
		return "public key"
	}
	return method
}

// dpdActionName is how charon names a child's dpd_action: "restart" is printed as "start".
func dpdActionName(a string) string {
	switch a {
	case "", "none":
		return ""
	case "restart":
		return "start"
	}
	return a
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// mirrorListSAs turns one side's `swanctl --list-sas` into the other side's view of the
// same SAs: local and remote swap, the SPI marked as ours ("*") moves to the other SPI,
// and the child's in/out SPIs with their counters swap. Used where the fixture did not
// record the peer's own output.
func mirrorListSAs(s string) string {
	var out []string
	var pendingIn []string // a swapped "out" line waits until after the "in" line
	for line := range strings.Lines(s) {
		t := strings.TrimLeft(line, " ")
		indent := line[:len(line)-len(t)]
		switch {
		case strings.Contains(line, "_i* ") || strings.Contains(line, "_i ") && strings.HasSuffix(strings.TrimSpace(line), "_r*"):
			line = swapSPIMark(line)
		case strings.HasPrefix(t, "local "):
			line = indent + "remote" + strings.TrimPrefix(t, "local")
			line = alignSide(line, indent)
		case strings.HasPrefix(t, "remote "):
			line = indent + "local" + strings.TrimPrefix(t, "remote")
			line = alignSide(line, indent)
		case strings.HasPrefix(t, "in "):
			pendingIn = append(pendingIn, indent+"out"+strings.TrimPrefix(t, "in "))
			continue
		case strings.HasPrefix(t, "out "):
			out = append(out, indent+"in "+strings.TrimPrefix(t, "out"))
			out = append(out, pendingIn...)
			pendingIn = nil
			continue
		}
		out = append(out, line)
	}
	out = append(out, pendingIn...)
	// The local/remote pairs come out swapped in order too; put local first again.
	for i := 0; i+1 < len(out); i++ {
		a, b := strings.TrimLeft(out[i], " "), strings.TrimLeft(out[i+1], " ")
		if strings.HasPrefix(a, "remote") && strings.HasPrefix(b, "local") {
			out[i], out[i+1] = out[i+1], out[i]
			i++
		}
	}
	return strings.Join(out, "")
}

// swapSPIMark moves the "*" (our SPI) from the initiator SPI to the responder SPI or back.
func swapSPIMark(line string) string {
	nl := strings.HasSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\n")
	if strings.Contains(line, "_i* ") {
		line = strings.Replace(line, "_i* ", "_i ", 1)
		line = strings.TrimSuffix(line, "_r") + "_r*"
	} else {
		line = strings.Replace(line, "_i ", "_i* ", 1)
		line = strings.TrimSuffix(line, "_r*") + "_r"
	}
	if nl {
		line += "\n"
	}
	return line
}

// alignSide keeps swanctl's column: "local  X" and "remote X" (two spaces after local).
func alignSide(line, indent string) string {
	t := strings.TrimPrefix(line, indent)
	switch {
	case strings.HasPrefix(t, "local "):
		return indent + "local  " + strings.TrimLeft(strings.TrimPrefix(t, "local"), " ")
	case strings.HasPrefix(t, "remote "):
		return indent + "remote " + strings.TrimLeft(strings.TrimPrefix(t, "remote"), " ")
	}
	return line
}
