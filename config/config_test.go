package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"ipsecbot/config"
)

const examplePath = "../configs/bot.example.yaml"

// Ensure the documented example loads and satisfies what `bot serve` needs.
func TestLoad_Example(t *testing.T) {
	c, err := config.Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(config.NeedServe); err != nil {
		t.Fatal(err)
	}
	if got := c.EdgeNames(); !reflect.DeepEqual(got, []string{"edge-01"}) {
		t.Errorf("EdgeNames = %q", got)
	}
	e, ok := c.Edge("edge-01")
	if !ok {
		t.Fatal("edge-01 not found")
	}
	if m, ok := c.Manager(e.Manager); !ok || m.URL != "https://nsxmgr-a.example" {
		t.Errorf("Manager(%q) = %+v, %v", e.Manager, m, ok)
	}
	if len(e.SSH.HAAddresses) != 2 || e.SSH.DefaultAddress() != "edge-01.example:22" {
		t.Errorf("ssh = %+v", e.SSH)
	}
	if len(e.Peers) != 3 || e.Peers[2].Declared == nil || e.Peers[2].Declared.DHGroup != "dh14" {
		t.Errorf("peers = %+v", e.Peers)
	}
	dir, _ := filepath.Abs("../configs")
	if got, want := c.Path(c.Store.Path), filepath.Join(dir, "data/bot.db"); got != want {
		t.Errorf("store path = %q, want %q", got, want)
	}
	if got, want := c.ArtifactsDir(), filepath.Join(dir, "data/artifacts"); got != want {
		t.Errorf("artifacts dir = %q, want %q", got, want)
	}
	c.Store.Artifacts = ""
	c.Store.Path = "/var/lib/bot/bot.db"
	if got := c.ArtifactsDir(); got != "/var/lib/bot/artifacts" {
		t.Errorf("default artifacts dir = %q", got)
	}
	if got := c.Schedule.HealthPost; got != "0 9 * * 1-5" {
		t.Errorf("health_post = %q", got)
	}
	if _, ok := c.Edge("edge-99"); ok {
		t.Error("Edge(edge-99) found")
	}
}

// Ensure the example documents every key the Config type has (set, or named in a comment).
func TestExample_DocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if !regexp.MustCompile(`\b` + regexp.QuoteMeta(name) + `\b`).MatchString(text) {
				t.Errorf("%s.%s (key %q) is not in %s", typ.Name(), f.Name, name, examplePath)
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[config.Config]())
}

// Ensure every rule of the file format rejects its bad config with one line naming file, line and problem.
func TestLoad_BadConfigs(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"invalid-unknown-key.yaml", `:13: unknown key "pasword_env" in edges[0].ssh`},
		{"invalid-unknown-top-key.yaml", `:2: unknown key "stores" in the top level`},
		{"invalid-literal-secret.yaml", `:6: literal secrets are not allowed: use password_env or password_file`},
		{"invalid-literal-key.yaml", `:6: literal secrets are not allowed: use key_file`},
		{"invalid-duplicate-edge.yaml", `:8: edges[1].name: duplicate edge name "edge-01"`},
		{"invalid-duplicate-manager.yaml", `:3: managers[1].name: duplicate manager name "nsxmgr-a"`},
		{"invalid-duplicate-peer.yaml", `:8: edges[0].peers[1].name: duplicate peer name "branch-fw" in edge "edge-01"`},
		{"invalid-bad-cron.yaml", `:4: schedule.health_post: bad cron spec "0 9 * * 1-5 2026": expected exactly 5 fields, found 6: [0 9 * * 1-5 2026]`},
		{"invalid-unknown-manager.yaml", `:5: edges[0].manager: no manager named "nsxmgr-b" in managers`},
		{"invalid-peer-address.yaml", `:5: edges[0].peers[0].address: "branch-fw.example" is not an IP address`},
		{"invalid-peer-kind.yaml", `:4: edges[0].peers[0].kind: must be one of strongswan, syslog, declared, not "cisco"`},
		{"invalid-manager-url.yaml", `:3: managers[0].url: "ftp://nsxmgr-a.example" is not an http(s) URL`},
		{"invalid-ssh-address.yaml", `:4: edges[0].ssh.address: "edge-01.example" is not host:port`},
		{"invalid-ha-address.yaml", `:7: edges[0].ssh.ha_addresses[1]: "edge-01-1.example" is not host:port`},
		{"invalid-ha-too-many.yaml", `:4: edges[0].ssh.ha_addresses: has 3 addresses: an Edge with HA has 2 appliances (HA index 0 and 1)`},
		{"invalid-ha-unknown-key.yaml", `:5: unknown key "ha_address" in edges[0].ssh`},
		{"invalid-ha-peer.yaml", `:9: edges[0].peers[0].ssh.ha_addresses: is for edges only (a peer has one address)`},
		{"invalid-access-id.yaml", `:3: access.capture[1]: "alice" is neither "*" nor a Slack user, user group or channel ID`},
		{"invalid-slack-mode.yaml", `:2: slack.mode: must be "http" or "socket", not "rtm"`},
		{"invalid-update-cadence.yaml", `:4: slack.update_cadence.sev4: unknown severity "sev4" (one of sev1, sev2, sev3)`},
		{"invalid-channel-pattern.yaml", `:2: slack.incident_channel_pattern: unknown placeholder {peer} (one of {prefix}, {date}, {edge}, {site}, {n})`},
		{"invalid-channel-pattern-chars.yaml", `:2: slack.incident_channel_pattern: "INC {n}" may hold only a-z, 0-9, - and _ around its placeholders`},
		{"invalid-watch-interval.yaml", `:4: watch.interval: "every minute" is neither a Go duration (1m) nor a cron spec (@every 1m, */2 * * * *)`},
		{"invalid-watch-syslog.yaml", `:6: watch.syslog.listen: "514" is not host:port`},
		{"invalid-duration.yaml", `:3: store.health_retention: "30d" is not a positive duration (e.g. 30s, 5m, 720h)`},
		{"invalid-wrong-type.yaml", ":4: cannot unmarshal !!str `five mi...` into int"},
		{"invalid-syntax.yaml", `:2: did not find expected key`}, // the YAML library names the line before the stray indent
		{"invalid-both-secret-refs.yaml", `:4: slack.bot_token_file: give bot_token_env or bot_token_file, not both`},
		{"invalid-datapath-via.yaml", `:17: edges[0].peers[0].datapath.remote.via: is peer, and the peer has no ssh settings`},
		{"invalid-datapath-esxi.yaml", `:9: edges[0].peers[0].datapath.vm.esxi: is required`},
		{"invalid-backup-cron.yaml", `:4: store.backup.schedule: bad cron spec "nightly": expected exactly 5 fields, found 1: [nightly]`},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".yaml"), func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			c, err := config.Load(path)
			if err == nil {
				err = c.Validate(0)
			}
			if err == nil {
				t.Fatal("no error")
			}
			want := path + tt.want
			if err.Error() != want {
				t.Errorf("error\n got: %s\nwant: %s", err, want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is more than one line: %q", err)
			}
			if _, ok := errors.AsType[*config.Error](err); !ok {
				t.Errorf("error %T is not a *config.Error", err)
			}
		})
	}
}

// Ensure required parts depend on the command's needs, and missing ones are named.
func TestValidate_Needs(t *testing.T) {
	c, err := config.Parse([]byte("store: {path: ./bot.db}\n"), "bot.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(config.NeedIncidents); err != nil {
		t.Errorf("incidents: %v", err)
	}
	if err := c.Validate(config.NeedDiagnose); err == nil || err.Error() != "bot.yaml:1: managers: is required: at least one NSX Manager" {
		t.Errorf("diagnose: %v", err)
	}
	err = c.Validate(config.NeedServe)
	if err == nil || err.Error() != "bot.yaml:1: slack.bot_token_env: is required (or bot_token_file)" {
		t.Errorf("serve: %v", err)
	}

	socket := "store: {path: ./bot.db}\nslack:\n  mode: socket\n  bot_token_env: B\n"
	c, err = config.Parse([]byte(socket), "bot.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate(config.NeedSlack)
	if err == nil || err.Error() != "bot.yaml:2: slack.app_token_env: is required (or app_token_file)" {
		t.Errorf("socket mode: %v", err)
	}
}

// Ensure a Config built in code (as `bot lab` builds one) validates with path-only messages.
func TestValidate_BuiltInCode(t *testing.T) {
	c := &config.Config{Edges: []config.Edge{{Name: "edge-01", Manager: "nsxmgr-x"}}}
	err := c.Validate(0)
	if err == nil || err.Error() != `edges[0].manager: no manager named "nsxmgr-x" in managers` {
		t.Errorf("err = %v", err)
	}
}

// Ensure secrets come from the environment or from files relative to the config, named in errors.
func TestSecret(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "nsx.pass"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty"), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &config.Config{Dir: dir}
	t.Setenv("IPSECBOT_TEST_TOKEN", "xoxb-1")

	if v, err := c.Secret("IPSECBOT_TEST_TOKEN", ""); err != nil || v != "xoxb-1" {
		t.Errorf("env: %q, %v", v, err)
	}
	if v, err := c.Secret("", "nsx.pass"); err != nil || v != "s3cret" {
		t.Errorf("file: %q, %v", v, err)
	}
	if _, err := c.Secret("IPSECBOT_TEST_UNSET", ""); err == nil || err.Error() != "environment variable IPSECBOT_TEST_UNSET is not set" {
		t.Errorf("unset env: %v", err)
	}
	if _, err := c.Secret("", "missing.pass"); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.pass") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := c.Secret("", "empty"); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty file: %v", err)
	}
	if _, err := c.Secret("", ""); !errors.Is(err, config.ErrNoSecret) {
		t.Errorf("nothing: %v", err)
	}
	if _, err := c.BotToken(); err == nil || err.Error() != "slack.bot_token_env or slack.bot_token_file is required" {
		t.Errorf("BotToken: %v", err)
	}

	c.LookupEnv = func(k string) (string, bool) { return "from-lookup-" + k, true }
	c.Slack.BotTokenEnv = "X"
	if v, err := c.BotToken(); err != nil || v != "from-lookup-X" {
		t.Errorf("LookupEnv: %q, %v", v, err)
	}

	e := &config.Edge{Name: "edge-01", SSH: &config.SSH{PasswordFile: "nsx.pass"}}
	if v, err := c.EnablePassword(e); err != nil || v != "s3cret" {
		t.Errorf("EnablePassword defaults to the SSH password: %q, %v", v, err)
	}
}

// Ensure relative paths resolve against the config's directory and absolute ones are kept.
func TestConfig_Path(t *testing.T) {
	c := &config.Config{Dir: "/etc/bot"}
	for in, want := range map[string]string{
		"":             "",
		"known_hosts":  "/etc/bot/known_hosts",
		"./data/b.db":  "/etc/bot/data/b.db",
		"../x":         "/etc/x",
		"/var/lib/b.d": "/var/lib/b.d",
	} {
		if got := c.Path(in); got != want {
			t.Errorf("Path(%q) = %q, want %q", in, got, want)
		}
	}
}

// Ensure the duration helpers give their defaults for unset values and parse set ones.
func TestDurations(t *testing.T) {
	var s *config.SSH
	if s.DialTimeout() != config.DefaultSSHTimeout || s.CmdTimeout() != config.DefaultCommandTimeout {
		t.Error("nil SSH does not give the defaults")
	}
	s = &config.SSH{Timeout: "3s", CommandTimeout: "1m"}
	if s.DialTimeout().String() != "3s" || s.CmdTimeout().String() != "1m0s" {
		t.Errorf("SSH timeouts = %v, %v", s.DialTimeout(), s.CmdTimeout())
	}
	if d := (&config.Manager{}).RequestTimeout(); d != config.DefaultManagerTimeout {
		t.Errorf("manager default = %v", d)
	}
	if d := (&config.Store{HealthRetention: "48h"}).Retention(); d.Hours() != 48 {
		t.Errorf("retention = %v", d)
	}
	if c := (&config.Capture{}); c.ByteLimit() != config.DefaultCaptureBytes || c.TimeLimit().Seconds() != config.DefaultCaptureCapSeconds {
		t.Errorf("capture defaults = %v, %v", c.ByteLimit(), c.TimeLimit())
	}
}

// Ensure Write produces a file Load reads back to the same configuration, and leaves no temp file.
func TestWrite_RoundTrip(t *testing.T) {
	orig, err := config.Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "bot.yaml")
	if err := config.Write(path, orig); err != nil {
		t.Fatal(err)
	}
	back, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(config.NeedServe); err != nil {
		t.Fatal(err)
	}
	back.Dir = orig.Dir
	if !equalConfig(orig, back) {
		t.Errorf("round trip differs:\n orig: %+v\n back: %+v", *orig, *back)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only bot.yaml", len(entries))
	}
	// Overwriting replaces the file as a whole.
	orig.Edges = orig.Edges[:0]
	if err := config.Write(path, orig); err != nil {
		t.Fatal(err)
	}
	if back, err = config.Load(path); err != nil || len(back.Edges) != 0 {
		t.Errorf("after overwrite: %d edges, %v", len(back.Edges), err)
	}
}

// equalConfig compares the YAML-visible parts of two configs.
func equalConfig(a, b *config.Config) bool {
	strip := func(c *config.Config) config.Config {
		return config.Config{Store: c.Store, Slack: c.Slack, Access: c.Access, Schedule: c.Schedule,
			Managers: c.Managers, Edges: c.Edges, Lab: c.Lab, Dir: c.Dir}
	}
	return reflect.DeepEqual(strip(a), strip(b))
}

// FuzzParse checks that no input makes Parse panic and that what parses also validates or
// fails with a *config.Error.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(examplePath); err == nil {
		f.Add(data)
	}
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse(data, "fuzz.yaml", "/tmp")
		if err != nil {
			if _, ok := errors.AsType[*config.Error](err); !ok {
				t.Fatalf("Parse error %T is not a *config.Error: %v", err, err)
			}
			return
		}
		if err := c.Validate(config.NeedServe); err != nil {
			if _, ok := errors.AsType[*config.Error](err); !ok {
				t.Fatalf("Validate error %T is not a *config.Error: %v", err, err)
			}
		}
	})
}

// Ensure ssh.ha_addresses loads in HA index order, stands in for ssh.address when that is
// absent, and DefaultAddress picks the address to dial when the active appliance is unknown.
func TestLoad_HAAddresses(t *testing.T) {
	const doc = `managers:
  - {name: nsxmgr-a, url: "https://nsxmgr-a.example", user: admin, password_env: NSX_PASSWORD}
edges:
  - name: edge-01
    manager: nsxmgr-a
    edge_id: edge-1
    ssh:
      ha_addresses: ["192.0.2.10:22", "192.0.2.11:22"]
      user: admin
      password_env: EDGE01_PASSWORD
      known_hosts: ./known_hosts
    peers:
      - {name: branch-fw, address: 203.0.113.2, kind: declared, declared: {ike_version: ikev2}}
`
	c, err := config.Parse([]byte(doc), "bot.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(config.NeedDiagnose); err != nil {
		t.Fatalf("ha_addresses without address: %v", err)
	}
	ssh := c.Edges[0].SSH
	if want := []string{"192.0.2.10:22", "192.0.2.11:22"}; !reflect.DeepEqual(ssh.HAAddresses, want) {
		t.Errorf("ha_addresses = %q, want %q", ssh.HAAddresses, want)
	}
	if got := ssh.DefaultAddress(); got != "192.0.2.10:22" {
		t.Errorf("DefaultAddress without address = %q, want the appliance of HA index 0", got)
	}
	ssh.Address = "edge-01.example:22"
	if got := ssh.DefaultAddress(); got != "edge-01.example:22" {
		t.Errorf("DefaultAddress = %q, want ssh.address", got)
	}
	ssh.Address, ssh.HAAddresses = "", nil
	err = c.Validate(config.NeedDiagnose)
	if err == nil || !strings.Contains(err.Error(), "edges[0].ssh.address: is required") {
		t.Errorf("neither address nor ha_addresses: %v", err)
	}
}

// Ensure the watch keys read with their defaults, and an interval is a duration or a cron spec.
func TestWatch_DefaultsAndSchedule(t *testing.T) {
	var w config.Watch
	if w.Workers() != 16 || w.DownHold() != 2*time.Minute || w.FlapCount() != 3 || w.FlapPeriod() != 30*time.Minute || w.ClearHold() != 10*time.Minute {
		t.Errorf("defaults: %d %v %d %v %v", w.Workers(), w.DownHold(), w.FlapCount(), w.FlapPeriod(), w.ClearHold())
	}
	t0 := time.Date(2026, 12, 1, 8, 0, 30, 0, time.UTC)
	for _, tc := range []struct {
		interval string
		want     time.Time
	}{
		{"", t0.Add(time.Minute)},
		{"15s", t0.Add(15 * time.Second)},
		{"*/5 * * * *", time.Date(2026, 12, 1, 8, 5, 0, 0, time.UTC)},
		{"@every 2m", t0.Add(2 * time.Minute)},
	} {
		w := config.Watch{Interval: tc.interval}
		if got := w.Next()(t0); !got.Equal(tc.want) {
			t.Errorf("interval %q: next %v, want %v", tc.interval, got, tc.want)
		}
	}
	c, err := config.Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(config.NeedWatch); err != nil {
		t.Fatal(err)
	}
	if c.Watch.Workers() != 16 || c.Slack.AlertChannel != "C0123456789" {
		t.Errorf("example watch: %+v, alert channel %q", c.Watch, c.Slack.AlertChannel)
	}
}

// Ensure CheckSecrets names every secret and key file that cannot be read, on one line, and
// passes when all can.
func TestCheckSecrets(t *testing.T) {
	c, err := config.Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	c.LookupEnv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	err = c.CheckSecrets()
	for _, want := range []string{
		"managers[nsxmgr-a].password: environment variable NSX_PASSWORD is not set",
		"edges[edge-01].enable_password: environment variable EDGE01_ENABLE_PASSWORD is not set",
		"edges[edge-01].ssh.password: environment variable EDGE01_PASSWORD is not set",
		"edges[edge-01].peers[branch-fw].ssh.key_file: open ",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckSecrets() = %v; want it to say %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Errorf("not one line: %q", err)
	}

	dir := t.TempDir()
	c.Dir = dir
	for _, k := range []string{"NSX_PASSWORD", "EDGE01_ENABLE_PASSWORD", "EDGE01_PASSWORD"} {
		env[k] = "s3cret"
	}
	for _, e := range c.Edges {
		for _, p := range e.Peers {
			if p.SSH != nil && p.SSH.KeyFile != "" {
				if err := os.WriteFile(filepath.Join(dir, p.SSH.KeyFile), []byte("key"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := c.CheckSecrets(); err != nil {
		t.Errorf("all readable: %v", err)
	}
}

// Ensure the incident channel settings fall back to their documented defaults.
func TestSlack_HandoffDefaults(t *testing.T) {
	var s config.Slack
	if s.Cadence("sev1") != 30*time.Minute || s.Cadence("sev3") != 24*time.Hour || s.ArchiveDelay() != 7*24*time.Hour {
		t.Errorf("defaults: %v %v %v", s.Cadence("sev1"), s.Cadence("sev3"), s.ArchiveDelay())
	}
	if p := s.ChannelPattern(); p != "inc-{date}-{edge}-ipsec" {
		t.Errorf("pattern %q", p)
	}
	s = config.Slack{UpdateCadence: map[string]string{"sev1": "10m"}, ArchiveAfter: "24h", IncidentChannelPrefix: "net-", IncidentChannelPattern: "{prefix}{n}"}
	if s.Cadence("sev1") != 10*time.Minute || s.Cadence("sev2") != 2*time.Hour || s.ArchiveDelay() != 24*time.Hour || s.ChannelPattern() != "net-{n}" {
		t.Errorf("set: %v %v %v %q", s.Cadence("sev1"), s.Cadence("sev2"), s.ArchiveDelay(), s.ChannelPattern())
	}
}
