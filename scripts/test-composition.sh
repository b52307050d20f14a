#!/usr/bin/env bash
# Runs a Caddy built with our plugin AND a third-party HTTP handler plugin
# (caddy-modules/testdata/composition/ratelimitstandin, a stand-in for
# github.com/mholt/caddy-ratelimit, which the module proxy does not serve:
# same module ID http.handlers.rate_limit, same directive rate_limit) on a
# Caddyfile that uses both, and checks that both handlers serve requests.
# `make test-composition` builds the binary and calls this with its path.
set -euo pipefail

caddy=${1:?usage: test-composition.sh path/to/caddy}
dir=$(cd "$(dirname "$0")/.." && pwd)
caddyfile=$dir/caddy-modules/testdata/composition/Caddyfile
work=$(mktemp -d /tmp/composition.XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	echo "test-composition: FAIL: $*" >&2
	echo "--- caddy's log:" >&2
	cat "$work/caddy.log" >&2 || true
	exit 1
}

modules=$("$caddy" list-modules)
for m in http.handlers.rate_limit http.handlers.caddysocial_rate_limit http.handlers.caddysocial_jwt_auth \
	http.handlers.caddysocial_allow_methods layer4.handlers.caddysocial_balancer caddysocial_auth; do
	grep -qx "$m" <<<"$modules" || fail "module $m is not in list-modules"
done

# A port below Linux's ephemeral range that nothing listens on now; if
# another process takes it first, Caddy fails to start and we try another.
start() {
	for _ in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 12000))
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
		COMPOSITION_PORT=$port JWT_SECRET=composition-test-secret-of-at-least-32-bytes \
			"$caddy" run --adapter caddyfile --config "$caddyfile" >"$work/caddy.log" 2>&1 &
		pid=$!
		# Caddy binds its listener before `run` reports the config loaded;
		# wait for it (or for the process to end), at most 30 s.
		for _ in $(seq 300); do
			if ! kill -0 "$pid" 2>/dev/null; then break; fi
			if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
			sleep 0.1
		done
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		pid=
		grep -q "address already in use" "$work/caddy.log" || fail "caddy did not start"
	done
	fail "no free port"
}
start
base=http://127.0.0.1:$port

# check METHOD PATH WANT_STATUS [HEADER: VALUE to find in the response] [extra curl args...]
check() {
	local method=$1 path=$2 want=$3 header=${4:-}
	shift 4 || shift $#
	local got
	got=$(curl -sS --max-time 5 -X "$method" -D "$work/headers" -o "$work/body" -w '%{http_code}' "$@" "$base$path") ||
		fail "$method $path: curl failed"
	[ "$got" = "$want" ] || fail "$method $path: status $got, want $want; body: $(cat "$work/body")"
	if [ -n "$header" ]; then
		grep -qi "^$header" <(tr -d '\r' <"$work/headers") || fail "$method $path: no '$header' in: $(cat "$work/headers")"
	fi
}

# Theirs: two requests pass, the third is refused.
check GET /theirs 200 "X-Standin-Rate-Limit: ok"
check GET /theirs 200 "X-Standin-Rate-Limit: ok"
check GET /theirs 429 "X-Standin-Rate-Limit: exceeded"
# Ours: 405 with Allow from caddysocial_allow_methods, 401 from
# caddysocial_jwt_auth, and caddysocial_rate_limit's headers and 429.
check POST /ours 405 "Allow: GET"
check GET /ours 401 'WWW-Authenticate: Bearer realm="api"'
check GET /ours-limited 200 "RateLimit-Policy:" -H "X-Client: a"
check GET /ours-limited 429 "Retry-After:" -H "X-Client: a"
# Both on one route: each handler leaves its mark.
check GET /both 200 "X-Standin-Rate-Limit: ok" -H "X-Client: b"
grep -qi "^RateLimit-Policy:" <(tr -d '\r' <"$work/headers") || fail "GET /both: no RateLimit-Policy from ours"
echo "test-composition: ok (our plugin and a third-party rate_limit plugin in one Caddy)"
