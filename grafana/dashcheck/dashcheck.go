// Package dashcheck reads the dashboards' JSON files (grafana/dashboards)
// and the data sources' provisioning file as Grafana does, for the tests
// that check them: every query with its data source, every template
// variable, every link; and it fills template variables into a query the
// way Grafana's data sources do before sending it. The generator's tests
// check the files with it offline; tests/e2e runs every query on the live
// platform.
package dashcheck

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// A Dashboard is what the checks need of one dashboard JSON file.
type Dashboard struct {
	File      string
	UID       string
	Title     string
	Variables []Variable
	Panels    []Panel
}

// A Variable is a Prometheus label_values(Selector, Label) query variable.
type Variable struct {
	Name     string
	Selector string
	Label    string
}

// A Panel is a panel's title, data source uid, queries and links.
type Panel struct {
	ID         int
	Title      string
	Datasource string
	Queries    []Query
	Links      []string // URLs
}

// A Query is one target of a panel.
type Query struct {
	Datasource string // the target's data source uid (the panel's if unset)
	Expr       string
	Exemplar   bool
}

// The JSON model, only what is read.
type (
	dashboardJSON struct {
		UID        string      `json:"uid"`
		Title      string      `json:"title"`
		Panels     []panelJSON `json:"panels"`
		Templating struct {
			List []struct {
				Type       string          `json:"type"`
				Name       string          `json:"name"`
				Query      json.RawMessage `json:"query"`
				Datasource *dsJSON         `json:"datasource"`
			} `json:"list"`
		} `json:"templating"`
	}
	panelJSON struct {
		ID         int         `json:"id"`
		Type       string      `json:"type"`
		Title      string      `json:"title"`
		Datasource *dsJSON     `json:"datasource"`
		Panels     []panelJSON `json:"panels"` // a collapsed row's
		Targets    []struct {
			Datasource *dsJSON `json:"datasource"`
			Expr       string  `json:"expr"`
			Exemplar   bool    `json:"exemplar"`
		} `json:"targets"`
		Links []struct {
			URL string `json:"url"`
		} `json:"links"`
	}
	dsJSON struct {
		UID string `json:"uid"`
	}
)

// Load reads every *.json file of dir.
func Load(dir string) ([]Dashboard, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no dashboard in %s", dir)
	}
	var out []Dashboard
	for _, f := range files {
		d, err := LoadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// LoadFile reads one dashboard JSON file.
func LoadFile(path string) (Dashboard, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Dashboard{}, err
	}
	var dj dashboardJSON
	if err := json.Unmarshal(raw, &dj); err != nil {
		return Dashboard{}, fmt.Errorf("%s: %w", path, err)
	}
	d := Dashboard{File: filepath.Base(path), UID: dj.UID, Title: dj.Title}
	for _, v := range dj.Templating.List {
		if v.Type != "query" {
			return d, fmt.Errorf("%s: variable %s: type %q, want query", path, v.Name, v.Type)
		}
		var q string
		if err := json.Unmarshal(v.Query, &q); err != nil {
			return d, fmt.Errorf("%s: variable %s: query is not a string: %w", path, v.Name, err)
		}
		sel, label, err := ParseLabelValues(q)
		if err != nil {
			return d, fmt.Errorf("%s: variable %s: %w", path, v.Name, err)
		}
		d.Variables = append(d.Variables, Variable{Name: v.Name, Selector: sel, Label: label})
	}
	var walk func([]panelJSON)
	walk = func(ps []panelJSON) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			panel := Panel{ID: p.ID, Title: p.Title, Datasource: uid(p.Datasource)}
			for _, t := range p.Targets {
				ds := uid(t.Datasource)
				if ds == "" {
					ds = panel.Datasource
				}
				panel.Queries = append(panel.Queries, Query{Datasource: ds, Expr: t.Expr, Exemplar: t.Exemplar})
			}
			for _, l := range p.Links {
				panel.Links = append(panel.Links, l.URL)
			}
			d.Panels = append(d.Panels, panel)
		}
	}
	walk(dj.Panels)
	return d, nil
}

func uid(d *dsJSON) string {
	if d == nil {
		return ""
	}
	return d.UID
}

var labelValues = regexp.MustCompile(`^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$`)

// ParseLabelValues splits a label_values(selector, label) variable query.
func ParseLabelValues(q string) (selector, label string, err error) {
	m := labelValues.FindStringSubmatch(strings.TrimSpace(q))
	if m == nil {
		return "", "", fmt.Errorf("query %q: want label_values(selector, label)", q)
	}
	return strings.TrimSpace(m[1]), m[2], nil
}

// varRef is a Grafana variable reference: $name, ${name} or ${name:format}.
var varRef = regexp.MustCompile(`\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_.]*)(?::([a-z]+))?\})`)

// Refs lists the variable names s refers to (built-ins like __from too).
func Refs(s string) []string {
	var out []string
	for _, m := range varRef.FindAllStringSubmatch(s, -1) {
		name := m[1] + m[2]
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// Fill replaces the variables of s: values holds each multi-value
// variable's selected values (all of them for "All"), builtins the
// built-ins' text ($__rate_interval, ${__from}, ...). A reference without a
// format gets the Prometheus data source's formatting of a multi-value
// variable: the values regex-escaped, joined as (a|b). The formats
// singlequote ('a','b'), doublequote, regex, pipe and csv are Grafana's.
// An unknown variable or format is an error.
func Fill(s string, values map[string][]string, builtins map[string]string) (string, error) {
	var bad []string
	out := varRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		name, format := m[1]+m[2], m[3]
		if b, ok := builtins[name]; ok && format == "" {
			return b
		}
		vals, ok := values[name]
		if !ok {
			bad = append(bad, ref+" (unknown variable)")
			return ref
		}
		text, err := formatValues(vals, format)
		if err != nil {
			bad = append(bad, ref+" ("+err.Error()+")")
			return ref
		}
		return text
	})
	if len(bad) > 0 {
		return out, fmt.Errorf("cannot fill %s", strings.Join(bad, ", "))
	}
	return out, nil
}

func formatValues(vals []string, format string) (string, error) {
	each := func(f func(string) string) []string {
		out := make([]string, len(vals))
		for i, v := range vals {
			out[i] = f(v)
		}
		return out
	}
	switch format {
	case "":
		esc := each(promRegexEscape)
		if len(esc) == 1 {
			return esc[0], nil
		}
		return "(" + strings.Join(esc, "|") + ")", nil
	case "regex":
		esc := each(regexp.QuoteMeta)
		if len(esc) == 1 {
			return esc[0], nil
		}
		return "(" + strings.Join(esc, "|") + ")", nil
	case "singlequote":
		return strings.Join(each(func(v string) string { return "'" + strings.ReplaceAll(v, "'", `\'`) + "'" }), ","), nil
	case "doublequote":
		return strings.Join(each(func(v string) string { return `"` + strings.ReplaceAll(v, `"`, `\"`) + `"` }), ","), nil
	case "pipe":
		return strings.Join(vals, "|"), nil
	case "csv":
		return strings.Join(vals, ","), nil
	}
	return "", fmt.Errorf("format %q not supported", format)
}

// promRegexEscape is Grafana's prometheusSpecialRegexEscape: a regex
// escape inside a PromQL double-quoted string, so each backslash doubled.
func promRegexEscape(v string) string {
	v = strings.ReplaceAll(v, `\`, `\\\\`)
	return promSpecial.ReplaceAllString(v, `\\$0`)
}

var promSpecial = regexp.MustCompile(`[$^*{}\[\]'+?.()|]`)

// An ExploreQuery is the query a Grafana Explore link runs.
type ExploreQuery struct {
	Datasource string // uid
	Expr       string
	From, To   string
}

// ParseExploreLink decodes an /explore?panes=... link once Grafana has
// filled it in (Fill with ${__from} and ${__to}): its first pane's first
// query. Not an Explore link: an error.
func ParseExploreLink(link string) (ExploreQuery, error) {
	u, err := url.Parse(link)
	if err != nil {
		return ExploreQuery{}, err
	}
	if u.Path != "/explore" {
		return ExploreQuery{}, fmt.Errorf("link %s: not an Explore link", link)
	}
	var panes map[string]struct {
		Datasource string `json:"datasource"`
		Queries    []struct {
			Datasource *dsJSON `json:"datasource"`
			Expr       string  `json:"expr"`
		} `json:"queries"`
		Range struct {
			From string `json:"from"`
			To   string `json:"to"`
		} `json:"range"`
	}
	if err := json.Unmarshal([]byte(u.Query().Get("panes")), &panes); err != nil {
		return ExploreQuery{}, fmt.Errorf("link %s: panes: %w", link, err)
	}
	for _, p := range panes {
		if len(p.Queries) == 0 {
			break
		}
		q := p.Queries[0]
		ds := uid(q.Datasource)
		if ds == "" {
			ds = p.Datasource
		}
		return ExploreQuery{Datasource: ds, Expr: q.Expr, From: p.Range.From, To: p.Range.To}, nil
	}
	return ExploreQuery{}, fmt.Errorf("link %s: no query", link)
}

// LogsQLFields lists the field names a LogsQL query filters on (field:...),
// outside quoted phrases.
func LogsQLFields(q string) []string {
	q = quoted.ReplaceAllString(q, `""`)
	var out []string
	for _, m := range fieldFilter.FindAllStringSubmatch(q, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

var (
	quoted      = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	fieldFilter = regexp.MustCompile(`(?:^|[\s(])([A-Za-z_][A-Za-z0-9_.]*):`)
)
