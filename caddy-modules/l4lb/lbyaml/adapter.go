// Package lbyaml is the "lbyaml" Caddy config adapter: it turns a balancer's
// config.yaml (SPEC.md section 4; see FileConfig) into Caddy JSON, so
//
//	caddy run --config lb-configs/user-lb.yaml --adapter lbyaml
//
// starts a balancer, `caddy adapt` shows the JSON, and `caddy reload` applies
// an edited file without dropping connections. The JSON has caddy-l4's
// layer4 app with one server listening on the port, whose one route (no
// matchers) hands every connection to our layer4.handlers.caddysocial_balancer, and an
// http app serving /metrics on metrics_port.
//
// Logs: JSON to stderr; when the environment has VICTORIA_LOGS_URL (as
// compose sets it), also shipped to VictoriaLogs by our
// caddy.logging.writers.caddysocial_victorialogs writer with service = the balancer's
// name. Read at adapt time, like a Caddyfile's {$VAR}.
package lbyaml

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/mholt/caddy-l4/layer4"

	"github.com/caddysocial/platform/caddy-modules/l4lb"
	_ "github.com/caddysocial/platform/caddy-modules/l4lb/l4balancer" // the handler the config names
	_ "github.com/caddysocial/platform/caddy-modules/victorialogs"    // the log writer it may name
)

func init() {
	caddyconfig.RegisterAdapter("lbyaml", Adapter{})
}

// Adapter adapts config.yaml to Caddy JSON.
type Adapter struct{}

// Adapt validates body and returns the Caddy JSON config.
func (Adapter) Adapt(body []byte, options map[string]any) ([]byte, []caddyconfig.Warning, error) {
	s, err := ParseFile(body)
	if err != nil {
		if name, ok := options["filename"].(string); ok && name != "" {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		return nil, nil, err
	}
	cfg, err := json.Marshal(Config(s))
	return cfg, nil, err
}

// handlerConfig is the route's handler: the module name and the Spec's keys.
type handlerConfig struct {
	Handler string `json:"handler"`
	l4lb.Spec
}

// Config is the Caddy config for validated settings.
func Config(s FileSettings) *caddy.Config {
	l4 := layer4.App{Servers: map[string]*layer4.Server{
		s.Spec.Name: {
			Listen: []string{":" + strconv.Itoa(s.Port)},
			Routes: layer4.RouteList{{
				HandlersRaw: []json.RawMessage{caddyconfig.JSON(handlerConfig{Handler: "caddysocial_balancer", Spec: s.Spec}, nil)},
			}},
		},
	}}
	apps := caddy.ModuleMap{"layer4": caddyconfig.JSON(l4, nil)}
	if s.MetricsPort > 0 {
		apps["http"] = json.RawMessage(`{"servers":{"metrics":{` +
			`"listen":[":` + strconv.Itoa(s.MetricsPort) + `"],` +
			`"automatic_https":{"disable":true},` +
			`"routes":[{"match":[{"path":["/metrics"]}],"handle":[{"handler":"metrics"}]},` +
			`{"handle":[{"handler":"static_response","status_code":404}]}]}}}`)
	}
	// config.yaml is the source of truth: no autosave.json.
	persist := false
	admin := &caddy.AdminConfig{Listen: s.Admin, Config: &caddy.ConfigSettings{Persist: &persist}}
	if s.Admin == "off" {
		admin = &caddy.AdminConfig{Disabled: true, Config: &caddy.ConfigSettings{Persist: &persist}}
	}
	return &caddy.Config{
		Admin:   admin,
		Logging: &caddy.Logging{Logs: map[string]*caddy.CustomLog{"default": defaultLog(s.Spec.Name, os.Getenv("VICTORIA_LOGS_URL"))}},
		AppsRaw: apps,
	}
}

// defaultLog is the balancer's log: JSON on stderr, and shipped to
// VictoriaLogs at vlogsURL if set (a balancer logs little: health changes,
// reloads, errors).
func defaultLog(name, vlogsURL string) *caddy.CustomLog {
	if vlogsURL == "" {
		return &caddy.CustomLog{BaseLog: caddy.BaseLog{EncoderRaw: json.RawMessage(`{"format":"json"}`)}}
	}
	writer, _ := json.Marshal(map[string]any{
		"output": "caddysocial_victorialogs", "url": vlogsURL, "service": name, "tee_stderr": true,
	})
	return &caddy.CustomLog{BaseLog: caddy.BaseLog{
		WriterRaw:  writer,
		EncoderRaw: json.RawMessage(`{"format":"json","time_format":"rfc3339_nano"}`),
	}}
}

var _ caddyconfig.Adapter = Adapter{}
