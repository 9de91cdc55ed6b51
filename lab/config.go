package lab

import (
	"net"
	"path/filepath"

	"ipsecbot/config"
)

// Config is the complete configuration pointing at the running lab (what WriteConfig
// writes), with its file references relative to the lab's directory.
func (l *Lab) Config() *config.Config {
	return l.config(l.dir)
}

// config builds the configuration as it reads from a file in dir: the lab's files are named
// relative to dir when they are in it, absolute otherwise.
func (l *Lab) config(dir string) *config.Config {
	ref := func(name string) string {
		p := filepath.Join(l.dir, name)
		if filepath.Clean(dir) == filepath.Clean(l.dir) {
			return name
		}
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
		return p
	}
	scpHost, _, _ := net.SplitHostPort(l.scpAddr)
	var haAddrs []string
	for _, e := range l.ha {
		haAddrs = append(haAddrs, e.Addr())
	}
	cfg := &config.Config{
		Store: config.Store{Path: ref(FileStore)},
		Slack: config.Slack{
			Mode: config.SlackHTTP, Listen: "127.0.0.1:8080",
			BotTokenEnv: "SLACK_BOT_TOKEN", SigningSecretEnv: "SLACK_SIGNING_SECRET",
		},
		Access: config.Access{Diagnose: []string{"*"}, Capture: []string{"*"}, Escalate: []string{"*"}, Resolve: []string{"*"}},
		Managers: []config.Manager{{
			Name: ManagerName, URL: l.manager.URL(), User: managerUser,
			PasswordFile: ref(FileManagerPassword), CAFile: ref(FileCA),
		}},
		Edges: []config.Edge{{
			Name: EdgeName, Manager: ManagerName, EdgeID: EdgeID,
			SSH: &config.SSH{
				Address: l.edge.Addr(), HAAddresses: haAddrs, User: edgeUser,
				PasswordFile: ref(FileEdgePassword), KnownHosts: ref(FileKnownHosts),
			},
			Uplink: UplinkNIC, Internal: InternalNIC,
			Peers: []config.Peer{{
				Name: PeerName, Address: PeerIP.String(), Kind: config.PeerStrongSwan,
				SSH: &config.SSH{
					Address: l.peer.Addr(), User: peerUser,
					KeyFile: ref(FilePeerKey), KnownHosts: ref(FileKnownHosts),
				},
				DataPath: l.dataPathConfig(ref),
			}},
			Capture: config.Capture{
				SCPListen:  l.scpAddr,
				SCPAddress: scpHost,
				MaxSeconds: l.capture,
			},
			LogTimezone: "UTC",
		}},
		Lab: &config.Lab{Scenario: l.scenario.Name},
		Dir: l.dir,
	}
	// The watch lab's other edges: their own edge IDs on the Manager; the lab has one Edge
	// CLI, so their SSH settings are edge-01's.
	for i := 2; i <= l.edges; i++ {
		e := cfg.Edges[0]
		e.Name, e.EdgeID, e.Peers, e.Capture = watchEdgeName(i), watchEdgeID(i), nil, config.Capture{}
		cfg.Edges = append(cfg.Edges, e)
	}
	return cfg
}

// WriteConfig writes the configuration to path atomically. File references are relative
// when path is in the lab's directory ("files beside it"), absolute otherwise.
func (l *Lab) WriteConfig(path string) error {
	return config.Write(path, l.config(filepath.Dir(path)))
}
