package hostcap

import (
	"fmt"
	"net/netip"
	"strconv"

	"ipsecbot/diag/edge"
)

// SPIs picks the tunnel's SPIs for the two hosts from the Edge's `show service ipsec sa`: the
// installed CHILD_SA whose local selectors hold VM 1 and whose remote ones hold host 2 (the
// newest, by its unique id, when a rekey left two). out is the Edge's outbound SPI (its `_o`),
// in its inbound one (`_i`).
func SPIs(sa *edge.SAStatus, vm1, host2 netip.Addr) (out, in uint32, err error) {
	var best *edge.ChildSA
	for i := range sa.IKESAs {
		for j := range sa.IKESAs[i].Children {
			c := &sa.IKESAs[i].Children[j]
			if c.SPIIn == "" || !c.Carries(vm1, host2) {
				continue
			}
			if best == nil || c.ID > best.ID {
				best = c
			}
		}
	}
	if best == nil {
		return 0, 0, fmt.Errorf("no installed CHILD_SA carries %s === %s", vm1, host2)
	}
	o, err1 := strconv.ParseUint(best.SPIOut, 16, 32)
	i, err2 := strconv.ParseUint(best.SPIIn, 16, 32)
	if err1 != nil || err2 != nil || o == 0 || i == 0 {
		return 0, 0, fmt.Errorf("CHILD_SA %s{%d}: SPIs %q and %q are not 8 hex digits", best.Name, best.ID, best.SPIIn, best.SPIOut)
	}
	return uint32(o), uint32(i), nil
}
