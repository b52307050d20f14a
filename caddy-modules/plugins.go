// Package caddymodules is the platform's Caddy plugin module. Importing it
// (xcaddy build --with github.com/caddysocial/platform/caddy-modules@...=./caddy-modules)
// registers every module of the platform:
//
//   - auth (app), http.handlers.auth_register, http.handlers.auth_login:
//     registration and login backed by auth-db (package gateway/gatewayauth);
//   - http.handlers.jwt_auth: access-token verification (gateway/jwtauth);
//   - http.handlers.gateway_metrics: per-route request metrics (gateway/gatewaymetrics);
//   - http.handlers.allow_methods: 405 with Allow (gateway/allowmethods);
//   - http.handlers.rate_limit: per-client rate limits (gateway/ratelimiter);
//   - layer4.handlers.balancer (on caddy-l4) and the lbyaml config adapter: the layer-4 TCP load
//     balancer and its config.yaml (l4lb/l4balancer, l4lb/lbyaml);
//   - caddy.logging.writers.victorialogs: Caddy's logs shipped to VictoriaLogs (victorialogs).
package caddymodules

import (
	_ "github.com/caddysocial/platform/caddy-modules/gateway/allowmethods"
	_ "github.com/caddysocial/platform/caddy-modules/gateway/gatewayauth"
	_ "github.com/caddysocial/platform/caddy-modules/gateway/gatewaymetrics"
	_ "github.com/caddysocial/platform/caddy-modules/gateway/jwtauth"
	_ "github.com/caddysocial/platform/caddy-modules/gateway/ratelimiter"
	_ "github.com/caddysocial/platform/caddy-modules/l4lb/l4balancer"
	_ "github.com/caddysocial/platform/caddy-modules/l4lb/lbyaml"
	_ "github.com/caddysocial/platform/caddy-modules/victorialogs"
)
