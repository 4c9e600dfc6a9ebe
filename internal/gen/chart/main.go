// Command chart draws scripts/bench-scale.sh's results as an SVG: the
// median time of each command against the store's size, one line per
// command, both axes logarithmic. The empty store (size 0), which a log
// axis cannot place, is drawn one decade left of the smallest size and
// labelled "empty".
//
//	chart [-title TEXT] < results.tsv > growth.svg
//
// -title replaces the heading, "Median time per command against store
// size (log-log)".
//
// The input is the script's tab-separated results file: a header line, then
// size, command, median_ms and further columns, which are ignored.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"html"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

type point struct {
	size int
	ms   float64
}

func main() {
	title := flag.String("title", "Median time per command against store size (log-log)", "the chart's heading")
	flag.Parse()
	series, order, err := read(bufio.NewScanner(os.Stdin))
	if err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
	if len(series) == 0 {
		fmt.Fprintln(os.Stderr, "chart: no results on stdin")
		os.Exit(1)
	}
	os.Stdout.WriteString(draw(*title, series, order))
}

// read parses the results, keeping the commands in their first order.
func read(sc *bufio.Scanner) (map[string][]point, []string, error) {
	series := map[string][]point{}
	var order []string
	for first := true; sc.Scan(); first = false {
		f := strings.Split(sc.Text(), "\t")
		if first || len(f) < 3 {
			continue
		}
		size, err1 := strconv.Atoi(f[0])
		ms, err2 := strconv.ParseFloat(f[2], 64)
		if err1 != nil || err2 != nil || ms <= 0 {
			return nil, nil, fmt.Errorf("bad line %q", sc.Text())
		}
		if _, ok := series[f[1]]; !ok {
			order = append(order, f[1])
		}
		series[f[1]] = append(series[f[1]], point{size, ms})
	}
	return series, order, sc.Err()
}

// Plot area and its margins, in SVG pixels.
const (
	width, height            = 960, 560
	left, right, top, bottom = 70, 300, 40, 60
)

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#000000", "#aec7e8"}

func draw(title string, series map[string][]point, order []string) string {
	sizes := map[int]bool{}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, ps := range series {
		for _, p := range ps {
			sizes[p.size] = true
			lo, hi = math.Min(lo, p.ms), math.Max(hi, p.ms)
		}
	}
	var xs []int
	for s := range sizes {
		xs = append(xs, s)
	}
	sort.Ints(xs)
	minSize := 0
	for _, s := range xs {
		if s > 0 {
			minSize = s
			break
		}
	}
	if minSize == 0 {
		minSize = 10
	}
	decade := func(size int) float64 {
		if size == 0 {
			return math.Log10(float64(minSize)) - 1
		}
		return math.Log10(float64(size))
	}
	x0, x1 := decade(xs[0]), decade(xs[len(xs)-1])
	if x1 == x0 {
		x1 = x0 + 1
	}
	y0, y1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if y1 == y0 {
		y1 = y0 + 1
	}
	px := func(size int) float64 {
		return left + (decade(size)-x0)/(x1-x0)*float64(width-left-right)
	}
	py := func(ms float64) float64 {
		return float64(height-bottom) - (math.Log10(ms)-y0)/(y1-y0)*float64(height-top-bottom)
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	w(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	w(`<text x="%d" y="22" font-size="15">%s</text>`+"\n", left, html.EscapeString(title))
	// Grid: a line per decade of time, and per size.
	for d := y0; d <= y1; d++ {
		y := py(math.Pow(10, d))
		w(`<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, width-right, y, y)
		w(`<text x="%d" y="%.1f" text-anchor="end">%s ms</text>`+"\n", left-6, y+4, strconv.FormatFloat(math.Pow(10, d), 'g', -1, 64))
	}
	for _, s := range xs {
		x := px(s)
		label := "empty"
		if s > 0 {
			label = strconv.Itoa(s)
		}
		w(`<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#ddd"/>`+"\n", x, x, top, height-bottom)
		w(`<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, height-bottom+18, label)
	}
	w(`<text x="%d" y="%d" text-anchor="middle">items in the store</text>`+"\n", (left+width-right)/2, height-16)
	for i, name := range order {
		ps := series[name]
		sort.Slice(ps, func(a, b int) bool { return ps[a].size < ps[b].size })
		color := palette[i%len(palette)]
		var pts []string
		for _, p := range ps {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(p.size), py(p.ms)))
			w(`<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px(p.size), py(p.ms), color)
		}
		w(`<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), color)
		ly := top + 10 + i*20
		w(`<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", width-right+20, width-right+44, ly, ly, color)
		w(`<text x="%d" y="%d">%s</text>`+"\n", width-right+50, ly+4, html.EscapeString(name))
	}
	w("</svg>\n")
	return b.String()
}
