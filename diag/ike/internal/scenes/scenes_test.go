package scenes

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"ipsecbot/diag/ike"
)

// Ensure the committed synthetic captures (and so their tshark golden files) are exactly what
// this package writes: regenerate with scripts/tshark-golden.sh after changing a scene.
func TestSynthetic_MatchesCommitted(t *testing.T) {
	for name, build := range Synthetic {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := build(&buf); err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("..", "..", "testdata", "synthetic", name+".pcap"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("%s.pcap differs from what the scene writes; run scripts/tshark-golden.sh", name)
			}
		})
	}
}

// Ensure the benchmark capture has what bench/pcap.sh promises: the packet count, mostly ESP,
// IKE exchanges among it, all of them answered.
func TestBench_Capture(t *testing.T) {
	var buf bytes.Buffer
	if err := Bench(&buf, 60_000, 0); err != nil {
		t.Fatal(err)
	}
	s, err := ike.Analyze(&buf, "bench")
	if err != nil {
		t.Fatal(err)
	}
	if s.Packets < 60_000 || s.ESPPackets < s.Packets*9/10 || s.IKEMessages < 20 {
		t.Fatalf("packets %d, ESP %d, IKE %d", s.Packets, s.ESPPackets, s.IKEMessages)
	}
	for _, e := range s.Exchanges {
		if !e.Answered {
			t.Fatalf("unanswered %+v", e)
		}
	}
	if len(s.ESPFlows) != 4 {
		t.Fatalf("ESP flows %+v", s.ESPFlows)
	}
}
