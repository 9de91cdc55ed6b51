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
