package lab

import (
	"bytes"
	"context"
	"fmt"
	"net"

	"ipsecbot/config"
	"ipsecbot/diag/datapath/scene"
	"ipsecbot/diag/edge"
	"ipsecbot/lab/hostsim"
	"ipsecbot/lab/sshserver"
)

// The data-path lab (Options.DataPath): VM 1's ESXi host and the far side's Linux host beside
// the Edge, all four capture points from one scene. The Edge's internal capture is the scene's
// point 2, its uplink capture with step 8's ESP filter point 3, and `show service ipsec sa`
// carries the scene's SPIs, so the Edge agrees with the hosts.

// The data-path hosts' names and their password file.
const (
	// DataPathScenario is the lab scenario a data-path scene is staged on: the tunnel is up,
	// steps 1-7 find nothing, and step 8 finds where the ping stops.
	DataPathScenario = "healthy"
	ESXiName         = "esxi-01"
	FarName          = "host2"
	FileHostPassword = "host-password"
	hostUser         = "root"
)

// dataPathLab is the data-path part of a running lab.
type dataPathLab struct {
	scene     scene.Scene
	esxi, far *hostsim.Host
	password  string
}

// startDataPath starts the two hosts of the named scene.
func (l *Lab) startDataPath(ctx context.Context, host, name string) error {
	sc, ok := scene.Lookup(name)
	if !ok {
		return fmt.Errorf("unknown data-path scene %q", name)
	}
	dp := &dataPathLab{scene: sc, password: randomSecret()}
	l.dp = dp
	for _, h := range []struct {
		kind hostsim.Kind
		into **hostsim.Host
	}{{hostsim.ESXi, &dp.esxi}, {hostsim.Linux, &dp.far}} {
		key, err := sshserver.NewKey()
		if err != nil {
			return err
		}
		if *h.into, err = hostsim.Start(ctx, net.JoinHostPort(host, "0"), hostsim.Config{Kind: h.kind, User: hostUser,
			Password: dp.password, HostKey: key, Scene: sc}); err != nil {
			return err
		}
	}
	return nil
}

// captureFor is the Edge's capture content: with a data-path scene, the internal interface's
// capture is point 2 and the uplink's ESP capture point 3; anything else is the scenario's.
func (l *Lab) captureFor(iface, expr string) []byte {
	if l.dp == nil {
		return nil
	}
	point := 0
	switch {
	case iface == InternalNIC:
		point = 2
	case iface == UplinkNIC && expr == edge.ESPExpr(PeerIP):
		point = 3
	default:
		return nil
	}
	var b bytes.Buffer
	if err := l.dp.scene.WritePoint(point, &b); err != nil {
		return nil
	}
	return b.Bytes()
}

// dataPathSPIs puts the scene's SPIs on the installed CHILD_SA that carries VM 1 and host 2.
func (l *Lab) dataPathSPIs(st *edge.SAStatus) {
	if l.dp == nil {
		return
	}
	for i := range st.IKESAs {
		for j := range st.IKESAs[i].Children {
			c := &st.IKESAs[i].Children[j]
			if c.Carries(scene.VM1, scene.Host2) {
				c.SPIOut, c.SPIIn = fmt.Sprintf("%08x", scene.SPIOut), fmt.Sprintf("%08x", scene.SPIIn)
			}
		}
	}
}

// dataPathConfig is the peer's datapath block for the lab's hosts.
func (l *Lab) dataPathConfig(ref func(string) string) *config.DataPath {
	if l.dp == nil {
		return nil
	}
	ssh := func(h *hostsim.Host) *config.SSH {
		return &config.SSH{Address: h.Addr(), User: hostUser, PasswordFile: ref(FileHostPassword), KnownHosts: ref(FileKnownHosts)}
	}
	return &config.DataPath{
		VM:     config.DataPathVM{Name: hostsim.VM1Name, Address: scene.VM1.String(), ESXi: &config.DataPathHost{Name: ESXiName, SSH: ssh(l.dp.esxi)}},
		Remote: config.DataPathRemote{Address: scene.Host2.String(), Via: config.DataPathViaHost, Host: &config.DataPathHost{Name: FarName, SSH: ssh(l.dp.far)}},
	}
}

// DataPathHosts are the data-path lab's ESXi host and far side (nil without Options.DataPath).
func (l *Lab) DataPathHosts() (esxi, far *hostsim.Host) {
	if l.dp == nil {
		return nil, nil
	}
	return l.dp.esxi, l.dp.far
}

func (dp *dataPathLab) close() error {
	var err error
	for _, h := range []*hostsim.Host{dp.esxi, dp.far} {
		if h != nil {
			if e := h.Close(); e != nil && err == nil {
				err = e
			}
		}
	}
	return err
}
