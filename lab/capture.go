package lab

import (
	"bytes"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"ipsecbot/diag/ike"
)

// rewriteCapture copies a fixture pcap with its WAN addresses replaced by the lab's.
func rewriteCapture(pcap []byte) ([]byte, error) {
	var out bytes.Buffer
	if err := ike.RewriteAddrs(bytes.NewReader(pcap), &out, fixtureAddrs); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// emptyCapture is a valid pcap with no packet: a capture that saw nothing.
func emptyCapture() ([]byte, error) {
	var out bytes.Buffer
	w := pcapgo.NewWriter(&out)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
