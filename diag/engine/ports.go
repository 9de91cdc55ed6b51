package engine

import (
	"context"
	"io"
	"net/netip"
	"time"

	"ipsecbot/config"
	"ipsecbot/diag"
	"ipsecbot/diag/classify"
	"ipsecbot/diag/interop"
	"ipsecbot/diag/nsx"
	"ipsecbot/diag/peer"
)

// The engine's view of what it talks to. Each interface is what the engine calls and no more;
// wire.go adapts the real clients (diag/edge, diag/nsx, diag/peer, diag/classify) to them.

// EdgeCLI is the Edge's command line, one session per diagnosis (serialised by the session).
type EdgeCLI interface {
	// Run runs one show command and returns its cleaned output.
	Run(ctx context.Context, command string) (string, error)
	// Ping pings dst from the Edge with size bytes of payload, don't-fragment when df.
	Ping(ctx context.Context, dst netip.Addr, size int, df bool) (PingResult, error)
	// CaptureFiles lists the capture files on the Edge (`debug show files`), taken before a
	// capture starts so that a cleanup removes only what that capture created.
	CaptureFiles(ctx context.Context) ([]string, error)
	// StartCapture starts a packet capture on iface: of expr (a tcpdump expression, spaces as
	// "_"), or when expr is empty of IKE and ESP between the Edge and peer.
	StartCapture(ctx context.Context, iface string, peer netip.Addr, expr string) (EdgeCapture, error)
	// AbandonCapture stops the capture on iface and removes the interface's capture files
	// (tcpdump_<iface>.*) that are not in before, for a capture whose own handle is gone (a
	// dead process, a start cut short, a closed session).
	AbandonCapture(ctx context.Context, iface string, before []string) error
	Close() error
}

// EdgeCapture is one running capture on the Edge.
type EdgeCapture interface {
	// File is the capture's file name on the Edge (what `debug show files` lists).
	File() string
	Interface() string
	Stop(ctx context.Context) error
	// Fetch copies the stopped capture into dir and returns the local path.
	Fetch(ctx context.Context, dir string) (string, error)
	// Remove deletes the file from the Edge.
	Remove(ctx context.Context) error
}

// PingResult is what an Edge ping reported.
type PingResult struct {
	Sent, Received int
	Output         string
}

// Manager is the NSX Manager's API, for one edge.
type Manager interface {
	IPsecConfig(ctx context.Context, edgeID string) (*nsx.IPsecConfig, error)
	IPsecStatistics(ctx context.Context, edgeID string) (*nsx.Statistics, []byte, error)
	PeerConfig(ctx context.Context, edgeID, siteID string) (*nsx.PeerConfig, error)
	FirewallConfig(ctx context.Context, edgeID string) (*nsx.FirewallConfig, error)
	SyslogConfig(ctx context.Context, edgeID string) (*nsx.SyslogConfig, error)
	// TechSupportLogs streams the Edge's tech support logs (gzip) to w, at most max bytes.
	TechSupportLogs(ctx context.Context, edgeID string, w io.Writer, max int64) (int64, error)
	// CentralCLI runs a show command through the Manager (the fallback when SSH to the Edge
	// is not possible).
	CentralCLI(ctx context.Context, command string) (string, error)
}

// Connector opens the clients of one diagnosis. The default dials the real Edge, Manager and
// peer from the configuration (wire.go); tests use the lab, never stand-ins.
type Connector interface {
	Edge(ctx context.Context, cfg *config.Config, e *config.Edge) (EdgeCLI, error)
	Manager(cfg *config.Config, m *config.Manager) (Manager, error)
	Peer(cfg *config.Config, p *config.Peer, edgeAddr netip.Addr) (peer.Driver, error)
}

// Collected is everything a run gathered for the classifier. Paths are relative to Dir (the
// report's directory), so evidence references read "logs/edge.log:812", "capture.pcap#4".
type Collected struct {
	Dir      string
	Logs     []LogFile
	Captures []string
	Stats    []string // NSX ipsec statistics XML documents
	// History is the watcher's history of the tunnel (watch.WriteHistory's TSV) written at
	// HistoryAt, when the store had one.
	History   string
	HistoryAt time.Time
	Shows     []ShowFile
	Firewall  []classify.FirewallBlocked // what the prerequisite firewall check found blocked
	Pings     []classify.MTUProbe        // the prerequisite MTU check
	Config    []interop.Mismatch
	// ConfigLines is each compared setting's line in interop.txt (the refs of Config's evidence).
	ConfigLines map[string]int
	Since       time.Time
	Until       time.Time
	Missing     []string // what could not be collected, and why
}

// LogFile is one collected log and the site it comes from.
type LogFile struct {
	Path     string
	Site     string // "edge" or "peer"
	Timezone string // IANA name, "" for UTC
}

// ShowFile is one recorded Edge show command.
type ShowFile struct {
	Path    string
	Command string
}

// Classifier names the cause from what was collected.
type Classifier interface {
	Classify(ctx context.Context, c *Collected) (*diag.Verdict, error)
}
