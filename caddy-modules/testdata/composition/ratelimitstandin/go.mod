// A stand-in for github.com/mholt/caddy-ratelimit, which the module proxy
// does not serve: it registers the same module ID and Caddyfile directive,
// so building it with our plugin proves that the names do not clash.
module example.com/caddy-ratelimit-standin

go 1.26

require github.com/caddyserver/caddy/v2 v2.11.9
