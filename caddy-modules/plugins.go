// Package caddymodules is the platform's Caddy plugin module. Importing it
// (xcaddy build --with github.com/caddysocial/platform/caddy-modules@...=./caddy-modules)
// registers every module of the platform:
//
//   - caddysocial_auth (app), http.handlers.caddysocial_auth_register,
//     http.handlers.caddysocial_auth_login, http.handlers.caddysocial_account_delete:
//     registration, login and account deletion backed by auth-db (package gateway/gatewayauth);
//   - http.handlers.caddysocial_jwt_auth: access-token verification (gateway/jwtauth);
//   - http.handlers.caddysocial_gateway_metrics: per-route request metrics (gateway/gatewaymetrics);
//   - http.handlers.caddysocial_allow_methods: 405 with Allow (gateway/allowmethods);
//   - http.handlers.caddysocial_rate_limit: per-client rate limits (gateway/ratelimiter);
//   - layer4.handlers.caddysocial_balancer (on caddy-l4) and the lbyaml config adapter: the
//     layer-4 TCP load balancer and its config.yaml (l4lb/l4balancer, l4lb/lbyaml);
//   - caddy.logging.writers.caddysocial_victorialogs: Caddy's logs shipped to VictoriaLogs
//     (victorialogs).
//
// Every ID and Caddyfile name carries the caddysocial_ prefix so that the plugin builds
// next to any other (CHANGELOG.md lists the renames).
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
