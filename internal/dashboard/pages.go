package dashboard

import (
	"bytes"
	"fmt"
	"html/template"
	"time"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// palette colours domains in the timeline and the legend, in config order.
var palette = []string{"#2f6fb3", "#d9822b", "#3a9a5b", "#8e5bb5", "#c0463f", "#2a9d9d", "#b59a2f", "#6b7a8f"}

// otherColour is for a domain no longer in the config.
const otherColour = "#999999"

type pages struct {
	tmpl    *template.Template
	colours map[string]string
	domains []string
}

func loadPages(cfg *workflow.Config) (*pages, error) {
	p := &pages{colours: map[string]string{}, domains: cfg.DomainNames()}
	for i, d := range p.domains {
		p.colours[d] = palette[i%len(palette)]
	}
	funcs := template.FuncMap{
		"ago": func(t workflow.Time, now workflow.Time) string {
			if t.IsZero() {
				return "-"
			}
			return cli.Ago(t.Time, now.Time)
		},
		"left":   func(t workflow.Time, now workflow.Time) string { return cli.Remaining(t.Time, now.Time) },
		"utc":    func(t workflow.Time) string { return t.String() },
		"colour": p.colourOf,
		"short": func(s string) string {
			if len(s) > 12 {
				return s[:12]
			}
			return s
		},
		"f": func(v float64) string { return fmt.Sprintf("%.1f", v) },
	}
	t, err := template.New("").Funcs(funcs).ParseFS(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p.tmpl = t
	return p, nil
}

func (p *pages) execute(name string, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// view is what every page template gets.
type view struct {
	Repo    string
	Title   string
	Now     workflow.Time
	Domains []string
	Kinds   []string
	Page    any
}

func (p *pages) view(repo, title string, now workflow.Time, page any) view {
	return view{Repo: repo, Title: title, Now: now, Domains: p.domains, Kinds: workflow.SignalKinds, Page: page}
}

// dashboardPage is the main page: the dashboard and its timeline drawn.
type dashboardPage struct {
	*workflow.Dashboard
	Timeline timelineView
}

func (p *pages) dashboardView(d *workflow.Dashboard, repo string) view {
	return p.view(repo, "Dashboard", d.Now, dashboardPage{Dashboard: d, Timeline: p.drawTimeline(d.Timeline)})
}

// Timeline geometry, in SVG user units.
const (
	tlLabel  = 130.0 // resource names
	tlPlot   = 760.0 // the 24 hours
	tlQueue  = 230.0 // the waiters, right of "now"
	tlRowH   = 26.0
	tlTop    = 22.0 // hour labels
	tlBarPad = 5.0
)

type timelineView struct {
	Width, Height, PlotX, PlotEnd float64
	Ticks                         []tlTick
	Rows                          []tlRow
}

type tlTick struct {
	X     float64
	Label string
}

type tlRow struct {
	Y, BarY, BarH, MidY float64
	Resource, Domain    string
	Bars                []tlBar
	Marks               []tlMark
	Waiters             []workflow.Waiter
}

type tlBar struct {
	X, W   float64
	Colour string
	Token  int64
	Title  string
	Live   bool
}

// tlMark is an event on a resource: kind is expired, revoked or shadow.
type tlMark struct {
	X     float64
	Kind  string
	Href  string
	Title string
}

func (p *pages) drawTimeline(t workflow.Timeline) timelineView {
	from, to := t.From.Time, t.To.Time
	span := to.Sub(from).Seconds()
	x := func(at time.Time) float64 {
		f := at.Sub(from).Seconds() / span
		return tlLabel + tlPlot*min(max(f, 0), 1)
	}
	v := timelineView{Width: tlLabel + tlPlot + tlQueue, PlotX: tlLabel, PlotEnd: tlLabel + tlPlot}
	v.Height = tlTop + tlRowH*float64(len(t.Rows)) + 4
	first := from.Truncate(3 * time.Hour).Add(3 * time.Hour)
	for at := first; at.Before(to); at = at.Add(3 * time.Hour) {
		if x(at) < v.PlotEnd-30 { // leave room for the "now" label
			v.Ticks = append(v.Ticks, tlTick{X: x(at), Label: at.UTC().Format("15:04")})
		}
	}
	for i, r := range t.Rows {
		y := tlTop + tlRowH*float64(i)
		row := tlRow{Y: y, BarY: y + tlBarPad, BarH: tlRowH - 2*tlBarPad, MidY: y + tlRowH/2, Resource: r.Resource, Domain: r.Domain, Waiters: r.Waiters}
		for _, l := range r.Leases {
			end := l.EndedAt.Time
			if l.State == workflow.LeaseActive {
				end = to
			}
			x0, x1 := x(l.CreatedAt.Time), x(end)
			bar := tlBar{X: x0, W: max(x1-x0, 2), Colour: p.colourOf(l.Domain), Token: l.Token, Live: l.State == workflow.LeaseActive,
				Title: fmt.Sprintf("%s: %s (%s), token %d, %s from %s", l.Resource, l.Owner, l.Domain, l.Token, l.State, l.CreatedAt)}
			if !bar.Live {
				bar.Title += fmt.Sprintf(" to %s (%s)", l.EndedAt, l.EndReason)
			}
			row.Bars = append(row.Bars, bar)
			switch l.State {
			case workflow.LeaseExpired, workflow.LeaseRevoked:
				row.Marks = append(row.Marks, tlMark{X: x(l.EndedAt.Time), Kind: string(l.State), Href: fmt.Sprintf("/lease/%d", l.Token),
					Title: fmt.Sprintf("%s's lease on %s (token %d) %s at %s: %s", l.Owner, l.Resource, l.Token, l.State, l.EndedAt, l.EndReason)})
			}
		}
		for _, e := range r.ShadowEdits {
			mark := tlMark{X: x(e.DetectedAt.Time), Kind: "shadow",
				Title: fmt.Sprintf("shadow edit %d on %s found at %s (%s)", e.ID, e.Resource, e.DetectedAt, e.Status)}
			if e.Signal != 0 {
				mark.Href = fmt.Sprintf("/signal/%d", e.Signal)
			}
			row.Marks = append(row.Marks, mark)
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

func (p *pages) colourOf(domain string) string {
	if c, ok := p.colours[domain]; ok {
		return c
	}
	return otherColour
}
