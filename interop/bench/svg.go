package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// palette colours the configurations in the chart, in order.
var palette = []string{"#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#d62728", "#8c564b", "#17becf", "#7f7f7f", "#bcbd22", "#e377c2"}

// svg draws the ratios to node>node as grouped horizontal bars on a log2
// scale, one group per metric and one bar per configuration. It needs
// nothing but the standard library.
func (r *report) svg() []byte {
	var cols []*config
	for _, c := range r.Configs {
		if c.Skipped == "" && c.Name != c.Baseline {
			cols = append(cols, c)
		}
	}
	type bar struct {
		col   int
		ratio float64
	}
	type group struct {
		label string
		bars  []bar
	}
	var groups []group
	lo, hi := 0.5, 2.0
	for _, m := range metrics {
		g := group{label: m.Label}
		for i, c := range cols {
			if s, ok := r.Results[c.Name][m.Key]; ok && s.Ratio > 0 {
				g.bars = append(g.bars, bar{i, s.Ratio})
				lo, hi = math.Min(lo, s.Ratio), math.Max(hi, s.Ratio)
			}
		}
		if len(g.bars) > 0 {
			groups = append(groups, g)
		}
	}
	// Whole powers of two around the data.
	lo2 := math.Floor(math.Log2(lo))
	hi2 := math.Ceil(math.Log2(hi))
	const (
		left, plotW, right = 250.0, 560.0, 70.0
		barH, barGap       = 11.0, 2.0
		groupGap           = 12.0
	)
	width := left + plotW + right
	legend := legendLayout(cols, width)
	top := legend[len(legend)-1][1] + 26
	x := func(v float64) float64 { return left + (math.Log2(v)-lo2)/(hi2-lo2)*plotW }
	height := top + 30
	for _, g := range groups {
		height += float64(len(g.bars))*(barH+barGap) + groupGap
	}

	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	w(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	w(`<text x="10" y="18" font-size="14" font-weight="bold">nodeipc: ratio to node&gt;node (same run, medians; right of 1 = better)</text>` + "\n")
	w(`<text x="10" y="34" fill="#555">%s · %d vCPU %s · Node %s · %s</text>`+"\n",
		html.EscapeString(r.Date), r.Machine.NProc, html.EscapeString(r.Machine.CPU), html.EscapeString(r.Machine.Node), html.EscapeString(r.Machine.Go))
	for i, c := range cols {
		lx, ly := legend[i][0], legend[i][1]
		w(`<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`+"\n",
			lx, ly, palette[i%len(palette)], lx+14, ly+9, html.EscapeString(c.Name))
	}
	// Grid.
	bottom := height - 24
	for e := lo2; e <= hi2; e++ {
		v := math.Pow(2, e)
		stroke, sw := "#ddd", 1.0
		if e == 0 {
			stroke, sw = "#333", 1.5
		}
		w(`<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="%s" stroke-width="%.1f"/>`+"\n", x(v), top-6, x(v), bottom, stroke, sw)
		w(`<text x="%.1f" y="%.0f" text-anchor="middle" fill="#555">%s×</text>`+"\n", x(v), bottom+14, trimFloat(v))
	}
	y := top
	for _, g := range groups {
		gh := float64(len(g.bars)) * (barH + barGap)
		w(`<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-8, y+gh/2+4, html.EscapeString(g.label))
		for _, br := range g.bars {
			x0, x1 := x(1), x(br.ratio)
			if x1 < x0 {
				x0, x1 = x1, x0
			}
			w(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.0f" fill="%s"><title>%s: %.2f×</title></rect>`+"\n",
				x0, y, math.Max(x1-x0, 1), barH, palette[br.col%len(palette)], html.EscapeString(cols[br.col].Name), br.ratio)
			w(`<text x="%.1f" y="%.1f" font-size="9" fill="#333">%.2f</text>`+"\n", math.Max(x(br.ratio), x(1))+3, y+barH-2, br.ratio)
			y += barH + barGap
		}
		y += groupGap
	}
	w("</svg>\n")
	return []byte(b.String())
}

// legendLayout places one legend entry per configuration from y=44, left
// to right, wrapping at width. It always returns at least one position.
func legendLayout(cols []*config, width float64) [][2]float64 {
	pos := [][2]float64{}
	lx, ly := 10.0, 44.0
	for _, c := range cols {
		itemW := 14 + 7*float64(len(c.Name)) + 16
		if lx+itemW > width-10 && lx > 10 {
			lx, ly = 10, ly+16
		}
		pos = append(pos, [2]float64{lx, ly})
		lx += itemW
	}
	if len(pos) == 0 {
		pos = append(pos, [2]float64{lx, ly})
	}
	return pos
}

// trimFloat prints a power of two without needless digits.
func trimFloat(v float64) string {
	if v >= 1 {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}
