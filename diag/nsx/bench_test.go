package nsx_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"ipsecbot/diag/nsx"
)

// bigStatistics is a statistics document of sites sites with tunnels tunnels each, every
// tunnel down with a failure message (the worst case for Messages).
func bigStatistics(tb testing.TB, sites, tunnels int) []byte {
	tb.Helper()
	s := &nsx.Statistics{TimeStamp: 1795752000, GlobalDrops: &nsx.PacketDropStatistics{}}
	for i := range sites {
		site := nsx.SiteStatistics{SiteID: fmt.Sprintf("ipsecsite-%d", i+1), IKEStatus: &nsx.IKEStatus{
			ChannelStatus: "down", ChannelState: "STATE_MAIN_I1 (sent MI1, expecting MR1)", LocalIPAddress: "198.51.100.1",
			PeerIPAddress: fmt.Sprintf("203.0.113.%d", i%250+1), ChannelIKEVersion: "IKEv2"}}
		for j := range tunnels {
			site.Tunnels = append(site.Tunnels, nsx.TunnelStats{TunnelStatus: "down", FailureMessage: nsx.MsgIKEv2AuthFailed,
				LocalSubnet: fmt.Sprintf("10.1.%d.0/24", j), PeerSubnet: fmt.Sprintf("10.2.%d.0/24", i%250), PacketsIn: 12345})
		}
		s.Sites = append(s.Sites, site)
	}
	var buf bytes.Buffer
	if err := xmlEncode(&buf, s); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

var benchSizes = []struct{ sites, tunnels int }{{1, 1}, {10, 6}, {100, 16}}

// BenchmarkParseStatistics compares ParseStatistics' own decoder with encoding/xml's on the
// same documents (the decode alone: both read a document already in memory).
func BenchmarkParseStatistics(b *testing.B) {
	for _, size := range benchSizes {
		doc := bigStatistics(b, size.sites, size.tunnels)
		for _, dec := range []struct {
			name   string
			decode func([]byte) (*nsx.Statistics, error)
		}{
			{"own", func(doc []byte) (*nsx.Statistics, error) {
				if s, ok := nsx.DecodeStatisticsFast(doc); ok {
					return s, nil
				}
				return nil, errors.New("the own decoder gave up")
			}},
			{"encoding-xml", nsx.DecodeStatisticsXML},
		} {
			b.Run(fmt.Sprintf("sites=%d/tunnels=%d/decoder=%s", size.sites, size.tunnels, dec.name), func(b *testing.B) {
				b.SetBytes(int64(len(doc)))
				b.ReportAllocs()
				for b.Loop() {
					s, err := dec.decode(doc)
					if err != nil {
						b.Fatal(err)
					}
					if len(s.Sites) != size.sites {
						b.Fatal("sites lost")
					}
				}
			})
		}
	}
}

// BenchmarkStatisticsMessages is a diagnosis' use: parse, then list every message (the
// nested-message pass included).
func BenchmarkStatisticsMessages(b *testing.B) {
	for _, size := range benchSizes {
		doc := bigStatistics(b, size.sites, size.tunnels)
		b.Run(fmt.Sprintf("sites=%d/tunnels=%d", size.sites, size.tunnels), func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				s, err := nsx.ParseStatistics(bytes.NewReader(doc))
				if err != nil {
					b.Fatal(err)
				}
				if len(s.Messages()) != size.sites*size.tunnels {
					b.Fatal("messages lost")
				}
			}
		})
	}
}
