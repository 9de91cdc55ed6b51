// Package datapath is step 8 of the procedure: with the tunnel up and traffic still failing, a
// ping is followed through four capture points — (1) the VM's port on its ESXi host, (2) the
// Edge's internal interface, (3) the Edge's uplink (ESP), (4) the far side (the peer gateway, the
// remote host, or both views of a gateway capturing on every interface) — first VM 1 to host 2,
// then back, each ping with its own ICMP id. Correlate names, per ping, the first point the
// packets do not reach and the frames that prove it.
//
// Clear packets are matched by ICMP id and sequence, ESP packets by SPI and ESP sequence (the same
// numbers at the Edge's uplink and at the gateway). Which ping an ESP packet carries is learnt
// from the clear packets on the same clock as it (points 2 and 3 are both the Edge; a gateway's
// ESP and inner views are one capture), by timing and size order, so skew between the ESXi host,
// the Edge and the far side never matters. A reply no clear packet names (the Edge did not
// decrypt it, or the far side has no clear view) is the ESP of its request's size that follows
// the request's ESP closely on the other SA. Where a capture lacks a view, the nearest cause the
// captures can show is named and the text says what it cannot be told from.
package datapath
