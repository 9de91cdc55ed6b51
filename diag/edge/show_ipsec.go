package edge

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Commands the procedure records (docs/procedure.md step 4 and the prerequisites).
const (
	CmdServiceIPsec   = "show service ipsec"
	CmdServiceIPsecSA = "show service ipsec sa"
	CmdServiceIPsecSP = "show service ipsec sp"
	CmdIPRoute        = "show ip route"
	CmdInterface      = "show interface"
	CmdConfigIPsec    = "show configuration ipsec"
	CmdLog            = "show log"
)

// ShowCommands are the show commands one diagnosis records, in the procedure's order.
var ShowCommands = []string{
	CmdServiceIPsec, CmdServiceIPsecSP, CmdServiceIPsecSA, CmdIPRoute, CmdInterface, CmdConfigIPsec, CmdLog,
}

// Status values of channels and tunnels as the Edge prints them.
const (
	StatusUp   = "UP"
	StatusDown = "DOWN"
)

// IPsecStatus is `show service ipsec`: the service and, per site, its channel (the IKE SA)
// and tunnels (one per local x peer subnet pair, the child SAs). See docs/nsx-formats.md §1.2.
type IPsecStatus struct {
	Running      bool // "IPSec Server is running."
	AESNI        bool // "AESNI is enabled."
	TotalSites   int
	SitesUp      int
	SitesDown    int
	TotalTunnels int
	TunnelsUp    int
	TunnelsDown  int
	Sites        []Site
}

// Site is one IPsec site block.
type Site struct {
	// Name is the Site: key, "<localIp>_<localSubnet>-<peerIp>_<peerSubnet>".
	Name    string
	Channel Channel
	Tunnels []Tunnel
}

// Channel is a site's IKE SA line.
type Channel struct {
	PeerIP  netip.Addr
	LocalIP netip.Addr
	Version string // "IKEv1", "IKEv2"
	Status  string // StatusUp or StatusDown
	Reason  string // the failure message after "Reason:", if any
}

// Tunnel is one child SA line.
type Tunnel struct {
	PeerSubnet  netip.Prefix
	LocalSubnet netip.Prefix
	Status      string
	Reason      string
}

// Up reports whether the channel is up.
func (c Channel) Up() bool { return c.Status == StatusUp }

// Up reports whether the tunnel is up.
func (t Tunnel) Up() bool { return t.Status == StatusUp }

// SiteForPeer returns the first site whose channel goes to peer, or nil.
func (s *IPsecStatus) SiteForPeer(peer netip.Addr) *Site {
	for i := range s.Sites {
		if s.Sites[i].Channel.PeerIP == peer {
			return &s.Sites[i]
		}
	}
	return nil
}

var totalsLine = regexp.MustCompile(`(?i)^Total (Sites|Tunnels):\s*(\d+),\s*(\d+)\s+UP,\s*(\d+)\s+Down`)

// ParseServiceIPsec reads `show service ipsec`. It is lenient about spacing, escapes and pager
// marks and about the order of lines within a site; it needs the status header or a Site line.
// [INF] A DOWN channel or tunnel may carry "Reason: <failure message>" after its status
// (docs/nsx-formats.md §1.2); the lab's Edge prints it so.
func ParseServiceIPsec(out string) (*IPsecStatus, error) {
	const cmd = CmdServiceIPsec
	st := &IPsecStatus{}
	recognised := false
	var cur *Site
	for n, line := range lines(out) {
		lineNo := n + 1
		t := strings.TrimSpace(line)
		lower := strings.ToLower(t)
		switch {
		case t == "" || strings.Trim(t, "-") == "":
			continue
		case strings.Contains(lower, "ipsec service status"):
			recognised = true
		case strings.HasPrefix(lower, "ipsec server is"):
			recognised = true
			st.Running = !strings.Contains(lower, "not running")
		case strings.HasPrefix(lower, "aesni is"):
			st.AESNI = strings.HasPrefix(lower, "aesni is enabled")
		case strings.HasPrefix(lower, "total "):
			m := totalsLine.FindStringSubmatch(t)
			if m == nil {
				return nil, formatError(cmd, lineNo, "unreadable totals %q", t)
			}
			total, _ := strconv.Atoi(m[2])
			up, _ := strconv.Atoi(m[3])
			down, _ := strconv.Atoi(m[4])
			if strings.EqualFold(m[1], "sites") {
				st.TotalSites, st.SitesUp, st.SitesDown = total, up, down
			} else {
				st.TotalTunnels, st.TunnelsUp, st.TunnelsDown = total, up, down
			}
		case strings.HasPrefix(lower, "site:"):
			recognised = true
			st.Sites = append(st.Sites, Site{Name: strings.TrimSpace(t[len("site:"):])})
			cur = &st.Sites[len(st.Sites)-1]
		case strings.HasPrefix(lower, "channel:"):
			if cur == nil {
				return nil, formatError(cmd, lineNo, "Channel line before any Site")
			}
			kv := keyValues(t[len("channel:"):], "PeerIp", "LocalIP", "Version", "Status", "Reason")
			var err error
			if cur.Channel.PeerIP, err = netip.ParseAddr(kv["PeerIp"]); err != nil {
				return nil, formatError(cmd, lineNo, "channel peer address %q", kv["PeerIp"])
			}
			if cur.Channel.LocalIP, err = netip.ParseAddr(kv["LocalIP"]); err != nil {
				return nil, formatError(cmd, lineNo, "channel local address %q", kv["LocalIP"])
			}
			cur.Channel.Version = kv["Version"]
			cur.Channel.Status = strings.ToUpper(kv["Status"])
			cur.Channel.Reason = kv["Reason"]
			if cur.Channel.Status != StatusUp && cur.Channel.Status != StatusDown {
				return nil, formatError(cmd, lineNo, "channel status %q", kv["Status"])
			}
		case strings.HasPrefix(lower, "tunnel:"):
			if cur == nil {
				return nil, formatError(cmd, lineNo, "Tunnel line before any Site")
			}
			kv := keyValues(t[len("tunnel:"):], "PeerSubnet", "LocalSubnet", "Status", "Reason")
			var tun Tunnel
			var err error
			if tun.PeerSubnet, err = netip.ParsePrefix(kv["PeerSubnet"]); err != nil {
				return nil, formatError(cmd, lineNo, "tunnel peer subnet %q", kv["PeerSubnet"])
			}
			if tun.LocalSubnet, err = netip.ParsePrefix(kv["LocalSubnet"]); err != nil {
				return nil, formatError(cmd, lineNo, "tunnel local subnet %q", kv["LocalSubnet"])
			}
			tun.Status = strings.ToUpper(kv["Status"])
			tun.Reason = kv["Reason"]
			if tun.Status != StatusUp && tun.Status != StatusDown {
				return nil, formatError(cmd, lineNo, "tunnel status %q", kv["Status"])
			}
			cur.Tunnels = append(cur.Tunnels, tun)
		}
	}
	if !recognised {
		return nil, unreadable(cmd, out, 0, "no IPsec status header or site found")
	}
	return st, nil
}
