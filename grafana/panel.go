package main

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/logs"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// A panel is what one panel shows; build() turns it into Grafana's model.
// Adding a panel to a dashboard is one function returning a panel.
type panel struct {
	viz         viz
	title       string
	description string
	unit        string  // Grafana unit id: reqps, s, percentunit, bytes, short, ...
	queries     []query // PromQL; LogsQL for vizLogs
	// logs is a LogsQL query: the panel gets a link to it in Explore on
	// VictoriaLogs over the same time range (exploreLogsURL).
	logs  string
	width uint32 // of 24 grid columns; default 12, stats 6
	// For stats and state timelines: value colours (green below the first
	// step, then each step's colour from its value up) and value texts.
	steps    []step
	mappings []mapping
	max      *float64
	stacked  bool
}

type viz int

const (
	vizTimeseries viz = iota
	vizStat
	vizStateTimeline
	vizLogs
)

// A query is one PromQL (or LogsQL) target. exemplars asks Prometheus for
// the exemplars of the query's histogram: Grafana links each to its trace
// (the Prometheus data source's exemplarTraceIdDestinations).
type query struct {
	expr, legend string
	exemplars    bool
}

type step struct {
	from  float64
	color string
}

// A mapping shows value as text, in color.
type mapping struct {
	value, text, color string
}

func q(expr, legend string) query  { return query{expr: expr, legend: legend} }
func qx(expr, legend string) query { return query{expr: expr, legend: legend, exemplars: true} }

// panelBuilder is what every SDK panel builder we use has in common.
type panelBuilder[T any] interface {
	cog.Builder[dashboard.Panel]
	Title(string) T
	Description(string) T
	Datasource(common.DataSourceRef) T
	Span(uint32) T
	Height(uint32) T
	Links([]cog.Builder[dashboard.DashboardLink]) T
	WithTarget(cog.Builder[variants.Dataquery]) T
}

// fieldBuilder is a panel builder with field options (all but logs).
type fieldBuilder[T any] interface {
	panelBuilder[T]
	Unit(string) T
	Min(float64) T
	Max(float64) T
	Thresholds(cog.Builder[dashboard.ThresholdsConfig]) T
	Mappings([]dashboard.ValueMapping) T
}

func (p panel) build() cog.Builder[dashboard.Panel] {
	switch p.viz {
	case vizStat:
		b := stat.NewPanelBuilder().
			GraphMode(common.BigValueGraphModeArea).
			ColorMode(common.BigValueColorModeValue).
			Orientation(common.VizOrientationAuto).
			ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
		return fields(withBasics(b, p, 6, 5), p)
	case vizStateTimeline:
		b := statetimeline.NewPanelBuilder().
			ShowValue(common.VisibilityModeNever).
			Legend(legend()).
			Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeSingle).Sort(common.SortOrderNone))
		return fields(withBasics(b, p, 12, 8), p)
	case vizLogs:
		b := logs.NewPanelBuilder().
			ShowTime(true).
			WrapLogMessage(true).
			EnableLogDetails(true). // the fields, trace_id with its link to Jaeger
			DedupStrategy(common.LogsDedupStrategyNone).
			SortOrder(common.LogsSortOrderDescending)
		return withBasics(b, p, 24, 10)
	default:
		b := timeseries.NewPanelBuilder().
			Legend(legend()).
			Tooltip(common.NewVizTooltipOptionsBuilder().
				Mode(common.TooltipDisplayModeMulti).
				Sort(common.SortOrderDescending)).
			FillOpacity(10).
			ShowPoints(common.VisibilityModeNever).
			Min(0)
		if p.stacked {
			b.Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))
		}
		return fields(withBasics(b, p, 12, 8), p)
	}
}

func legend() *common.VizLegendOptionsBuilder {
	return common.NewVizLegendOptionsBuilder().
		ShowLegend(true).
		DisplayMode(common.LegendDisplayModeList).
		Placement(common.LegendPlacementBottom)
}

// withBasics applies what every panel has: title, description, size, data
// source, queries, and the link to the panel's logs.
func withBasics[T panelBuilder[T]](b T, p panel, width, height uint32) T {
	if p.width != 0 {
		width = p.width
	}
	b.Title(p.title).Description(p.description).Span(width).Height(height)
	if p.viz == vizLogs {
		b.Datasource(victoriaLogsDS)
	} else {
		b.Datasource(prometheusDS)
	}
	for i, qu := range p.queries {
		b.WithTarget(qu.target(p.viz, refID(i)))
	}
	if p.logs != "" {
		b.Links([]cog.Builder[dashboard.DashboardLink]{
			dashboard.NewDashboardLinkBuilder("Logs in VictoriaLogs (same time range)").
				Type(dashboard.DashboardLinkTypeLink).
				Url(exploreLogsURL(p.logs)).
				TargetBlank(true),
		})
	}
	return b
}

func fields[T fieldBuilder[T]](b T, p panel) T {
	if p.unit != "" {
		b.Unit(p.unit)
	}
	if p.max != nil {
		b.Max(*p.max)
	}
	if p.viz == vizStateTimeline || p.viz == vizStat {
		b.Min(0)
	}
	if len(p.steps) > 0 {
		steps := []dashboard.Threshold{{Color: "green"}}
		for _, s := range p.steps {
			steps = append(steps, dashboard.Threshold{Value: ptr(s.from), Color: s.color})
		}
		b.Thresholds(dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(steps))
	}
	if len(p.mappings) > 0 {
		options := map[string]dashboard.ValueMappingResult{}
		for i, m := range p.mappings {
			options[m.value] = dashboard.ValueMappingResult{Text: ptr(m.text), Color: ptr(m.color), Index: ptr(int32(i))}
		}
		b.Mappings([]dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: options}}})
	}
	return b
}

func (qu query) target(v viz, ref string) cog.Builder[variants.Dataquery] {
	if v == vizLogs {
		return variants.NewUnknownDataqueryBuilderFromObject(variants.UnknownDataquery{
			"refId":      ref,
			"datasource": victoriaLogsDS,
			"editorMode": "code",
			"expr":       qu.expr,
			"queryType":  "instant",
		})
	}
	t := prometheus.NewDataqueryBuilder().
		RefId(ref).
		Datasource(prometheusDS).
		Expr(qu.expr).
		LegendFormat(qu.legend).
		Range()
	if qu.exemplars {
		t.Exemplar(true)
	}
	return t
}

func refID(i int) string { return string(rune('A' + i)) }

// rate is the per-second rate of counter over Grafana's rate interval,
// summed by the labels of by ("" for one total).
func rate(counter, selector, by string) string {
	return sum(by, fmt.Sprintf("rate(%s{%s}[$__rate_interval])", counter, selector))
}

func sum(by, expr string) string {
	if by == "" {
		return fmt.Sprintf("sum(%s)", expr)
	}
	return fmt.Sprintf("sum by (%s) (%s)", by, expr)
}

// ratio is the share of counter's rate whose series also match cond, by
// the labels of by: 0 (not absent) for a group with traffic and no match,
// so "no errors" reads as 0% rather than as no data.
func ratio(counter, selector, cond, by string) string {
	all := rate(counter, selector, by)
	part := rate(counter, join(selector, cond), by)
	return fmt.Sprintf("(%s or %s * 0) / %s", part, all, all)
}

// quantile is the q-quantile of histogram (its _bucket series), by the
// labels of by.
func quantile(q float64, histogram, selector, by string) string {
	return fmt.Sprintf("histogram_quantile(%g, %s)", q,
		sum(join("le", by), fmt.Sprintf("rate(%s_bucket{%s}[$__rate_interval])", histogram, selector)))
}

// join joins non-empty label lists or matchers with ", ".
func join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}

// percentile names quantile q: p99, p50.
func percentile(q float64) string { return fmt.Sprintf("p%g", q*100) }
