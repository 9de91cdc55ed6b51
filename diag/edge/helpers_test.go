package edge_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"ipsecbot/diag/edge"
	"ipsecbot/lab/edgesim"
	"ipsecbot/lab/sshserver"
)

const (
	labUser     = "admin"
	labPassword = "Lab-Edge-Pass1"
)

func newSigner(t testing.TB) ssh.Signer {
	t.Helper()
	s, err := sshserver.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// labOutputs is the content of a healthy lab Edge, rendered from typed values.
func labOutputs(t testing.TB) map[string]string {
	t.Helper()
	return map[string]string{
		edge.CmdServiceIPsec:   edgesim.RenderServiceIPsec(sampleStatus()),
		edge.CmdServiceIPsecSA: edgesim.RenderSA(sampleSA()),
		edge.CmdServiceIPsecSP: edgesim.RenderSP(samplePolicies()),
		edge.CmdIPRoute:        edgesim.RenderRoutes(sampleRoutes()),
		edge.CmdInterface:      edgesim.RenderInterfaces(sampleInterfaces()),
		edge.CmdConfigIPsec:    edgesim.RenderConfigIPsec(sampleConfig()),
	}
}

// startEdge runs a lab Edge on loopback and returns it with a Target whose known_hosts holds its key.
func startEdge(t testing.TB, mod func(*edgesim.Config)) (*edgesim.Edge, edge.Target) {
	t.Helper()
	cfg := edgesim.Config{
		Hostname: "edge-01",
		User:     labUser,
		Password: labPassword,
		HostKey:  newSigner(t),
		Outputs:  labOutputs(t),
		Log:      sampleLog,
	}
	if mod != nil {
		mod(&cfg)
	}
	e, err := edgesim.Start(t.Context(), "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(e.Addr())}, e.HostKey())
	if err := os.WriteFile(kh, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return e, edge.Target{
		Name:           "edge-01",
		Address:        e.Addr(),
		User:           labUser,
		Password:       labPassword,
		KnownHosts:     kh,
		ConnectTimeout: 5 * time.Second,
		CommandTimeout: 5 * time.Second,
	}
}

// dial opens a session to the lab Edge, closed when the test ends.
func dial(t testing.TB, target edge.Target) *edge.Session {
	t.Helper()
	s, err := edge.Dial(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func renderStatus(st *edge.IPsecStatus) string { return edgesim.RenderServiceIPsec(st) }
