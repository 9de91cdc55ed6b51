// Package chart draws the watcher's history of tunnels as a PNG timeline: one row per tunnel,
// its state as coloured bands (up, unstable, down, unknown; blank where nothing was read yet),
// drops marked, and the failure messages written where they first appeared. Slack's health
// post and `bot health --png` use it.
package chart

import (
	"fmt"
	"image/color"
	"image/png"
	"io"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"ipsecbot/watch"
)

// Span is a stretch of time a tunnel spent in one state.
type Span struct {
	From, To time.Time
	State    string // a watch state
}

// Mark is a moment worth pointing at: a drop, or a failure message first seen.
type Mark struct {
	At   time.Time
	Note string
}

// Row is one tunnel's timeline.
type Row struct {
	Label    string // "ipsecsite-1\n10.0.1.0/24-10.0.2.0/24"
	Spans    []Span
	Drops    []Mark
	Failures []Mark
}

// Image size: DPI fixes the pixels a vg length becomes.
const (
	DPI         = 96
	Width       = 1200 // pixels
	baseHeight  = 150  // title, axis, legend
	rowHeight   = 90
	maxNoteRune = 60 // a failure annotation is cut here
)

// Height is the image height in pixels for n rows.
func Height(n int) int { return baseHeight + rowHeight*max(n, 1) }

// StateColor is the colour of a state's band (no data: NoData).
func StateColor(state string) color.Color {
	switch state {
	case watch.StateUp:
		return color.RGBA{0x2e, 0xa0, 0x43, 0xff}
	case watch.StateUnstable:
		return color.RGBA{0xf0, 0x8c, 0x00, 0xff}
	case watch.StateDown:
		return color.RGBA{0xd0, 0x21, 0x21, 0xff}
	case watch.StateUnknown:
		return color.RGBA{0x9e, 0x9e, 0x9e, 0xff}
	}
	return NoData
}

// NoData is the colour where the watcher had no reading yet.
var NoData color.Color = color.RGBA{0xe4, 0xe4, 0xe4, 0xff}

// dropColor marks drops; it differs from every band.
var dropColor = color.RGBA{0x20, 0x20, 0x80, 0xff}

// WritePNG draws rows over [from, to] under title and writes the PNG: Width by Height(len(rows))
// pixels.
func WritePNG(w io.Writer, title string, rows []Row, from, to time.Time) error {
	if !to.After(from) {
		return fmt.Errorf("chart: empty time range %s to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if len(rows) == 0 {
		return fmt.Errorf("chart: no tunnels to draw")
	}
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.X.Label.Text = fmt.Sprintf("UTC, %s to %s", from.UTC().Format("2006-01-02 15:04"), to.UTC().Format("2006-01-02 15:04"))
	p.X.Min, p.X.Max = unix(from), unix(to)
	p.X.Tick.Marker = hourTicks(from, to)
	n := len(rows)
	p.Y.Min, p.Y.Max = -0.5, float64(n)-0.5+legendRoom
	var yt plot.ConstantTicks
	for i, r := range rows {
		yt = append(yt, plot.Tick{Value: rowY(i, n), Label: r.Label})
	}
	p.Y.Tick.Marker = yt
	p.Y.Tick.Length = 0
	p.Y.Tick.Label.Font.Size = vg.Points(9)
	p.Add(&timeline{rows: rows, from: from, to: to, style: p.X.Tick.Label})

	px := func(n int) vg.Length { return vg.Length(n) * vg.Inch / DPI }
	c := vgimg.NewWith(vgimg.UseWH(px(Width), px(Height(n))), vgimg.UseDPI(DPI), vgimg.UseBackgroundColor(color.White))
	p.Draw(draw.New(c))
	// Flat colours compress well at any level, and encoding is a large part of the time.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(w, c.Image()); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}

// legendRoom is the y room above the rows that the legend takes.
const legendRoom = 0.45

// rowY is row i's centre: the first row on top.
func rowY(i, n int) float64 { return float64(n - 1 - i) }

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// hourTicks labels every few hours (about eight labels) and marks each hour.
func hourTicks(from, to time.Time) plot.ConstantTicks {
	span := to.Sub(from)
	step := time.Hour
	for _, s := range []time.Duration{time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour} {
		step = s
		if span/s <= 8 {
			break
		}
	}
	minor := time.Hour
	if span <= 3*time.Hour {
		step, minor = 30*time.Minute, 10*time.Minute
	}
	var ticks plot.ConstantTicks
	for t := from.UTC().Truncate(minor); !t.After(to); t = t.Add(minor) {
		if t.Before(from) {
			continue
		}
		label := ""
		if t.Sub(t.Truncate(step)) == 0 {
			label = t.Format("15:04")
			if t.Hour() == 0 && t.Minute() == 0 {
				label = t.Format("Jan 2")
			}
		}
		ticks = append(ticks, plot.Tick{Value: unix(t), Label: label})
	}
	return ticks
}

// timeline is the plotter drawing the rows.
type timeline struct {
	rows     []Row
	from, to time.Time
	style    draw.TextStyle
}

func (tl *timeline) DataRange() (xmin, xmax, ymin, ymax float64) {
	return unix(tl.from), unix(tl.to), -0.5, float64(len(tl.rows)) - 0.5 + legendRoom
}

// Plot draws each row's bands, drops and failure notes, then the legend.
func (tl *timeline) Plot(c draw.Canvas, p *plot.Plot) {
	xOf, yOf := p.Transforms(&c)
	clampX := func(t time.Time) vg.Length {
		if t.Before(tl.from) {
			t = tl.from
		}
		if t.After(tl.to) {
			t = tl.to
		}
		return xOf(unix(t))
	}
	n := len(tl.rows)
	note := tl.style
	note.Font.Size = vg.Points(8)
	note.Color = color.RGBA{0x30, 0x30, 0x30, 0xff}
	note.XAlign = draw.XLeft
	for i, r := range tl.rows {
		mid := rowY(i, n)
		top, bottom := yOf(mid+0.22), yOf(mid-0.22)
		c.FillPolygon(NoData, rect(xOf(unix(tl.from)), bottom, xOf(unix(tl.to)), top))
		for _, s := range r.Spans {
			x0, x1 := clampX(s.From), clampX(s.To)
			if x1-x0 < vg.Points(1) {
				x0 = x1 - vg.Points(1) // a moment (or a tunnel watched for seconds) still shows
			}
			c.FillPolygon(StateColor(s.State), rect(x0, bottom, x1, top))
		}
		drop := draw.LineStyle{Color: dropColor, Width: vg.Points(2)}
		glyph := draw.GlyphStyle{Color: dropColor, Radius: vg.Points(3.5), Shape: draw.PyramidGlyph{}}
		for _, d := range r.Drops {
			x := clampX(d.At)
			c.StrokeLine2(drop, x, bottom, x, top)
			c.DrawGlyph(glyph, vg.Point{X: x, Y: top + vg.Points(4)})
		}
		// Failure notes go under the band, each where its message first appeared, skipping
		// one that would overwrite the last.
		y := bottom - vg.Points(11)
		var end vg.Length = -1
		for _, f := range r.Failures {
			x := clampX(f.At)
			if x < end {
				continue
			}
			txt := cut(f.Note, maxNoteRune)
			c.StrokeLine2(draw.LineStyle{Color: note.Color, Width: vg.Points(0.5)}, x, bottom, x, y+vg.Points(8))
			c.FillText(note, vg.Point{X: x + vg.Points(2), Y: y}, txt)
			end = x + note.Width(txt) + vg.Points(8)
		}
	}
	tl.legend(c, xOf(unix(tl.from)), yOf(float64(n)-0.5+legendRoom/2))
}

// legend writes the colours and the drop mark in one line at (x, y).
func (tl *timeline) legend(c draw.Canvas, x, y vg.Length) {
	sty := tl.style
	sty.Font.Size = vg.Points(9)
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YCenter
	box := vg.Points(9)
	for _, st := range watch.States {
		c.FillPolygon(StateColor(st), rect(x, y-box/2, x+box, y+box/2))
		c.FillText(sty, vg.Point{X: x + box + vg.Points(3), Y: y}, st)
		x += box + vg.Points(10) + sty.Width(st)
	}
	c.FillPolygon(NoData, rect(x, y-box/2, x+box, y+box/2))
	c.FillText(sty, vg.Point{X: x + box + vg.Points(3), Y: y}, "no reading")
	x += box + vg.Points(10) + sty.Width("no reading")
	c.DrawGlyph(draw.GlyphStyle{Color: dropColor, Radius: vg.Points(3.5), Shape: draw.PyramidGlyph{}}, vg.Point{X: x + box/2, Y: y})
	c.FillText(sty, vg.Point{X: x + box + vg.Points(3), Y: y}, "drop")
}

func rect(x0, y0, x1, y1 vg.Length) []vg.Point {
	return []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
}

// cut shortens s to n runes with an ellipsis.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
