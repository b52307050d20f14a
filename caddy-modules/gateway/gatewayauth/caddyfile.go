package gatewayauth

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/caddysocial/platform/caddy-modules/internal/deprecated"
	"github.com/caddysocial/platform/caddy-modules/internal/directive"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("caddysocial_auth", parseGlobalAuth)
	// The old names stay for one release, as deprecated aliases.
	deprecated.GlobalOption("auth", "caddysocial_auth", parseGlobalAuth)
	directive.Register[Register]("caddysocial_auth_register", "auth_register", httpcaddyfile.Before, "respond")
	directive.Register[Login]("caddysocial_auth_login", "auth_login", httpcaddyfile.Before, "respond")
	directive.Register[DeleteAccount]("caddysocial_account_delete", "account_delete", httpcaddyfile.Before, "respond")
}

// parseGlobalAuth sets up the auth app from the global options block:
//
//	caddysocial_auth {
//	    database           <postgres-url>
//	    max_conns          <n>
//	    query_timeout      <duration>
//	    jwt_keys_file      <path>     # "<id> <secret>" lines; "" to use a single secret:
//	    jwt_secret_file    <path>     # "" to use jwt_secret_env
//	    jwt_secret_env     <VAR>      # default JWT_SECRET
//	    token_ttl          <duration>
//	    tokens_per_window  <n>        # default 10
//	    token_window       <duration> # default 1h
//	    max_failed_logins  <n>        # default 5
//	    failure_window     <duration> # default 15m
//	    hash_concurrency   <n>
//	    nats_url           <url>      # "" = events stay in the outbox
//	    revocation_interval <duration> # default 250ms
//	}
func parseGlobalAuth(d *caddyfile.Dispenser, _ any) (any, error) {
	app := new(App)
	if err := app.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "caddysocial_auth", Value: caddyconfig.JSON(app, nil)}, nil
}

// UnmarshalCaddyfile sets up the app from Caddyfile tokens.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the option name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		opt := d.Val()
		var val string
		if !d.AllArgs(&val) {
			return d.ArgErr()
		}
		var err error
		switch opt {
		case "database":
			a.Database = val
		case "jwt_keys_file":
			a.JWTKeysFile = val
		case "jwt_secret_file":
			a.JWTSecretFile = val
		case "jwt_secret_env":
			a.JWTSecretEnv = val
		case "max_conns":
			var n int
			n, err = strconv.Atoi(val)
			a.MaxConns = int32(n)
		case "query_timeout":
			a.QueryTimeout, err = parseDuration(val)
		case "token_ttl":
			a.TokenTTL, err = parseDuration(val)
		case "tokens_per_window":
			a.TokensPerWindow, err = strconv.Atoi(val)
		case "token_window":
			a.TokenWindow, err = parseDuration(val)
		case "max_failed_logins":
			a.MaxFailedLogins, err = strconv.Atoi(val)
		case "failure_window":
			a.FailureWindow, err = parseDuration(val)
		case "hash_concurrency":
			a.HashConcurrency, err = strconv.Atoi(val)
		case "nats_url":
			a.NATSURL = val
		case "revocation_interval":
			a.RevocationInterval, err = parseDuration(val)
		default:
			return d.Errf("auth: unknown option %q", opt)
		}
		if err != nil {
			return d.Errf("auth: %s: %v", opt, err)
		}
	}
	return nil
}

func parseDuration(s string) (caddy.Duration, error) {
	d, err := caddy.ParseDuration(s)
	return caddy.Duration(d), err
}

// UnmarshalCaddyfile sets up an endpoint handler from
//
//	caddysocial_auth_register|caddysocial_auth_login|caddysocial_account_delete [{
//	    max_body_bytes <n>
//	}]
func (e *endpoint) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "max_body_bytes":
			var val string
			if !d.AllArgs(&val) {
				return d.ArgErr()
			}
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n <= 0 {
				return d.Errf("max_body_bytes: want a positive number of bytes, got %q", val)
			}
			e.MaxBodyBytes = n
		default:
			return d.Errf("unknown option %q", d.Val())
		}
	}
	return nil
}

// Interface guards.
var (
	_ caddyfile.Unmarshaler = (*App)(nil)
	_ caddyfile.Unmarshaler = (*Register)(nil)
	_ caddyfile.Unmarshaler = (*Login)(nil)
	_ caddyfile.Unmarshaler = (*DeleteAccount)(nil)
)
