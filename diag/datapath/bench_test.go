package datapath_test

import (
	"testing"

	"ipsecbot/diag/datapath"
	"ipsecbot/diag/datapath/scene"
)

func BenchmarkCorrelate(b *testing.B) {
	s := scene.Scene{Fault: datapath.LostOnWAN, Duplicate: true, Reorder: true, Noise: true}
	good := files(b, s)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := datapath.Correlate(inputOf(s, good)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCorrelateBusy: the pings among 100,000 packets of other traffic on the SAs at the
// Edge's uplink and the far side (memory stays that of the pings and the SAs' sightings).
func BenchmarkCorrelateBusy(b *testing.B) {
	s := scene.Scene{Fault: datapath.EdgeNotEncrypting, TowardVM: true, Noise: true, Reorder: true, Busy: 50000}
	good := files(b, s)
	b.ReportAllocs()
	for b.Loop() {
		r, err := datapath.Correlate(inputOf(s, good))
		if err != nil || r.Verdict != datapath.EdgeNotEncrypting {
			b.Fatal(r, err)
		}
	}
}
