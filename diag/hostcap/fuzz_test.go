package hostcap_test

import (
	"strings"
	"testing"

	"ipsecbot/diag/hostcap"
)

const sample = `PortNum          Type SubType SwitchName       MACAddress         ClientName
67108866            4       0 vSwitch1         74:e6:e2:ba:f9:78  vmnic3
67108869            3       0 vSwitch1         00:50:56:63:d2:53  vmk2
100663353           5       9 DvsPortset-1     00:50:56:be:81:d3  sneaku-scan01.eth1
100663359           5       9 DvsPortset-1     00:50:56:be:4d:12  NSX Manager.eth0
`

func TestParseNetStats(t *testing.T) {
	ports, err := hostcap.ParseNetStats(sample)
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != 4 || ports[3].Client != "NSX Manager.eth0" || ports[0].Type != 4 {
		t.Fatalf("%+v", ports)
	}
	p, err := hostcap.VMPort(ports, "sneaku-scan01", 1)
	if err != nil || p.Num != 100663353 {
		t.Fatalf("%+v, %v", p, err)
	}
	if _, err := hostcap.VMPort(ports, "sneaku-scan01", 0); err == nil {
		t.Fatal("eth0 found")
	}
	for _, bad := range []string{"", "PortNum\n12 x 0 s m c\n", "total 0\n", "PortNum Type\n1 5 9 sw\n"} {
		if _, err := hostcap.ParseNetStats(bad); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want a one-line error", bad, err)
		}
	}
}

func FuzzParseNetStats(f *testing.F) {
	f.Add(sample)
	f.Add("PortNum Type SubType SwitchName MACAddress ClientName\n")
	f.Fuzz(func(t *testing.T, text string) {
		ports, err := hostcap.ParseNetStats(text)
		if err != nil {
			return
		}
		for _, p := range ports {
			if p.Client == "" {
				t.Fatalf("a port without a client: %+v", p)
			}
		}
	})
}
