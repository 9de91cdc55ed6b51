package chart

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"ipsecbot/diag/nsx"
	"ipsecbot/store"
	"ipsecbot/watch"
)

var (
	flapper = watch.Key{Edge: "edge-01", Site: "ipsecsite-1", Tunnel: "10.0.1.0/24-10.0.2.0/24"}
	downer  = watch.Key{Edge: "edge-01", Site: "ipsecsite-2", Tunnel: "10.0.3.0/24-10.0.4.0/24"}
)

// dayStore is a store file with a day of history: flapper is up, drops three times and turns
// unstable, goes down with an authentication failure, and comes back up; downer went down a
// day before the window and stayed down.
func dayStore(t *testing.T, now time.Time) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "bot.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	at := func(h float64) time.Time { return now.Add(time.Duration(h * float64(time.Hour))) }
	up := &store.WatchSample{TunnelStatus: "up", ChannelStatus: "up"}
	down := &store.WatchSample{TunnelStatus: "down", ChannelStatus: "down", Failure: nsx.MsgIKEv2AuthFailed}
	events := map[[3]string][]store.WatchEvent{
		{flapper.Edge, flapper.Site, flapper.Tunnel}: {
			{Time: at(-30), Kind: store.WatchChanged, Note: "first reading", Sample: up},
			{Time: at(-12), Kind: store.WatchSampled, Sample: up},
			{Time: at(-10), Kind: store.WatchDrop, Note: "re-established", Sample: up},
			{Time: at(-9.5), Kind: store.WatchDrop, Note: "re-established", Sample: up},
			{Time: at(-9), Kind: store.WatchDrop, Note: "re-established", Sample: up},
			{Time: at(-9), Kind: store.WatchState, State: watch.StateUnstable, Note: "3 drops"},
			{Time: at(-8.1), Kind: store.WatchDrop, Note: "went down", Sample: down},
			{Time: at(-8), Kind: store.WatchState, State: watch.StateDown, Note: "down for 2m"},
			{Time: at(-4), Kind: store.WatchChanged, Note: "back up", Sample: up},
			{Time: at(-4), Kind: store.WatchState, State: watch.StateUp, Note: "back up"},
		},
		{downer.Edge, downer.Site, downer.Tunnel}: {
			{Time: at(-48), Kind: store.WatchState, State: watch.StateDown, Note: "down for 2m", Sample: down},
			{Time: at(-20), Kind: store.WatchSampled, Sample: down},
		},
	}
	if err := db.SaveWatch(nil, events); err != nil {
		t.Fatal(err)
	}
	return db
}

// Ensure a tunnel's row is its states over the window (the state at its start from before
// it), its drops, and each failure message where it first appeared; a tunnel never read has
// an empty row.
func TestFromStore_SpansDropsFailures(t *testing.T) {
	now := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	db := dayStore(t, now)
	from := now.Add(-24 * time.Hour)
	r, err := FromStore(db, flapper, from, now)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, s := range r.Spans {
		states = append(states, s.State)
	}
	if !slices.Equal(states, []string{"up", "unstable", "down", "up"}) || !r.Spans[0].From.Equal(from) || !r.Spans[3].To.Equal(now) ||
		!r.Spans[2].From.Equal(now.Add(-8*time.Hour)) {
		t.Errorf("spans %+v", r.Spans)
	}
	if len(r.Drops) != 4 || len(r.Failures) != 1 || r.Failures[0].Note != nsx.MsgIKEv2AuthFailed || r.Label != "ipsecsite-1\n10.0.1.0/24-10.0.2.0/24" {
		t.Errorf("drops %+v, failures %+v, label %q", r.Drops, r.Failures, r.Label)
	}
	r, err = FromStore(db, downer, from, now)
	if err != nil || len(r.Spans) != 1 || r.Spans[0].State != watch.StateDown || !r.Spans[0].From.Equal(from) {
		t.Errorf("downer %+v %v", r, err)
	}
	r, err = FromStore(db, watch.Key{Edge: "edge-01", Site: "never", Tunnel: "read"}, from, now)
	if err != nil || len(r.Spans) != 0 {
		t.Errorf("a tunnel never read: %+v %v", r, err)
	}
	if err := WritePNG(&bytes.Buffer{}, "x", []Row{r}, now, from); err == nil {
		t.Error("a backwards time range was drawn")
	}
}

// Ensure the PNG decodes at the documented size and shows each row's states as bands in time
// order (the flapper's up, unstable, down and up again left to right; the downer down all day),
// with the drops marked.
func TestWritePNG_BandsInOrder(t *testing.T) {
	now := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	db := dayStore(t, now)
	rows, err := Tunnels(db, []watch.Key{flapper, downer}, 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WritePNG(&buf, "edge-01: IPsec tunnels, last 24 h", rows, now.Add(-24*time.Hour), now); err != nil {
		t.Fatal(err)
	}
	if out := os.Getenv("CHART_OUT"); out != "" { // to look at it
		os.WriteFile(out, buf.Bytes(), 0o644)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != Width || b.Dy() != Height(2) {
		t.Fatalf("size %dx%d, want %dx%d", b.Dx(), b.Dy(), Width, Height(2))
	}
	colors := map[color.RGBA]string{}
	for _, st := range watch.States {
		colors[rgba(StateColor(st))] = st
	}
	colors[rgba(dropColor)] = "drop"
	// Each band's rows of pixels: the y of every state colour, top to bottom.
	ys := map[string][]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		seen := map[string]bool{}
		for x := b.Min.X; x < b.Max.X; x++ {
			if st, ok := colors[rgba(img.At(x, y))]; ok && !seen[st] {
				seen[st] = true
				ys[st] = append(ys[st], y)
			}
		}
	}
	// The flapper's band is the top row: the middle of the rows with up pixels lies in it
	// (the downer's row has none but the legend's swatch, above both).
	upY := ys["up"][len(ys["up"])/2]
	line := runs(img, upY, colors)
	bands := slices.DeleteFunc(slices.Clone(line), func(s string) bool { return s == "drop" })
	if !slices.Equal(slices.Compact(bands), []string{"up", "unstable", "down", "up"}) {
		t.Errorf("the flapper's band at y=%d reads %v, want up, unstable, down, up", upY, line)
	}
	if n := len(line) - len(bands); n != 4 {
		t.Errorf("the flapper's band at y=%d crosses %d drop marks, want 4: %v", upY, n, line)
	}
	downY := ys["down"][len(ys["down"])-1] - 3
	if got := runs(img, downY, colors); !slices.Equal(got, []string{"down"}) {
		t.Errorf("the downer's band at y=%d reads %v, want down only", downY, got)
	}
}

// runs reads a line of pixels as the sequence of known colours along it, each run once.
func runs(img image.Image, y int, colors map[color.RGBA]string) []string {
	var out []string
	for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
		if st, ok := colors[rgba(img.At(x, y))]; ok && (len(out) == 0 || out[len(out)-1] != st) {
			out = append(out, st)
		}
	}
	return out
}

func rgba(c color.Color) color.RGBA {
	r, g, b, a := c.RGBA()
	return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
}

// BenchmarkWritePNG draws the largest chart: MaxRows tunnels, each with a day of flaps.
func BenchmarkWritePNG(b *testing.B) {
	now := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	from := now.Add(-24 * time.Hour)
	rows := make([]Row, MaxRows)
	for i := range rows {
		r := &rows[i]
		r.Label = fmt.Sprintf("ipsecsite-%d\n10.0.%d.0/24-10.1.%d.0/24", i, i, i)
		at := from
		for j := 0; at.Before(now); j++ {
			next := at.Add(20 * time.Minute)
			r.Spans = append(r.Spans, Span{From: at, To: next, State: watch.States[j%len(watch.States)]})
			r.Drops = append(r.Drops, Mark{At: at})
			r.Failures = append(r.Failures, Mark{At: at, Note: nsx.MsgIKEv2AuthFailed})
			at = next
		}
	}
	for b.Loop() {
		if err := WritePNG(io.Discard, "bench", rows, from, now); err != nil {
			b.Fatal(err)
		}
	}
}
