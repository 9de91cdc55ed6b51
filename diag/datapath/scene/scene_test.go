package scene

import (
	"bytes"
	"testing"

	"ipsecbot/diag/ike"
)

// TestNames: one healthy scene and each fault both ways, every name found again.
func TestNames(t *testing.T) {
	all := Scenes()
	if len(all) != 11 {
		t.Fatalf("%d scenes, want 11", len(all))
	}
	seen := map[string]bool{}
	for _, s := range all {
		if seen[s.Name()] {
			t.Fatalf("two scenes named %s", s.Name())
		}
		seen[s.Name()] = true
		if got, ok := Lookup(s.Name()); !ok || got.Name() != s.Name() {
			t.Fatalf("Lookup(%s) = %v, %v", s.Name(), got.Name(), ok)
		}
	}
	if _, ok := Lookup("datapath-nonsense"); ok {
		t.Fatal("an unknown name was found")
	}
}

// TestTunnelAgrees: the ESP the Edge's uplink sends on the outbound SA is what the far side
// receives, sequence numbers and all, in a healthy scene.
func TestTunnelAgrees(t *testing.T) {
	s := Scene{Noise: true, Reorder: true, SkewFar: 7e9}
	seqs := func(p int) map[uint32]bool {
		var b bytes.Buffer
		if err := s.WritePoint(p, &b); err != nil {
			t.Fatal(err)
		}
		out := map[uint32]bool{}
		if err := ike.EachPacket(&b, func(pk ike.Packet) {
			if pk.ESP && pk.SPI == SPIOut {
				out[pk.ESPSeq] = true
			}
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	edge, far := seqs(3), seqs(4)
	if len(edge) == 0 || len(edge) != len(far) {
		t.Fatalf("%d ESP at the Edge, %d at the far side", len(edge), len(far))
	}
	for q := range edge {
		if !far[q] {
			t.Fatalf("ESP sequence %d left the Edge and is not at the far side", q)
		}
	}
	if err := s.WritePoint(5, &bytes.Buffer{}); err == nil {
		t.Fatal("point 5 written")
	}
}
