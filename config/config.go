// Package config reads the bot's YAML configuration: strict (unknown keys are errors with
// their line), validated, and with secrets only through *_env or *_file references.
package config

// Config is the whole file. See configs/bot.example.yaml for every key with a comment.
type Config struct {
	Store    Store     `yaml:"store"`
	Slack    Slack     `yaml:"slack"`
	Access   Access    `yaml:"access"`
	Schedule Schedule  `yaml:"schedule"`
	Managers []Manager `yaml:"managers"`
	Edges    []Edge    `yaml:"edges"`
	Lab      *Lab      `yaml:"lab,omitempty"`

	// Dir is the directory of the file it was loaded from; relative paths resolve against it.
	Dir string `yaml:"-"`
}

// Store is where incidents, health samples and the audit log live.
type Store struct {
	Path string `yaml:"path"`
	// Artifacts is the directory incidents' files go to (default: "artifacts" beside the store).
	Artifacts string `yaml:"artifacts,omitempty"`
	// HealthRetention is how long health samples are kept (Go duration, default 720h).
	HealthRetention string `yaml:"health_retention,omitempty"`
}

// Slack is the chat surface.
type Slack struct {
	Mode                  string   `yaml:"mode"`   // http | socket
	Listen                string   `yaml:"listen"` // host:port for /slack/*, /healthz, /metrics
	APIURL                string   `yaml:"api_url"`
	BotTokenEnv           string   `yaml:"bot_token_env"`
	BotTokenFile          string   `yaml:"bot_token_file"`
	AppTokenEnv           string   `yaml:"app_token_env"` // socket mode
	AppTokenFile          string   `yaml:"app_token_file"`
	SigningSecretEnv      string   `yaml:"signing_secret_env"`
	SigningSecretFile     string   `yaml:"signing_secret_file"`
	HealthChannel         string   `yaml:"health_channel"`
	IncidentChannelPrefix string   `yaml:"incident_channel_prefix"`
	Oncall                []string `yaml:"oncall"`
}

// A secret is named by a pair of keys, NAME_env (an environment variable) or NAME_file (a file,
// relative to the config's directory); the value itself is never in the configuration file.
// Config.Secret(env, file) reads it.

// Access lists who may do what: "*" or user, user group or channel IDs. Absent means deny.
type Access struct {
	Diagnose []string `yaml:"diagnose"`
	Capture  []string `yaml:"capture"`
	Escalate []string `yaml:"escalate"`
	Resolve  []string `yaml:"resolve"`
}

// Schedule holds the cron specs of the periodic jobs.
type Schedule struct {
	HealthSweep string `yaml:"health_sweep"`
	HealthPost  string `yaml:"health_post"`
}

// Manager is one NSX Manager.
type Manager struct {
	Name         string `yaml:"name"`
	URL          string `yaml:"url"`
	User         string `yaml:"user"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	CAFile       string `yaml:"ca_file"`
	Timeout      string `yaml:"timeout,omitempty"` // per request, Go duration, default 30s
}

// Edge is one NSX Edge Services Gateway.
type Edge struct {
	Name     string `yaml:"name"`
	Manager  string `yaml:"manager"`
	EdgeID   string `yaml:"edge_id"`
	SSH      *SSH   `yaml:"ssh"`
	Uplink   string `yaml:"uplink"`
	Internal string `yaml:"internal"`
	Peers    []Peer `yaml:"peers"`
	// The enable-mode password; default: the login password.
	EnablePasswordEnv  string `yaml:"enable_password_env"`
	EnablePasswordFile string `yaml:"enable_password_file"`
	// Capture holds the capture settings and command templates for Edge builds whose CLI differs.
	Capture Capture `yaml:"capture"`
	// LogTimezone is the time zone of the Edge's log lines (IANA name, default UTC).
	LogTimezone string `yaml:"log_timezone"`
}

// SSH is how to reach a host over SSH.
type SSH struct {
	Address               string `yaml:"address"`
	User                  string `yaml:"user"`
	PasswordEnv           string `yaml:"password_env"`
	PasswordFile          string `yaml:"password_file"`
	KeyFile               string `yaml:"key_file"`
	KnownHosts            string `yaml:"known_hosts"`
	InsecureIgnoreHostKey bool   `yaml:"insecure_ignore_host_key"`
	Timeout               string `yaml:"timeout,omitempty"`         // connect, Go duration, default 10s
	CommandTimeout        string `yaml:"command_timeout,omitempty"` // per command, default 30s
}

// Capture configures packet captures on the Edge and how their files come back.
type Capture struct {
	// SCPListen is where the bot's receive-only SCP endpoint listens (e.g. 0.0.0.0:2222).
	SCPListen string `yaml:"scp_listen"`
	// SCPAddress is the host the Edge is told to `debug copy scp` to; it connects to port 22
	// there, so a DNAT from 22 to SCPListen (or CAP_NET_BIND_SERVICE) is needed.
	SCPAddress string `yaml:"scp_address"`
	MaxBytes   int64  `yaml:"max_bytes"`   // size cap of one capture file (default 64 MiB)
	MaxSeconds int    `yaml:"max_seconds"` // time cap (default 300)
	// Templates override the Edge CLI commands, keyed by name (start, stop, files, copy, remove, display).
	Templates map[string]string `yaml:"templates"`
}

// Peer is the third-party gateway at the far end of an IPsec site.
type Peer struct {
	Name    string `yaml:"name"`
	Address string `yaml:"address"` // the peer's IKE endpoint IP
	Kind    string `yaml:"kind"`    // strongswan | syslog | declared
	SSH     *SSH   `yaml:"ssh"`
	// Log is a path on this machine where the peer's log is collected (kind syslog).
	Log         string `yaml:"log"`
	LogTimezone string `yaml:"log_timezone"`
	// Declared is the peer's IPsec settings when they cannot be read from it (SonicWall, WatchGuard...).
	Declared *PeerSettings `yaml:"declared"`
}

// PeerSettings are one side's IPsec settings, for the interoperability check.
type PeerSettings struct {
	IKEVersion   string   `yaml:"ike_version"` // ikev1 | ikev2
	Encryption   string   `yaml:"encryption"`  // aes256, aes128, aes-gcm ...
	Digest       string   `yaml:"digest"`      // sha1, sha256 ...
	DHGroup      string   `yaml:"dh_group"`    // dh14 ...
	PFS          bool     `yaml:"pfs"`
	PFSGroup     string   `yaml:"pfs_group"`
	IKELifetime  int      `yaml:"ike_lifetime"` // seconds
	ESPLifetime  int      `yaml:"esp_lifetime"` // seconds
	LocalID      string   `yaml:"local_id"`
	PeerID       string   `yaml:"peer_id"`
	LocalSubnets []string `yaml:"local_subnets"`
	PeerSubnets  []string `yaml:"peer_subnets"`
	AuthMode     string   `yaml:"auth_mode"` // psk | x.509
}

// Lab marks a configuration written by `bot lab`; the engine then knows the peer's log
// and capture point are simulated.
type Lab struct {
	Scenario string `yaml:"scenario"`
}
