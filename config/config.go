// Package config reads the bot's YAML configuration: strict (unknown keys are errors with
// their line), validated, and with secrets only through *_env or *_file references.
package config

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"
)

// Config is the whole file. See configs/bot.example.yaml for every key with a comment.
type Config struct {
	Store    Store     `yaml:"store,omitempty"`
	Slack    Slack     `yaml:"slack,omitempty"`
	Access   Access    `yaml:"access,omitempty"`
	Schedule Schedule  `yaml:"schedule,omitempty"`
	Watch    Watch     `yaml:"watch,omitempty"`
	Managers []Manager `yaml:"managers,omitempty"`
	Edges    []Edge    `yaml:"edges,omitempty"`
	Lab      *Lab      `yaml:"lab,omitempty"`

	// Dir is the directory of the file it was loaded from; relative paths resolve against it.
	Dir string `yaml:"-"`
	// LookupEnv reads *_env secrets; nil means os.LookupEnv. Tests and callers with their own
	// environment set it.
	LookupEnv func(key string) (string, bool) `yaml:"-"`

	name string     // the file name errors are reported against
	root *yaml.Node // the parsed document, kept so validation errors carry line numbers
}

// Store is where incidents, health samples and the audit log live.
type Store struct {
	Path string `yaml:"path,omitempty"`
	// Artifacts is the directory incidents' files go to (default: "artifacts" beside the store).
	Artifacts string `yaml:"artifacts,omitempty"`
	// HealthRetention is how long health samples are kept (Go duration, default 720h).
	HealthRetention string `yaml:"health_retention,omitempty"`
	// Backup, when set, makes `bot serve` copy the store on a schedule.
	Backup *Backup `yaml:"backup,omitempty"`
}

// Backup is the store's scheduled backup: a consistent copy written while the bot runs.
type Backup struct {
	Schedule string `yaml:"schedule,omitempty"` // cron spec, e.g. "0 3 * * *"
	// Dir receives bot-<UTC time>.db files (default: "backups" beside the store).
	Dir string `yaml:"dir,omitempty"`
	// Keep is how many backups are kept, the oldest removed first (default DefaultBackupKeep).
	Keep int `yaml:"keep,omitempty"`
}

// DefaultBackupKeep is how many scheduled backups are kept when backup.keep is unset.
const DefaultBackupKeep = 7

// BackupDir is where scheduled backups go.
func (c *Config) BackupDir() string {
	if c.Store.Backup != nil && c.Store.Backup.Dir != "" {
		return c.Path(c.Store.Backup.Dir)
	}
	return filepath.Join(filepath.Dir(c.Path(c.Store.Path)), "backups")
}

// BackupKeep is how many scheduled backups are kept.
func (c *Config) BackupKeep() int {
	if c.Store.Backup != nil && c.Store.Backup.Keep > 0 {
		return c.Store.Backup.Keep
	}
	return DefaultBackupKeep
}

// Slack is the chat surface.
type Slack struct {
	Mode                  string `yaml:"mode,omitempty"`   // http | socket
	Listen                string `yaml:"listen,omitempty"` // host:port for /slack/*, /healthz, /metrics
	APIURL                string `yaml:"api_url,omitempty"`
	BotTokenEnv           string `yaml:"bot_token_env,omitempty"`
	BotTokenFile          string `yaml:"bot_token_file,omitempty"`
	AppTokenEnv           string `yaml:"app_token_env,omitempty"` // socket mode
	AppTokenFile          string `yaml:"app_token_file,omitempty"`
	SigningSecretEnv      string `yaml:"signing_secret_env,omitempty"`
	SigningSecretFile     string `yaml:"signing_secret_file,omitempty"`
	HealthChannel         string `yaml:"health_channel,omitempty"`
	AlertChannel          string `yaml:"alert_channel,omitempty"` // the watcher's alerts (down, unstable, cleared)
	IncidentChannelPrefix string `yaml:"incident_channel_prefix,omitempty"`
	// IncidentChannelPattern names incident channels from {prefix}, {date} (YYYYMMDD), {edge},
	// {site} and {n} (the incident number); default DefaultChannelPattern.
	IncidentChannelPattern string   `yaml:"incident_channel_pattern,omitempty"`
	IncidentIndexChannel   string   `yaml:"incident_index_channel,omitempty"` // one line per incident, edited as it changes
	Oncall                 []string `yaml:"oncall,omitempty"`
	// UpdateCadence is how long an escalated incident may go without a status update before
	// the channel is reminded, by severity (sev1, sev2, sev3: Go durations).
	UpdateCadence map[string]string `yaml:"update_cadence,omitempty"`
	// ArchiveAfter is how long after its resolution an incident channel is archived, or its
	// archiving suggested (Go duration, default 168h).
	ArchiveAfter string `yaml:"archive_after,omitempty"`
	// ArchiveResolved archives the channel then (conversations.archive) instead of reminding.
	ArchiveResolved bool `yaml:"archive_resolved,omitempty"`
	// ArtifactsURL is where the artifacts directory is served over HTTP(S), for the incident
	// channel's bookmarks to the report and the capture (optional).
	ArtifactsURL string `yaml:"artifacts_url,omitempty"`
}

// Incident channel defaults.
const (
	DefaultChannelPrefix  = "inc-"
	DefaultChannelPattern = "{prefix}{date}-{edge}-ipsec"
	DefaultArchiveAfter   = 7 * 24 * time.Hour
)

// Severities are the incident severities, most urgent first.
var Severities = []string{"sev1", "sev2", "sev3"}

// DefaultUpdateCadence is the update reminder's cadence for a severity update_cadence leaves out.
var DefaultUpdateCadence = map[string]time.Duration{"sev1": 30 * time.Minute, "sev2": 2 * time.Hour, "sev3": 24 * time.Hour}

// ChannelPlaceholders are the names incident_channel_pattern may use.
var ChannelPlaceholders = []string{"prefix", "date", "edge", "site", "n"}

// Cadence is how long an incident of severity sev may go without an update.
func (s Slack) Cadence(sev string) time.Duration {
	if d, err := time.ParseDuration(s.UpdateCadence[sev]); err == nil && d > 0 {
		return d
	}
	if d, ok := DefaultUpdateCadence[sev]; ok {
		return d
	}
	return DefaultUpdateCadence["sev3"]
}

// ArchiveDelay is archive_after, or DefaultArchiveAfter.
func (s Slack) ArchiveDelay() time.Duration {
	if d, err := time.ParseDuration(s.ArchiveAfter); err == nil && d > 0 {
		return d
	}
	return DefaultArchiveAfter
}

// ChannelPattern is incident_channel_pattern with its prefix filled in (default inc-).
func (s Slack) ChannelPattern() string {
	p := s.IncidentChannelPattern
	if p == "" {
		p = DefaultChannelPattern
	}
	prefix := s.IncidentChannelPrefix
	if prefix == "" {
		prefix = DefaultChannelPrefix
	}
	return strings.ReplaceAll(p, "{prefix}", prefix)
}

// A secret is named by a pair of keys, NAME_env (an environment variable) or NAME_file (a file,
// relative to the config's directory); the value itself is never in the configuration file.
// Config.Secret(env, file) reads it.

// Access lists who may do what: "*" or user, user group or channel IDs. Absent means deny.
type Access struct {
	Diagnose []string `yaml:"diagnose,omitempty"`
	Capture  []string `yaml:"capture,omitempty"`
	Escalate []string `yaml:"escalate,omitempty"`
	Resolve  []string `yaml:"resolve,omitempty"`
}

// Schedule holds the cron specs of the periodic jobs.
type Schedule struct {
	HealthSweep string `yaml:"health_sweep,omitempty"`
	HealthPost  string `yaml:"health_post,omitempty"`
}

// Watch configures the tunnel watcher (`bot watch`, and `bot serve` later).
type Watch struct {
	// Interval is how often every edge is swept: a Go duration or a cron spec (default 1m).
	Interval    string `yaml:"interval,omitempty"`
	Concurrency int    `yaml:"concurrency,omitempty"` // edges read at once (default 16)
	DownAfter   string `yaml:"down_after,omitempty"`  // read down this long: down (default 2m)
	Flaps       int    `yaml:"flaps,omitempty"`       // this many drops...
	FlapWindow  string `yaml:"flap_window,omitempty"` // ...within this window: unstable (default 3 in 30m)
	ClearAfter  string `yaml:"clear_after,omitempty"` // unstable clears after this long stable up (default 10m)
	// AutoDiagnose starts a diagnosis when a tunnel turns down or unstable (`bot serve`); an
	// edge's own auto_diagnose overrides it.
	AutoDiagnose bool        `yaml:"auto_diagnose,omitempty"`
	Syslog       WatchSyslog `yaml:"syslog,omitempty"`
}

// WatchSyslog is the watcher's syslog receiver: the Edges send their logs to it (UDP and TCP).
type WatchSyslog struct {
	Listen string `yaml:"listen,omitempty"` // host:port (UDP and TCP)
}

// Enabled reports whether the file has a watch section: `bot serve` then runs the watcher.
func (w *Watch) Enabled() bool { return *w != Watch{} }

// Watch defaults.
const (
	DefaultWatchInterval    = time.Minute
	DefaultWatchConcurrency = 16
	DefaultWatchDownAfter   = 2 * time.Minute
	DefaultWatchFlaps       = 3
	DefaultWatchFlapWindow  = 30 * time.Minute
	DefaultWatchClearAfter  = 10 * time.Minute
)

// Next returns the sweep schedule: the time of the sweep after one started at t. An invalid
// interval (Validate reports it) gives the default.
func (w *Watch) Next() func(t time.Time) time.Time {
	if w.Interval != "" {
		if d, err := time.ParseDuration(w.Interval); err == nil && d > 0 {
			return func(t time.Time) time.Time { return t.Add(d) }
		}
		if s, err := cron.ParseStandard(w.Interval); err == nil {
			return s.Next
		}
	}
	return func(t time.Time) time.Time { return t.Add(DefaultWatchInterval) }
}

// Workers is how many edges are read at once.
func (w *Watch) Workers() int { return intOr(w.Concurrency, DefaultWatchConcurrency) }

// DownHold is how long a tunnel reads down before it is down.
func (w *Watch) DownHold() time.Duration { return durationOr(w.DownAfter, DefaultWatchDownAfter) }

// FlapCount is how many drops within FlapPeriod make a tunnel unstable.
func (w *Watch) FlapCount() int { return intOr(w.Flaps, DefaultWatchFlaps) }

// FlapPeriod is the window drops are counted in.
func (w *Watch) FlapPeriod() time.Duration { return durationOr(w.FlapWindow, DefaultWatchFlapWindow) }

// ClearHold is how long an unstable tunnel stays up before it clears.
func (w *Watch) ClearHold() time.Duration { return durationOr(w.ClearAfter, DefaultWatchClearAfter) }

func intOr(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

// Manager is one NSX Manager.
type Manager struct {
	Name         string `yaml:"name,omitempty"`
	URL          string `yaml:"url,omitempty"`
	User         string `yaml:"user,omitempty"`
	PasswordEnv  string `yaml:"password_env,omitempty"`
	PasswordFile string `yaml:"password_file,omitempty"`
	CAFile       string `yaml:"ca_file,omitempty"`
	Timeout      string `yaml:"timeout,omitempty"` // per request, Go duration, default 30s
}

// Edge is one NSX Edge Services Gateway.
type Edge struct {
	Name     string `yaml:"name,omitempty"`
	Manager  string `yaml:"manager,omitempty"`
	EdgeID   string `yaml:"edge_id,omitempty"`
	SSH      *SSH   `yaml:"ssh,omitempty"`
	Uplink   string `yaml:"uplink,omitempty"`
	Internal string `yaml:"internal,omitempty"`
	Peers    []Peer `yaml:"peers,omitempty"`
	// The enable-mode password; default: the login password.
	EnablePasswordEnv  string `yaml:"enable_password_env,omitempty"`
	EnablePasswordFile string `yaml:"enable_password_file,omitempty"`
	// Capture holds the capture settings and command templates for Edge builds whose CLI differs.
	Capture Capture `yaml:"capture,omitempty"`
	// LogTimezone is the time zone of the Edge's log lines (IANA name, default UTC).
	LogTimezone string `yaml:"log_timezone,omitempty"`
	// AutoDiagnose overrides watch.auto_diagnose for this edge (true or false).
	AutoDiagnose *bool `yaml:"auto_diagnose,omitempty"`
}

// SSH is how to reach a host over SSH.
type SSH struct {
	Address string `yaml:"address,omitempty"`
	// HAAddresses is, for an Edge with HA, the address (host:port) of each appliance by its HA
	// index (0, 1): the bot dials the one the NSX API reports active, and Address when the API
	// cannot say. Edges only.
	HAAddresses           []string `yaml:"ha_addresses,omitempty"`
	User                  string   `yaml:"user,omitempty"`
	PasswordEnv           string   `yaml:"password_env,omitempty"`
	PasswordFile          string   `yaml:"password_file,omitempty"`
	KeyFile               string   `yaml:"key_file,omitempty"`
	KnownHosts            string   `yaml:"known_hosts,omitempty"`
	InsecureIgnoreHostKey bool     `yaml:"insecure_ignore_host_key,omitempty"`
	Timeout               string   `yaml:"timeout,omitempty"`         // connect, Go duration, default 10s
	CommandTimeout        string   `yaml:"command_timeout,omitempty"` // per command, default 30s
}

// HAAppliances is how many appliances an NSX-v Edge with HA runs (HA index 0 and 1).
const HAAppliances = 2

// DefaultAddress is the address to dial when the active HA appliance is not known: Address,
// else the appliance of HA index 0.
func (s *SSH) DefaultAddress() string {
	if s.Address == "" && len(s.HAAddresses) > 0 {
		return s.HAAddresses[0]
	}
	return s.Address
}

// Capture configures packet captures on the Edge and how their files come back.
type Capture struct {
	// SCPListen is where the bot's receive-only SCP endpoint listens (e.g. 0.0.0.0:2222).
	SCPListen string `yaml:"scp_listen,omitempty"`
	// SCPAddress is the host the Edge is told to `debug copy scp` to; it connects to port 22
	// there, so a DNAT from 22 to SCPListen (or CAP_NET_BIND_SERVICE) is needed.
	SCPAddress string `yaml:"scp_address,omitempty"`
	MaxBytes   int64  `yaml:"max_bytes,omitempty"`   // size cap of one capture file (default 64 MiB)
	MaxSeconds int    `yaml:"max_seconds,omitempty"` // time cap (default DefaultCaptureCapSeconds)
	// Templates override the Edge CLI commands, keyed by name (CaptureTemplateNames).
	Templates map[string]string `yaml:"templates,omitempty"`
}

// Peer is the third-party gateway at the far end of an IPsec site.
type Peer struct {
	Name    string `yaml:"name,omitempty"`
	Address string `yaml:"address,omitempty"` // the peer's IKE endpoint IP
	Kind    string `yaml:"kind,omitempty"`    // strongswan | syslog | declared
	SSH     *SSH   `yaml:"ssh,omitempty"`
	// Log is a path on this machine where the peer's log is collected (kind syslog).
	Log         string `yaml:"log,omitempty"`
	LogTimezone string `yaml:"log_timezone,omitempty"`
	// Declared is the peer's IPsec settings when they cannot be read from it (SonicWall, WatchGuard...).
	Declared *PeerSettings `yaml:"declared,omitempty"`
	// DataPath names the hosts step 8 follows a ping between; without it step 8 does not run.
	DataPath *DataPath `yaml:"datapath,omitempty"`
}

// DataPath is step 8's inventory for one tunnel: a VM on our side, the ESXi host it runs on,
// and a host on the far side. Step 8 pings and captures on these hosts only.
type DataPath struct {
	VM     DataPathVM     `yaml:"vm,omitempty"`
	Remote DataPathRemote `yaml:"remote,omitempty"`
	Echoes int            `yaml:"echoes,omitempty"` // echo requests per ping, 1-100 (default 4)
}

// DataPathVM is the VM behind the Edge (capture point 1 is its port on its ESXi host).
type DataPathVM struct {
	Name    string        `yaml:"name,omitempty"`    // the VM's name on its ESXi host (net-stats -l)
	Address string        `yaml:"address,omitempty"` // its IP, inside the tunnel's local subnets
	NIC     int           `yaml:"nic,omitempty"`     // its vNIC (ethN), default 0
	ESXi    *DataPathHost `yaml:"esxi,omitempty"`
}

// DataPathRemote is the host behind the peer (capture point 4 is taken on the far side).
type DataPathRemote struct {
	Address string `yaml:"address,omitempty"` // its IP, inside the tunnel's remote subnets
	// Via is where point 4 is captured and the pings sent from: "peer" (the peer gateway, over
	// the peer's ssh settings) or "host" (the remote host itself, over Host).
	Via  string        `yaml:"via,omitempty"`
	Host *DataPathHost `yaml:"host,omitempty"`
}

// DataPathHost is a host step 8 runs commands on.
type DataPathHost struct {
	Name string `yaml:"name,omitempty"` // for reports and errors
	SSH  *SSH   `yaml:"ssh,omitempty"`
}

// How the far side of the data path is reached.
const (
	DataPathViaPeer = "peer"
	DataPathViaHost = "host"
)

// EchoCount is how many echo requests each ping of step 8 sends.
func (d *DataPath) EchoCount() int {
	if d.Echoes <= 0 {
		return 4
	}
	return d.Echoes
}

// PeerSettings are one side's IPsec settings, for the interoperability check.
type PeerSettings struct {
	IKEVersion   string   `yaml:"ike_version,omitempty"` // ikev1 | ikev2
	Encryption   string   `yaml:"encryption,omitempty"`  // aes256, aes128, aes-gcm ...
	Digest       string   `yaml:"digest,omitempty"`      // sha1, sha256 ...
	DHGroup      string   `yaml:"dh_group,omitempty"`    // dh14 ...
	PFS          bool     `yaml:"pfs,omitempty"`
	PFSGroup     string   `yaml:"pfs_group,omitempty"`
	IKELifetime  int      `yaml:"ike_lifetime,omitempty"` // seconds
	ESPLifetime  int      `yaml:"esp_lifetime,omitempty"` // seconds
	LocalID      string   `yaml:"local_id,omitempty"`
	PeerID       string   `yaml:"peer_id,omitempty"`
	LocalSubnets []string `yaml:"local_subnets,omitempty"`
	PeerSubnets  []string `yaml:"peer_subnets,omitempty"`
	AuthMode     string   `yaml:"auth_mode,omitempty"` // psk | x.509
}

// Lab marks a configuration written by `bot lab`; the engine then knows the peer's log
// and capture point are simulated.
type Lab struct {
	Scenario string `yaml:"scenario,omitempty"`
}

// Defaults for the optional durations and limits.
const (
	DefaultSSHTimeout      = 10 * time.Second
	DefaultCommandTimeout  = 30 * time.Second
	DefaultManagerTimeout  = 30 * time.Second
	DefaultHealthRetention = 720 * time.Hour
	DefaultCaptureBytes    = 64 << 20
	// DefaultCaptureWindowSeconds is how long a diagnosis captures when its request names no
	// window.
	DefaultCaptureWindowSeconds = 60
	// DefaultCaptureCapSeconds is the longest a capture may run when capture.max_seconds is
	// unset: no window may exceed it, and the Edge's capture is stopped at it.
	DefaultCaptureCapSeconds = 300
)

// Path resolves p against the configuration's directory; absolute and empty paths are returned as is.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// ArtifactsDir is where incidents' files go: store.artifacts, or "artifacts" beside the store
// file, resolved against the configuration's directory.
func (c *Config) ArtifactsDir() string {
	if c.Store.Artifacts != "" {
		return c.Path(c.Store.Artifacts)
	}
	return filepath.Join(filepath.Dir(c.Path(c.Store.Path)), "artifacts")
}

// Edge returns the edge with the given name.
func (c *Config) Edge(name string) (*Edge, bool) {
	for i := range c.Edges {
		if c.Edges[i].Name == name {
			return &c.Edges[i], true
		}
	}
	return nil, false
}

// AutoDiagnose reports whether a tunnel of the edge turning down or unstable starts a
// diagnosis: the edge's auto_diagnose, else watch.auto_diagnose.
func (c *Config) AutoDiagnose(edge string) bool {
	if e, ok := c.Edge(edge); ok && e.AutoDiagnose != nil {
		return *e.AutoDiagnose
	}
	return c.Watch.AutoDiagnose
}

// Manager returns the NSX Manager with the given name.
func (c *Config) Manager(name string) (*Manager, bool) {
	for i := range c.Managers {
		if c.Managers[i].Name == name {
			return &c.Managers[i], true
		}
	}
	return nil, false
}

// EdgeNames lists the edges in file order.
func (c *Config) EdgeNames() []string {
	names := make([]string, len(c.Edges))
	for i, e := range c.Edges {
		names[i] = e.Name
	}
	return names
}

// Peer returns the edge's peer with the given name.
func (e *Edge) Peer(name string) (*Peer, bool) {
	for i := range e.Peers {
		if e.Peers[i].Name == name {
			return &e.Peers[i], true
		}
	}
	return nil, false
}

// Retention is how long health samples are kept.
func (s *Store) Retention() time.Duration {
	return durationOr(s.HealthRetention, DefaultHealthRetention)
}

// RequestTimeout bounds one NSX API request.
func (m *Manager) RequestTimeout() time.Duration { return durationOr(m.Timeout, DefaultManagerTimeout) }

// DialTimeout bounds connecting and the SSH handshake. A nil SSH gives the default.
func (s *SSH) DialTimeout() time.Duration {
	if s == nil {
		return DefaultSSHTimeout
	}
	return durationOr(s.Timeout, DefaultSSHTimeout)
}

// CmdTimeout bounds one CLI command. A nil SSH gives the default.
func (s *SSH) CmdTimeout() time.Duration {
	if s == nil {
		return DefaultCommandTimeout
	}
	return durationOr(s.CommandTimeout, DefaultCommandTimeout)
}

// ByteLimit is the size cap of one capture file.
func (c *Capture) ByteLimit() int64 {
	if c.MaxBytes > 0 {
		return c.MaxBytes
	}
	return DefaultCaptureBytes
}

// TimeLimit is the longest a capture may run.
func (c *Capture) TimeLimit() time.Duration {
	if c.MaxSeconds > 0 {
		return time.Duration(c.MaxSeconds) * time.Second
	}
	return DefaultCaptureCapSeconds * time.Second
}

// durationOr parses s, falling back to def when s is empty or invalid (Validate reports invalid ones).
func durationOr(s string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d
	}
	return def
}
