// Package ladder draws step 8's ladder diagram: the four capture points as vertical lines, one
// arrow per packet between the points it was seen at, time going down, and the point where the
// failing echoes stopped marked.
package ladder

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"ipsecbot/diag/datapath"
)

// The PNG's size.
const (
	Width  = 6 * vg.Inch
	Height = 8 * vg.Inch
	// MaxRows bounds the packets drawn; the rest are left out with a note in the title.
	MaxRows = 48
)

var (
	pointNames = [4]string{"1 VM port", "2 Edge internal", "3 Edge uplink", "4 far side"}
	forward    = color.RGBA{R: 0x1f, G: 0x5f, B: 0xbf, A: 0xff} // VM 1 -> host 2
	back       = color.RGBA{R: 0x2f, G: 0x8f, B: 0x3f, A: 0xff} // host 2 -> VM 1
	stopped    = color.RGBA{R: 0xd0, G: 0x20, B: 0x20, A: 0xff}
	rail       = color.Gray{Y: 0x80}
)

// arrow is one packet's hop: from point a to point b (1-4) in row y; lost: it was not seen at b.
type arrow struct {
	a, b int
	y    float64
	lost bool
	col  color.Color
}

// PNG renders the result's ladder.
func PNG(r *datapath.Result) ([]byte, error) {
	if r == nil {
		return nil, errors.New("no data-path result to draw")
	}
	arrows, rows, cut := layout(r)
	p := plot.New()
	p.Title.Text = "Data path: " + string(r.Verdict)
	if r.Stop != 0 {
		p.Title.Text += fmt.Sprintf(" (%s %s stopped at point %d)", r.Direction, r.Leg, r.Stop)
	}
	if cut > 0 {
		p.Title.Text += fmt.Sprintf("; %d packets not drawn", cut)
	}
	p.HideY()
	p.X.Min, p.X.Max = 0.5, 4.5
	// The rails end below the last row; the legend sits in the room left under them.
	railEnd := -float64(rows) - 0.5
	p.Y.Min, p.Y.Max = railEnd-legendRows(rows), 0.5
	p.X.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 1, Label: pointNames[0]}, {Value: 2, Label: pointNames[1]},
		{Value: 3, Label: pointNames[2]}, {Value: 4, Label: pointNames[3]}})
	for x := 1; x <= 4; x++ {
		l, err := plotter.NewLine(plotter.XYs{{X: float64(x), Y: railEnd}, {X: float64(x), Y: p.Y.Max}})
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = rail, vg.Points(2)
		if x == r.Stop {
			l.Color, l.Width = stopped, vg.Points(3)
		}
		p.Add(l)
	}
	for _, a := range arrows {
		if err := addArrow(p, a); err != nil {
			return nil, err
		}
	}
	for _, k := range []struct {
		name string
		col  color.Color
	}{{"ping VM 1 -> host 2", forward}, {"ping host 2 -> VM 1", back}, {"not seen at the next point", stopped}} {
		l, err := plotter.NewLine(plotter.XYs{{}, {}})
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = k.col, vg.Points(2)
		p.Legend.Add(k.name, l)
	}
	p.Legend.Top, p.Legend.Left = false, false
	if r.Stop != 0 {
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: float64(r.Stop), Y: 0.2}}, Labels: []string{"stopped here"}})
		if err != nil {
			return nil, err
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Color = stopped
		}
		p.Add(lb)
	}
	wt, err := p.WriterTo(Width, Height, "png")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// layout turns the traces into arrows, one row per leg of each echo, in ping and sequence order.
func layout(r *datapath.Result) (arrows []arrow, rows, cut int) {
	for _, ping := range r.Pings {
		col := forward
		path := [2][]int{{1, 2, 3, 4}, {4, 3, 2, 1}} // request, reply
		if ping.Direction == datapath.Return {
			col = back
			path = [2][]int{{4, 3, 2, 1}, {1, 2, 3, 4}}
		}
		for _, t := range ping.Traces {
			for leg := range 2 {
				seen := t.Seen[leg]
				if !seen[0] && !seen[1] && !seen[2] && !seen[3] {
					continue
				}
				if rows >= MaxRows {
					cut++
					continue
				}
				rows++
				y := -float64(rows)
				arrows = append(arrows, legArrows(path[leg], seen, y, col)...)
			}
		}
	}
	return arrows, rows, cut
}

// legArrows draws one packet along its path: an arrow for each hop between points it was
// seen at, and a lost arrow from the last point it was seen at towards the next.
func legArrows(path []int, seen [4]bool, y float64, col color.Color) []arrow {
	var out []arrow
	last := -1
	for i, pt := range path {
		if !seen[pt-1] {
			continue
		}
		if last >= 0 {
			out = append(out, arrow{a: path[last], b: pt, y: y, col: col})
		}
		last = i
	}
	if last >= 0 && last < len(path)-1 {
		out = append(out, arrow{a: path[last], b: path[last+1], y: y, lost: true, col: stopped})
	}
	return out
}

// addArrow adds a line from a to b (to half-way when lost, ending in a cross) with a head.
func addArrow(p *plot.Plot, a arrow) error {
	x0, x1 := float64(a.a), float64(a.b)
	if a.lost {
		x1 = x0 + (x1-x0)/2
	}
	dir := 1.0
	if x1 < x0 {
		dir = -1
	}
	shaft, err := plotter.NewLine(plotter.XYs{{X: x0, Y: a.y}, {X: x1, Y: a.y}})
	if err != nil {
		return err
	}
	shaft.Color, shaft.Width = a.col, vg.Points(2)
	if a.lost {
		shaft.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	p.Add(shaft)
	if a.lost {
		x, err := plotter.NewScatter(plotter.XYs{{X: x1, Y: a.y}})
		if err != nil {
			return err
		}
		x.GlyphStyle = draw.GlyphStyle{Color: stopped, Radius: vg.Points(5), Shape: draw.CrossGlyph{}}
		p.Add(x)
		return nil
	}
	head, err := plotter.NewLine(plotter.XYs{{X: x1 - dir*0.08, Y: a.y + 0.25}, {X: x1, Y: a.y}, {X: x1 - dir*0.08, Y: a.y - 0.25}})
	if err != nil {
		return err
	}
	head.Color, head.Width = a.col, vg.Points(2)
	p.Add(head)
	return nil
}

// legendRows is the room under the rails for the legend's three lines, in rows: a ladder of few
// rows has tall rows.
func legendRows(rows int) float64 { return max(1, float64(rows+1)*0.1) }
