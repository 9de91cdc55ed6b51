package hostcap_test

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"ipsecbot/diag/edge"
	"ipsecbot/diag/hostcap"
)

var (
	vm1   = netip.MustParseAddr("10.1.1.10")
	host2 = netip.MustParseAddr("10.2.2.20")
)

// TestSPIs: the SPIs of the lab's recorded `show service ipsec sa`, the newer CHILD_SA after a
// rekey, and an error for hosts no CHILD_SA carries.
func TestSPIs(t *testing.T) {
	raw, err := os.ReadFile("../edge/testdata/transcripts/lab/healthy/show-service-ipsec-sa.txt")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(l, "#") && !strings.Contains(l, "> show") {
			lines = append(lines, l)
		}
	}
	text := strings.Join(lines, "\n")
	sa, err := edge.ParseSA(text)
	if err != nil {
		t.Fatal(err)
	}
	out, in, err := hostcap.SPIs(sa, vm1, host2)
	if err != nil || out != 0xc225109e || in != 0x8db7054e {
		t.Fatalf("out %#x in %#x, %v", out, in, err)
	}
	if _, _, err := hostcap.SPIs(sa, host2, vm1); err == nil {
		t.Fatal("SPIs found with the hosts swapped")
	}
	rekeyed := strings.Replace(text, "    s2s-net{1}:   10.1.1.0/24 === 10.2.2.0/24", `    s2s-net{1}:   10.1.1.0/24 === 10.2.2.0/24
    s2s-net{2}:  INSTALLED, TUNNEL, reqid 1, ESP in UDP SPIs: 0badf00d_i 0cafe001_o
    s2s-net{2}:   10.1.1.0/24 === 10.2.2.0/24`, 1)
	sa, err = edge.ParseSA(rekeyed)
	if err != nil {
		t.Fatal(err)
	}
	if out, in, err := hostcap.SPIs(sa, vm1, host2); err != nil || out != 0x0cafe001 || in != 0x0badf00d {
		t.Fatalf("after a rekey: out %#x in %#x, %v", out, in, err)
	}
}
