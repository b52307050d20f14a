module github.com/caddysocial/platform/tests/e2e

go 1.26

require (
	github.com/caddysocial/platform/grafana v0.0.0-00010101000000-000000000000
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.23.0
)

require (
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

// The dashboards' reader (grafana/dashcheck), from this repository.
replace github.com/caddysocial/platform/grafana => ../../grafana
