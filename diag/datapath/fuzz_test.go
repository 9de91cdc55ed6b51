package datapath_test

import (
	"bytes"
	"testing"

	"ipsecbot/diag/datapath"
	"ipsecbot/diag/datapath/scene"
)

// FuzzCorrelate feeds any bytes as one point's capture, the others real: an error or a result,
// never a panic, and every cited frame in range.
func FuzzCorrelate(f *testing.F) {
	for _, s := range []scene.Scene{{}, {Fault: datapath.LostOnWAN, Noise: true, Reorder: true}} {
		for p, b := range files(f, s) {
			f.Add(uint8(p), b)
		}
	}
	f.Add(uint8(2), []byte("\xd4\xc3\xb2\xa1\x02\x00\x04\x00"))
	base := scene.Scene{Fault: datapath.EdgeNotEncrypting, Duplicate: true}
	good := files(f, base)
	f.Fuzz(func(t *testing.T, point uint8, data []byte) {
		in := inputOf(base, good)
		in.Points[point%4].Data = bytes.NewReader(data)
		r, err := datapath.Correlate(in)
		if err != nil {
			return
		}
		if len(r.Pings) != 2 || r.Verdict == "" {
			t.Fatalf("result %+v", r)
		}
		_ = datapath.Table(r)
	})
}
