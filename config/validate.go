package config

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"
)

// Needs says which parts of the configuration a command requires; Validate checks that they
// are present. Whatever is present is checked for form whatever the needs.
type Needs uint

const (
	// NeedStore requires store.path.
	NeedStore Needs = 1 << iota
	// NeedSlack requires the Slack surface of slack.mode: in http mode slack.listen, the bot
	// token and the signing secret; in socket mode the bot token and the app token.
	NeedSlack
	// NeedAccess requires an access section with at least one list.
	NeedAccess
	// NeedInventory requires managers and edges, each edge with its manager, edge_id and ssh.
	NeedInventory

	// NeedAPI requires managers (with credentials) and edges with their manager and edge_id,
	// but no SSH: what reading the NSX API alone needs.
	NeedAPI

	// NeedServe is what `bot serve` requires.
	NeedServe = NeedStore | NeedSlack | NeedAccess | NeedInventory
	// NeedDiagnose is what `bot diagnose` requires.
	NeedDiagnose = NeedInventory
	// NeedIncidents is what `bot incidents` requires.
	NeedIncidents = NeedStore
	// NeedWatch is what `bot watch` requires.
	NeedWatch = NeedStore | NeedAPI
	// NeedHealth is what `bot health` requires.
	NeedHealth = NeedStore
)

// Peer kinds: how the far end's logs and settings are obtained.
const (
	PeerStrongSwan = "strongswan"
	PeerSyslog     = "syslog"
	PeerDeclared   = "declared"
)

// Slack modes.
const (
	SlackHTTP   = "http"
	SlackSocket = "socket"
)

// Capture template names: the keys of capture.templates, one per Edge CLI command the bot
// sends around a capture (diag/edge holds the commands themselves).
const (
	TemplateStart   = "start"
	TemplateStop    = "stop"
	TemplateFiles   = "files"
	TemplateCopy    = "copy"
	TemplateRemove  = "remove"
	TemplateDisplay = "display"
	TemplateStorage = "storage"
	TemplatePing    = "ping"
)

// CaptureTemplateNames are the Edge CLI commands capture.templates may override.
var CaptureTemplateNames = []string{TemplateStart, TemplateStop, TemplateFiles, TemplateCopy,
	TemplateRemove, TemplateDisplay, TemplateStorage, TemplatePing}

// Validate checks the configuration: the form of everything present and the presence of what
// need requires. The error names the first problem, with its line when the config came from a file.
func (c *Config) Validate(need Needs) error {
	v := validator{c: c}
	v.store(need)
	v.slack(need)
	v.access(need)
	v.schedule()
	v.watch()
	v.managers(need)
	v.edges(need)
	return v.err
}

// validator keeps the first error; later checks are skipped once one is found.
type validator struct {
	c   *Config
	err error
}

// failf records a problem at path (keys as strings, list indexes as ints).
func (v *validator) failf(path []any, format string, args ...any) {
	if v.err != nil {
		return
	}
	v.err = &Error{File: v.c.name, Line: v.c.line(path), Path: pathString(path), Msg: fmt.Sprintf(format, args...)}
}

// uniqueName checks a list item's name: given, and not one an earlier item in seen had.
// The error calls it a kind name ("edge") and adds where (` in edge "edge-01"`).
func (v *validator) uniqueName(path []any, name string, seen map[string]bool, kind, where string) {
	switch {
	case name == "":
		v.failf(path, "is required")
	case seen[name]:
		v.failf(path, "duplicate %s name %q%s", kind, name, where)
	}
	seen[name] = true
}

// keyPath builds a path of keys (strings) and list indexes (ints).
func keyPath(elems ...any) []any { return elems }

func (v *validator) store(need Needs) {
	s := v.c.Store
	if need&NeedStore != 0 && s.Path == "" {
		v.failf(keyPath("store", "path"), "is required")
	}
	v.duration(keyPath("store", "health_retention"), s.HealthRetention)
	if b := s.Backup; b != nil {
		switch _, err := cron.ParseStandard(b.Schedule); {
		case b.Schedule == "":
			v.failf(keyPath("store", "backup", "schedule"), "is required: a cron spec such as \"0 3 * * *\"")
		case err != nil:
			v.failf(keyPath("store", "backup", "schedule"), "bad cron spec %q: %v", b.Schedule, err)
		}
		if b.Keep < 0 {
			v.failf(keyPath("store", "backup", "keep"), "must not be negative")
		}
	}
}

func (v *validator) slack(need Needs) {
	s := v.c.Slack
	switch s.Mode {
	case "", SlackHTTP, SlackSocket:
	default:
		v.failf(keyPath("slack", "mode"), "must be %q or %q, not %q", SlackHTTP, SlackSocket, s.Mode)
	}
	if s.Listen != "" {
		v.hostPort(keyPath("slack", "listen"), s.Listen)
	}
	if s.APIURL != "" {
		v.httpURL(keyPath("slack", "api_url"), s.APIURL)
	}
	v.secretRef(keyPath("slack"), "bot_token", s.BotTokenEnv, s.BotTokenFile, need&NeedSlack != 0)
	socket := s.Mode == SlackSocket
	v.secretRef(keyPath("slack"), "app_token", s.AppTokenEnv, s.AppTokenFile, need&NeedSlack != 0 && socket)
	v.secretRef(keyPath("slack"), "signing_secret", s.SigningSecretEnv, s.SigningSecretFile, need&NeedSlack != 0 && !socket)
	if need&NeedSlack != 0 && !socket && s.Listen == "" {
		v.failf(keyPath("slack", "listen"), "is required in http mode")
	}
	for _, ch := range []struct{ key, id string }{{"health_channel", s.HealthChannel}, {"alert_channel", s.AlertChannel}} {
		if ch.id != "" && !slackID(ch.id, "CGD") {
			v.failf(keyPath("slack", ch.key), "%q is not a Slack channel ID (C..., G... or D...)", ch.id)
		}
	}
	if s.IncidentIndexChannel != "" && !slackID(s.IncidentIndexChannel, "CG") {
		v.failf(keyPath("slack", "incident_index_channel"), "%q is not a Slack channel ID (C... or G...)", s.IncidentIndexChannel)
	}
	v.channelPattern(s.IncidentChannelPattern)
	for _, sev := range slices.Sorted(maps.Keys(s.UpdateCadence)) {
		if !slices.Contains(Severities, sev) {
			v.failf(keyPath("slack", "update_cadence", sev), "unknown severity %q (one of %s)", sev, strings.Join(Severities, ", "))
			continue
		}
		if s.UpdateCadence[sev] == "" {
			v.failf(keyPath("slack", "update_cadence", sev), "is empty (a Go duration such as 30m)")
		}
		v.duration(keyPath("slack", "update_cadence", sev), s.UpdateCadence[sev])
	}
	v.duration(keyPath("slack", "archive_after"), s.ArchiveAfter)
	if s.ArtifactsURL != "" {
		v.httpURL(keyPath("slack", "artifacts_url"), s.ArtifactsURL)
	}
	for i, id := range s.Oncall {
		if !slackID(id, "USWG") {
			v.failf(keyPath("slack", "oncall", i), "%q is not a Slack user or user group ID (U..., W..., S...)", id)
		}
	}
}

// channelPattern checks incident_channel_pattern: known placeholders, and characters Slack
// allows in a channel name around them.
func (v *validator) channelPattern(p string) {
	if p == "" {
		return
	}
	path := keyPath("slack", "incident_channel_pattern")
	rest := channelPlaceholder.ReplaceAllStringFunc(p, func(m string) string {
		if !slices.Contains(ChannelPlaceholders, m[1:len(m)-1]) {
			v.failf(path, "unknown placeholder %s (one of {%s})", m, strings.Join(ChannelPlaceholders, "}, {"))
		}
		return ""
	})
	if strings.ContainsAny(rest, "{}") || strings.Trim(rest, "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		v.failf(path, "%q may hold only a-z, 0-9, - and _ around its placeholders", p)
	}
	if !strings.Contains(p, "{edge}") && !strings.Contains(p, "{n}") {
		v.failf(path, "%q names no incident: use {n} or {edge}", p)
	}
}

var channelPlaceholder = regexp.MustCompile(`\{[a-z]*\}`)

func (v *validator) access(need Needs) {
	a := v.c.Access
	lists := []struct {
		key string
		ids []string
	}{{"diagnose", a.Diagnose}, {"capture", a.Capture}, {"escalate", a.Escalate}, {"resolve", a.Resolve}}
	empty := true
	for _, l := range lists {
		for i, id := range l.ids {
			empty = false
			if id != "*" && !slackID(id, "UWSCGD") {
				v.failf(keyPath("access", l.key, i), `%q is neither "*" nor a Slack user, user group or channel ID`, id)
			}
		}
	}
	if need&NeedAccess != 0 && empty {
		v.failf(keyPath("access"), "is required: list who may diagnose, capture, escalate and resolve")
	}
}

func (v *validator) schedule() {
	for _, s := range []struct{ key, spec string }{
		{"health_sweep", v.c.Schedule.HealthSweep},
		{"health_post", v.c.Schedule.HealthPost},
	} {
		if s.spec == "" {
			continue
		}
		if _, err := cron.ParseStandard(s.spec); err != nil {
			v.failf(keyPath("schedule", s.key), "bad cron spec %q: %v", s.spec, err)
		}
	}
}

func (v *validator) watch() {
	w := v.c.Watch
	if w.Interval != "" {
		if _, err := time.ParseDuration(w.Interval); err != nil {
			if _, cerr := cron.ParseStandard(w.Interval); cerr != nil {
				v.failf(keyPath("watch", "interval"), "%q is neither a Go duration (1m) nor a cron spec (@every 1m, */2 * * * *)", w.Interval)
			}
		} else {
			v.duration(keyPath("watch", "interval"), w.Interval)
		}
	}
	if w.Concurrency < 0 || w.Concurrency > 1024 {
		v.failf(keyPath("watch", "concurrency"), "must be between 1 and 1024, not %d", w.Concurrency)
	}
	if w.Flaps < 0 {
		v.failf(keyPath("watch", "flaps"), "must be positive, not %d", w.Flaps)
	}
	v.duration(keyPath("watch", "down_after"), w.DownAfter)
	v.duration(keyPath("watch", "flap_window"), w.FlapWindow)
	v.duration(keyPath("watch", "clear_after"), w.ClearAfter)
	if w.Syslog.Listen != "" {
		v.hostPort(keyPath("watch", "syslog", "listen"), w.Syslog.Listen)
	}
}

func (v *validator) managers(need Needs) {
	api := need&(NeedInventory|NeedAPI) != 0
	if api && len(v.c.Managers) == 0 {
		v.failf(keyPath("managers"), "is required: at least one NSX Manager")
	}
	seen := map[string]bool{}
	for i, m := range v.c.Managers {
		v.uniqueName(keyPath("managers", i, "name"), m.Name, seen, "manager", "")
		if m.URL == "" {
			v.failf(keyPath("managers", i, "url"), "is required")
		} else {
			v.httpURL(keyPath("managers", i, "url"), m.URL)
		}
		if api && m.User == "" {
			v.failf(keyPath("managers", i, "user"), "is required")
		}
		v.secretRef(keyPath("managers", i), "password", m.PasswordEnv, m.PasswordFile, api)
		v.duration(keyPath("managers", i, "timeout"), m.Timeout)
	}
}

func (v *validator) edges(need Needs) {
	api := need&(NeedInventory|NeedAPI) != 0
	if api && len(v.c.Edges) == 0 {
		v.failf(keyPath("edges"), "is required: at least one edge")
	}
	seen := map[string]bool{}
	for i := range v.c.Edges {
		e := &v.c.Edges[i]
		v.uniqueName(keyPath("edges", i, "name"), e.Name, seen, "edge", "")
		if e.Manager != "" {
			if _, ok := v.c.Manager(e.Manager); !ok {
				v.failf(keyPath("edges", i, "manager"), "no manager named %q in managers", e.Manager)
			}
		} else if api {
			v.failf(keyPath("edges", i, "manager"), "is required")
		}
		if api && e.EdgeID == "" {
			v.failf(keyPath("edges", i, "edge_id"), "is required (the NSX edge ID, e.g. edge-1)")
		}
		if e.SSH == nil && need&NeedInventory != 0 {
			v.failf(keyPath("edges", i, "ssh"), "is required")
		}
		v.ssh(keyPath("edges", i, "ssh"), e.SSH, need&NeedInventory != 0)
		v.secretRef(keyPath("edges", i), "enable_password", e.EnablePasswordEnv, e.EnablePasswordFile, false)
		v.timezone(keyPath("edges", i, "log_timezone"), e.LogTimezone)
		v.capture(keyPath("edges", i, "capture"), &e.Capture)
		v.peers(i, e)
	}
}

func (v *validator) peers(edge int, e *Edge) {
	seen := map[string]bool{}
	for j, pr := range e.Peers {
		at := func(key string) []any { return keyPath("edges", edge, "peers", j, key) }
		v.uniqueName(at("name"), pr.Name, seen, "peer", fmt.Sprintf(" in edge %q", e.Name))
		if _, err := netip.ParseAddr(pr.Address); err != nil {
			v.failf(at("address"), "%q is not an IP address", pr.Address)
		}
		switch pr.Kind {
		case PeerStrongSwan:
			if pr.SSH == nil {
				v.failf(at("ssh"), "is required for kind %s", pr.Kind)
			}
		case PeerSyslog:
			if pr.Log == "" {
				v.failf(at("log"), "is required for kind %s", pr.Kind)
			}
		case PeerDeclared:
			if pr.Declared == nil {
				v.failf(at("declared"), "is required for kind %s", pr.Kind)
			}
		default:
			v.failf(at("kind"), "must be one of %s, %s, %s, not %q", PeerStrongSwan, PeerSyslog, PeerDeclared, pr.Kind)
		}
		if pr.SSH != nil && len(pr.SSH.HAAddresses) > 0 {
			v.failf(append(at("ssh"), "ha_addresses"), "is for edges only (a peer has one address)")
		}
		v.ssh(at("ssh"), pr.SSH, true)
		v.timezone(at("log_timezone"), pr.LogTimezone)
		if pr.DataPath != nil {
			v.dataPath(at("datapath"), &pr)
		}
	}
}

var validVMName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$`)

// dataPath checks step 8's inventory: every host it names fully, so nothing unknown is dialled.
func (v *validator) dataPath(path []any, pr *Peer) {
	d := pr.DataPath
	at := func(keys ...any) []any { return append(append([]any{}, path...), keys...) }
	if !validVMName.MatchString(d.VM.Name) {
		v.failf(at("vm", "name"), "%q is not a VM name (letters, digits, '-', '_', '.')", d.VM.Name)
	}
	if _, err := netip.ParseAddr(d.VM.Address); err != nil {
		v.failf(at("vm", "address"), "%q is not an IP address", d.VM.Address)
	}
	if d.VM.NIC < 0 || d.VM.NIC > 9 {
		v.failf(at("vm", "nic"), "must be 0 to 9 (eth0-eth9)")
	}
	if d.Echoes < 0 || d.Echoes > 100 {
		v.failf(at("echoes"), "must be 1 to 100")
	}
	v.dataPathHost(at("vm", "esxi"), d.VM.ESXi)
	if _, err := netip.ParseAddr(d.Remote.Address); err != nil {
		v.failf(at("remote", "address"), "%q is not an IP address", d.Remote.Address)
	}
	switch d.Remote.Via {
	case DataPathViaPeer:
		if pr.SSH == nil {
			v.failf(at("remote", "via"), "is peer, and the peer has no ssh settings")
		}
		if d.Remote.Host != nil {
			v.failf(at("remote", "host"), "is for via: host only")
		}
	case DataPathViaHost:
		v.dataPathHost(at("remote", "host"), d.Remote.Host)
	default:
		v.failf(at("remote", "via"), "must be %s or %s, not %q", DataPathViaPeer, DataPathViaHost, d.Remote.Via)
	}
}

func (v *validator) dataPathHost(path []any, h *DataPathHost) {
	if h == nil {
		v.failf(path, "is required")
		return
	}
	if !validVMName.MatchString(h.Name) {
		v.failf(append(append([]any{}, path...), "name"), "%q is not a host name (letters, digits, '-', '_', '.')", h.Name)
	}
	if h.SSH == nil {
		v.failf(append(append([]any{}, path...), "ssh"), "is required")
		return
	}
	if len(h.SSH.HAAddresses) > 0 {
		v.failf(append(append([]any{}, path...), "ssh", "ha_addresses"), "is for edges only")
	}
	v.ssh(append(append([]any{}, path...), "ssh"), h.SSH, true)
}

// ssh checks an SSH block; strict adds what a connection needs (credentials, host-key policy).
func (v *validator) ssh(path []any, s *SSH, strict bool) {
	if s == nil {
		return
	}
	at := func(key string) []any { return append(append([]any{}, path...), key) }
	if s.Address == "" {
		if strict && len(s.HAAddresses) == 0 {
			v.failf(at("address"), "is required")
		}
	} else {
		v.hostPort(at("address"), s.Address)
	}
	if len(s.HAAddresses) > HAAppliances {
		v.failf(at("ha_addresses"), "has %d addresses: an Edge with HA has %d appliances (HA index 0 and 1)", len(s.HAAddresses), HAAppliances)
	}
	for i, a := range s.HAAddresses {
		v.hostPort(append(at("ha_addresses"), i), a)
	}
	if strict && s.User == "" {
		v.failf(at("user"), "is required")
	}
	v.secretRef(path, "password", s.PasswordEnv, s.PasswordFile, false)
	if strict && s.PasswordEnv == "" && s.PasswordFile == "" && s.KeyFile == "" {
		v.failf(path, "needs password_env, password_file or key_file")
	}
	if strict && s.KnownHosts == "" && !s.InsecureIgnoreHostKey {
		v.failf(at("known_hosts"), "is required (or insecure_ignore_host_key: true, which skips host-key checks)")
	}
	v.duration(at("timeout"), s.Timeout)
	v.duration(at("command_timeout"), s.CommandTimeout)
}

func (v *validator) capture(path []any, c *Capture) {
	at := func(key string) []any { return append(append([]any{}, path...), key) }
	if c.SCPListen != "" {
		v.hostPort(at("scp_listen"), c.SCPListen)
	}
	if c.MaxBytes < 0 {
		v.failf(at("max_bytes"), "must not be negative")
	}
	if c.MaxSeconds < 0 {
		v.failf(at("max_seconds"), "must not be negative")
	}
	for name := range c.Templates {
		known := false
		for _, n := range CaptureTemplateNames {
			known = known || n == name
		}
		if !known {
			v.failf(append(at("templates"), name), "unknown template %q (known: %s)", name, strings.Join(CaptureTemplateNames, ", "))
		}
	}
}

// secretRef checks a NAME_env / NAME_file pair: at most one of them, and one when required.
func (v *validator) secretRef(path []any, name, env, file string, required bool) {
	at := func(suffix string) []any { return append(append([]any{}, path...), name+suffix) }
	switch {
	case env != "" && file != "":
		v.failf(at("_file"), "give %s_env or %s_file, not both", name, name)
	case required && env == "" && file == "":
		v.failf(at("_env"), "is required (or %s_file)", name)
	}
}

func (v *validator) duration(path []any, s string) {
	if s == "" {
		return
	}
	if d, err := time.ParseDuration(s); err != nil || d <= 0 {
		v.failf(path, "%q is not a positive duration (e.g. 30s, 5m, 720h)", s)
	}
}

func (v *validator) hostPort(path []any, s string) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		v.failf(path, "%q is not host:port", s)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.failf(path, "%q has a bad port", s)
	}
	_ = host // an empty host means every interface, which is fine for listeners
}

func (v *validator) httpURL(path []any, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.failf(path, "%q is not an http(s) URL", s)
	}
}

func (v *validator) timezone(path []any, tz string) {
	if tz == "" {
		return
	}
	if _, err := time.LoadLocation(tz); err != nil {
		v.failf(path, "unknown time zone %q", tz)
	}
}

// slackID reports whether id looks like a Slack ID starting with one of the letters in kinds.
func slackID(id, kinds string) bool {
	if len(id) < 3 || !strings.ContainsRune(kinds, rune(id[0])) {
		return false
	}
	for _, r := range id[1:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// pathString renders a path as edges[0].ssh.address.
func pathString(path []any) string {
	var b strings.Builder
	for _, e := range path {
		switch e := e.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", e)
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e)
		}
	}
	return b.String()
}

// line finds the line of path in the parsed document, or of the deepest part of it that
// exists (a missing key is reported at its parent). It is 0 for a Config built in code.
func (c *Config) line(path []any) int {
	n := c.root
	if n == nil {
		return 0
	}
	line := n.Line
	for _, e := range path {
		next, keyLine := child(n, e)
		if next == nil {
			break
		}
		n, line = next, keyLine
	}
	return line
}

// child returns the node under key (string) or index (int) and the line to report it at.
func child(n *yaml.Node, e any) (*yaml.Node, int) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch e := e.(type) {
	case string:
		if n.Kind != yaml.MappingNode {
			return nil, 0
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == e {
				return n.Content[i+1], n.Content[i].Line
			}
		}
	case int:
		if n.Kind == yaml.SequenceNode && e < len(n.Content) {
			return n.Content[e], n.Content[e].Line
		}
	}
	return nil, 0
}
