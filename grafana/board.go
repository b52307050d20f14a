package main

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// A board is one dashboard: its variables and its rows of panels. Each
// dashboard is a function returning a board (overview.go, balancers.go, ...),
// each panel a small function returning a panel (panel.go).
type board struct {
	file        string // grafana/dashboards/<file>.json; also the dashboard's uid suffix
	title       string
	description string
	vars        []variable
	rows        []row
}

type row struct {
	title  string
	panels []panel
}

// A variable is a Prometheus label_values() template variable: every value
// of label on the series of selector (which may use earlier variables).
// All are multi-value with "All" (Grafana then sends the values as one
// regex alternation), so selectors use =~.
type variable struct {
	name, label, selector, labelName string
}

// uidPrefix namespaces our dashboards' uids in a Grafana shared with others.
const uidPrefix = "caddy-social-"

// boards lists every dashboard `make dashboards` writes.
func boards() []board {
	return []board{overview(), balancers(), services(), events(), feed(), alerts()}
}

// build turns b into Grafana's dashboard JSON model.
func (b board) build() (dashboard.Dashboard, error) {
	d := dashboard.NewDashboardBuilder(b.title).
		Uid(uidPrefix+b.file).
		Description(b.description).
		Tags([]string{"caddy-social"}).
		Time("now-1h", "now").
		Refresh("30s").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Readonly().
		// Every other dashboard of the platform, same time range and variables.
		Link(dashboard.NewDashboardLinkBuilder("Platform dashboards").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{"caddy-social"}).
			AsDropdown(true).
			KeepTime(true).
			IncludeVars(false))
	for _, v := range b.vars {
		d.WithVariable(v.build())
	}
	for _, r := range b.rows {
		d.WithRow(dashboard.NewRowBuilder(r.title))
		for _, p := range r.panels {
			d.WithPanel(p.build())
		}
	}
	dash, err := d.Build()
	if err != nil {
		return dash, fmt.Errorf("dashboard %s: %w", b.file, err)
	}
	// The SDK puts every link in the controls menu (placement
	// "inControlsMenu"); without a placement Grafana shows dashboard links
	// in the dashboard's header and panel links in the panel's.
	for i := range dash.Links {
		dash.Links[i].Placement = nil
	}
	// Stable panel ids (Grafana's links to a panel use them).
	for i := range dash.Panels {
		id := uint32(i + 1)
		if p := dash.Panels[i].Panel; p != nil {
			p.Id = &id
			for j := range p.Links {
				p.Links[j].Placement = nil
			}
		}
		if r := dash.Panels[i].RowPanel; r != nil {
			r.Id = id
		}
	}
	return dash, nil
}

// render is the file content of b: indented JSON and a final newline.
func (b board) render() ([]byte, error) {
	dash, err := b.build()
	if err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(dash, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", b.file, err)
	}
	return append(out, '\n'), nil
}

func (v variable) build() *dashboard.QueryVariableBuilder {
	query := fmt.Sprintf("label_values(%s, %s)", v.selector, v.labelName)
	return dashboard.NewQueryVariableBuilder(v.name).
		Label(v.label).
		Datasource(prometheusDS).
		Query(dashboard.StringOrMap{String: &query}).
		Definition(query).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true).
		Current(dashboard.VariableOption{
			Text:  dashboard.StringOrArrayOfString{String: ptr("All")},
			Value: dashboard.StringOrArrayOfString{String: ptr("$__all")},
		})
}

func ptr[T any](v T) *T { return &v }
