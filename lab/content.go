package lab

import (
	"bufio"
	"embed"
	"fmt"
	"io/fs"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"ipsecbot/diag"
)

//go:embed testdata/fixtures
var fixtures embed.FS

// The lab's addresses: documentation ranges, not the fixtures' own (192.0.2.1/.2), so the
// rewrite is visible and no test can pass by reading a fixture straight from disk.
var (
	EdgeUplinkIP = netip.MustParseAddr("198.51.100.1")
	PeerIP       = netip.MustParseAddr("203.0.113.2")
)

// fixtureAddrs maps the fixtures' WAN addresses (variant "default") to the lab's.
var fixtureAddrs = map[netip.Addr]netip.Addr{
	netip.MustParseAddr("192.0.2.1"): EdgeUplinkIP,
	netip.MustParseAddr("192.0.2.2"): PeerIP,
}

// The failure messages of docs/procedure.md step 7, verbatim. The lab's Manager and Edge show
// one only where the procedure's table has a row for the scenario's cause.
const (
	msgV1Unreachable   = "Version-IKEv1 Retransmitting IKE Message as no response from Peer."
	msgV1NoProposal    = "Version-IKEv1 No Proposal Chosen.Check configured Encryption/Authentication/DH/IKE-Version."
	msgV1AuthFailed    = "Version-IKEv1 Authentication Failed.Check the configured secret or local/peer ID configuration."
	msgV2Unreachable   = "Version-IKEv2 Retransmitting IKE Message as no response from Peer."
	msgV2NoProposal    = "Version-IKEv2 No Proposal Chosen.Check configured Encrypt/Authentication/DH/IKEversion."
	msgV2AuthFailed    = "Version-IKEv2 Authentication Failed.Check the configured secret or local/peer ID configuration."
	msgIPsecProposals  = "IPSec-SA Proposals or Traffic Selectors did not match."
	msgV2TrafficSelect = "Traffic selectors did not match.Check left/right subnet configuration."
)

// failureMessage is the documented message for a cause, or "" where the table has no row.
// IKEv1 has no selector-only row: its phase 2 message names both proposals and selectors.
func failureMessage(c diag.Cause, ikeVersion int) string {
	v1 := ikeVersion == 1
	switch c {
	case diag.CausePeerUnreachable:
		return pick(v1, msgV1Unreachable, msgV2Unreachable)
	case diag.CauseIKEProposalMismatch:
		return pick(v1, msgV1NoProposal, msgV2NoProposal)
	case diag.CauseAuthFailed:
		return pick(v1, msgV1AuthFailed, msgV2AuthFailed)
	case diag.CauseIPsecProposalMismatch:
		return msgIPsecProposals
	case diag.CauseTrafficSelectorMismatch:
		return pick(v1, msgIPsecProposals, msgV2TrafficSelect)
	}
	return ""
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

// content is everything a scenario shows, already rewritten to the lab's addresses.
type content struct {
	scenario Scenario
	edgeLog  string // syslog form, as `show log` and the tech support bundle give it
	peerLog  string // charon's own log file, as the peer serves it
	capture  []byte // pcap of the Edge's uplink
	edge     swanConn
	peer     swanConn
	// edgeSAs and peerSAs are `swanctl --list-sas` text of each side at the end of the fixture.
	edgeSAs, peerSAs string
	channelUp        bool
	tunnelUp         bool
	failure          string // documented failure message, or ""
	syslogConfigured bool
}

// loadContent builds a scenario's content from its fixture (or synthesizes it).
func loadContent(sc Scenario, edgeHost string) (*content, error) {
	if sc.Synthesized() {
		return unknownContent(sc, edgeHost)
	}
	read := func(name string) (string, error) {
		b, err := fs.ReadFile(fixtures, "testdata/fixtures/"+sc.Fixture+"/"+name)
		if err != nil {
			return "", fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
		return rewriteText(string(b)), nil
	}
	c := &content{scenario: sc, syslogConfigured: true}
	var err error
	var edgeLog, edgeConf, peerConf, sas string
	for _, f := range []struct {
		dst  *string
		name string
	}{
		{&edgeLog, "edgeA-charon.log"}, {&c.peerLog, "peerB-charon.log"},
		{&edgeConf, "config/edgeA/swanctl.conf"}, {&peerConf, "config/peerB/swanctl.conf"},
		{&sas, "swanctl-list-sas.txt"},
	} {
		if *f.dst, err = read(f.name); err != nil {
			return nil, err
		}
	}
	if c.edgeLog, err = toSyslog(edgeLog, edgeHost); err != nil {
		return nil, fmt.Errorf("scenario %s: edge log: %w", sc.Name, err)
	}
	if c.edge, err = parseSwanctlConf(edgeConf); err != nil {
		return nil, fmt.Errorf("scenario %s: edge swanctl.conf: %w", sc.Name, err)
	}
	if c.peer, err = parseSwanctlConf(peerConf); err != nil {
		return nil, fmt.Errorf("scenario %s: peer swanctl.conf: %w", sc.Name, err)
	}
	c.edgeSAs = sasSection(sas, "edgeA")
	if c.peerSAs = sasSection(sas, "peerB"); c.peerSAs == "" {
		c.peerSAs = mirrorListSAs(c.edgeSAs)
	}
	c.channelUp = strings.Contains(c.edgeSAs, "ESTABLISHED")
	c.tunnelUp = strings.Contains(c.edgeSAs, "INSTALLED")
	if !c.channelUp || !c.tunnelUp {
		c.failure = failureMessage(sc.Label, sc.IKEVersion)
	}
	pcap, err := fs.ReadFile(fixtures, "testdata/fixtures/"+sc.Fixture+"/capture.pcap")
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	if c.capture, err = rewriteCapture(pcap); err != nil {
		return nil, fmt.Errorf("scenario %s: capture: %w", sc.Name, err)
	}
	return c, nil
}

// unknownContent synthesizes the `unknown` scenario, for which no fixture exists: the tunnel
// is down and nothing says why. Both logs hold only the daemons' start-up noise (the first
// lines of the healthy fixture, before any IKE traffic), the capture holds no packet at all,
// the statistics carry no message, and the Edge has no remote syslog configured.
func unknownContent(sc Scenario, edgeHost string) (*content, error) {
	base, err := loadContent(Scenario{Name: sc.Name, Label: sc.Label, IKEVersion: 2, Fixture: "ikev2-healthy"}, edgeHost)
	if err != nil {
		return nil, err
	}
	quiet := func(log string) string {
		var keep []string
		for line := range strings.Lines(log) {
			if strings.Contains(line, "[IKE]") || strings.Contains(line, "[ENC]") ||
				strings.Contains(line, "[NET]") && strings.Contains(line, " packet") {
				break // the first IKE activity: everything before it is start-up noise
			}
			keep = append(keep, line)
		}
		return strings.Join(keep, "")
	}
	c := &content{
		scenario: sc,
		edgeLog:  quiet(base.edgeLog),
		peerLog:  quiet(base.peerLog),
		edge:     base.edge,
		peer:     base.peer,
	}
	if c.capture, err = emptyCapture(); err != nil {
		return nil, err
	}
	return c, nil
}

// rewriteText replaces the fixtures' WAN addresses with the lab's, whole addresses only
// (192.0.2.1 must not touch 192.0.2.10): it reads every run of digits and dots as a token.
func rewriteText(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/16)
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			j := i + 1
			for j < len(s) && !isDigit(s[j]) {
				j++
			}
			b.WriteString(s[i:j])
			i = j
			continue
		}
		// A token is digits with single dots between them: "192.0.2.1...192.0.2.2" is two.
		j := i
		for j < len(s) && (isDigit(s[j]) || s[j] == '.' && j+1 < len(s) && isDigit(s[j+1])) {
			j++
		}
		tok := s[i:j]
		if a, err := netip.ParseAddr(tok); err == nil && (i == 0 || !isAlnum(s[i-1])) {
			if to, ok := fixtureAddrs[a]; ok {
				tok = to.String()
			}
		}
		b.WriteString(tok)
		i = j
	}
	return b.String()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlnum(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// charonLine is a line of charon's filelog as the fixtures were written:
// "2026-11-27T04:18:38.915 00[DMN] message".
var charonLine = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)? (.*)$`)

// toSyslog turns charon's filelog into the Edge's syslog form, year-less like a real Edge:
// "Nov 27 04:18:38 edge-01-0 charon: 15[IKE] <s2s|1> ...".
func toSyslog(log, host string) (string, error) {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		m := charonLine.FindStringSubmatch(sc.Text())
		if m == nil {
			return "", fmt.Errorf("line %d: not a charon log line: %q", n, sc.Text())
		}
		t, err := time.Parse("2006-01-02T15:04:05", m[1])
		if err != nil {
			return "", fmt.Errorf("line %d: %w", n, err)
		}
		fmt.Fprintf(&b, "%s %s charon: %s\n", t.Format(time.Stamp), host, m[2])
	}
	return b.String(), sc.Err()
}

// sasSection cuts the `swanctl --list-sas` output of one side out of swanctl-list-sas.txt,
// whose sections start with "### swanctl --list-sas (edgeA, 04:18:41)".
func sasSection(file, side string) string {
	var out []string
	in := false
	for line := range strings.Lines(file) {
		if strings.HasPrefix(line, "### ") {
			in = strings.HasPrefix(line, "### swanctl --list-sas ("+side)
			continue
		}
		if in {
			out = append(out, line)
		}
	}
	return strings.TrimSpace(strings.Join(out, "")) + trailingNewline(out)
}

func trailingNewline(lines []string) string {
	if strings.TrimSpace(strings.Join(lines, "")) == "" {
		return ""
	}
	return "\n"
}

// syslogLine is the Edge's log form: "Nov 27 04:18:38 edge-01-0 charon: ...".
var syslogLine = regexp.MustCompile(`^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ charon: `)
