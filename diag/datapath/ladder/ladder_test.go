package ladder_test

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"ipsecbot/diag/datapath"
	"ipsecbot/diag/datapath/ladder"
	"ipsecbot/diag/datapath/scene"
)

// result correlates a lab scene's four captures.
func result(t *testing.T, name string) *datapath.Result {
	t.Helper()
	sc, ok := scene.Lookup(name)
	if !ok {
		t.Fatalf("no scene %s", name)
	}
	in := sc.Input()
	for p := 1; p <= 4; p++ {
		var b bytes.Buffer
		if err := sc.WritePoint(p, &b); err != nil {
			t.Fatal(err)
		}
		in.Points[p-1] = datapath.Capture{Data: bytes.NewReader(b.Bytes())}
	}
	r, err := datapath.Correlate(in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func decode(t *testing.T, r *datapath.Result) image.Image {
	t.Helper()
	data, err := ladder.PNG(r)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if dir := os.Getenv("LADDER_DIR"); dir != "" { // to look at it
		os.WriteFile(filepath.Join(dir, r.Pings[0].Name[:2]+string(r.Verdict)+".png"), data, 0o644)
	}
	return img
}

// Ensure the ladder is a PNG of the documented size whose arrows are drawn where the packets
// went: a stopped ping leaves the hops after its stop point blank on its rows, which a healthy
// one fills.
func TestPNGDrawsArrowsWherePacketsWent(t *testing.T) {
	healthy := decode(t, result(t, "datapath-healthy"))
	b := healthy.Bounds()
	if b.Dx() != int(ladder.Width.Dots(96)) || b.Dy() != int(ladder.Height.Dots(96)) {
		t.Fatalf("size %dx%d, want %vx%v at 96 dpi", b.Dx(), b.Dy(), ladder.Width.Dots(96), ladder.Height.Dots(96))
	}
	r := result(t, "datapath-lost_on_wan")
	if r.Verdict != datapath.LostOnWAN || r.Stop == 0 {
		t.Fatalf("scene verdict %s stop %d", r.Verdict, r.Stop)
	}
	lost := decode(t, r)
	if lost.Bounds() != b {
		t.Fatalf("bounds %v, want %v", lost.Bounds(), b)
	}
	differ := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r1, g1, b1, _ := healthy.At(x, y).RGBA()
			r2, g2, b2, _ := lost.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				differ++
			}
		}
	}
	if differ < 500 {
		t.Errorf("%d pixels differ between a healthy and a lost ping's ladders: the arrows are not drawn", differ)
	}
	// The healthy ladder has colour (arrows) between the first two rails; a blank plot has none.
	coloured := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := healthy.At(x, y).RGBA()
			if bl > r+0x2000 && bl > g { // the forward ping's blue
				coloured++
			}
		}
	}
	if coloured < 1000 {
		t.Errorf("%d blue pixels: the forward ping's arrows are missing", coloured)
	}
}

func TestPNGRefusesNoResult(t *testing.T) {
	if _, err := ladder.PNG(nil); err == nil {
		t.Error("no error for a nil result")
	}
}
