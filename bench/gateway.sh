#!/usr/bin/env bash
# Requests per second of an authenticated GET through our gateway (metrics,
# caddysocial_allow_methods, caddysocial_jwt_auth, rewrite, reverse_proxy) vs the same Caddy with a
# plain reverse_proxy to the same upstream, and ours with the route's rate
# limit on (never reached) vs off, measured alternately in one run.
# Usage: bench/gateway.sh [rounds] [seconds]   (needs bin/caddy, wrk, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
secs=${2:-10}
conns=${CONNS:-32}
caddy=bin/caddy
[ -x "$caddy" ] || { echo "build bin/caddy first: make caddy" >&2; exit 1; }
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }

export UPSTREAM_PORT=${UPSTREAM_PORT:-18090} OURS_PORT=${OURS_PORT:-18080} PLAIN_PORT=${PLAIN_PORT:-18081} LIMITED_PORT=${LIMITED_PORT:-18082}
BENCH_JWT_SECRET=$(head -c 32 /dev/urandom | base64)
export BENCH_JWT_SECRET
token=$(python3 - <<'PY'
import base64, hashlib, hmac, json, os, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")
# kid: the id the gateway gives a bare secret (tokens.KeyID).
kid = hashlib.sha256(os.environ["BENCH_JWT_SECRET"].encode()).hexdigest()[:16]
head = b64(json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": "3b1be25a-d7eb-4e49-9a87-adf1364f4dca", "exp": int(time.time()) + 3600}).encode())
sig = b64(hmac.new(os.environ["BENCH_JWT_SECRET"].encode(), head + b"." + body, hashlib.sha256).digest())
print((head + b"." + body + b"." + sig).decode())
PY
)

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
"$caddy" run --config bench/upstream.Caddyfile --adapter caddyfile >/tmp/bench-upstream.log 2>&1 & pids+=($!)
"$caddy" run --config bench/gateway.Caddyfile --adapter caddyfile >/tmp/bench-gateway.log 2>&1 & pids+=($!)
for port in $UPSTREAM_PORT $OURS_PORT $PLAIN_PORT $LIMITED_PORT; do
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done

# Sanity: ours must authenticate (401 without the token) and both must answer 200.
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "http://127.0.0.1:$OURS_PORT/api/profile/me")" = 401 ] || { echo "ours does not require a token" >&2; exit 1; }
[ "$(code -H "Authorization: Bearer $token" "http://127.0.0.1:$OURS_PORT/api/profile/me")" = 200 ] || { echo "ours: token refused" >&2; exit 1; }
[ "$(code "http://127.0.0.1:$PLAIN_PORT/profile/me")" = 200 ] || { echo "plain: no answer" >&2; exit 1; }
curl -s -o /dev/null -D - -H "Authorization: Bearer $token" "http://127.0.0.1:$LIMITED_PORT/api/profile/me" | grep -qi '^ratelimit: "user";r=' ||
	{ echo "limited: no RateLimit header" >&2; exit 1; }

# The gateway process's CPU time in clock ticks (utime + stime).
gateway_pid=${pids[1]}
ticks() { awk '{print $14 + $15}' "/proc/$gateway_pid/stat"; }
hz=$(getconf CLK_TCK)
# rps URL...: prints "<requests/s> <gateway CPU µs per request>". The CPU
# figure is the one to trust on a busy machine: the throughput of three
# processes on two cores moves with everything else running.
rps() {
	local t0 out
	t0=$(ticks)
	out=$(wrk -t2 -c"$conns" -d"${secs}s" "$@")
	awk -v t0="$t0" -v t1="$(ticks)" -v hz="$hz" '
		/requests in/ {n = $1} /Requests\/sec/ {r = $2}
		END {printf "%s %.1f\n", r, (t1 - t0) / hz * 1e6 / n}' <<<"$out"
}
# Warm-up, then alternate so that drift hits both equally.
rps -d2s "http://127.0.0.1:$PLAIN_PORT/profile/me" >/dev/null
rps -d2s -H "Authorization: Bearer $token" "http://127.0.0.1:$OURS_PORT/api/profile/me" >/dev/null
rps -d2s -H "Authorization: Bearer $token" "http://127.0.0.1:$LIMITED_PORT/api/profile/me" >/dev/null
ours=() plain=() limited=() ours_cpu=() plain_cpu=() limited_cpu=()
run_plain() { read -r rate cpu < <(rps "http://127.0.0.1:$PLAIN_PORT/profile/me"); plain+=("$rate"); plain_cpu+=("$cpu"); }
run_ours() { read -r rate cpu < <(rps -H "Authorization: Bearer $token" "http://127.0.0.1:$OURS_PORT/api/profile/me"); ours+=("$rate"); ours_cpu+=("$cpu"); }
run_limited() { read -r rate cpu < <(rps -H "Authorization: Bearer $token" "http://127.0.0.1:$LIMITED_PORT/api/profile/me"); limited+=("$rate"); limited_cpu+=("$cpu"); }
for r in $(seq "$rounds"); do
	run_plain
	# Alternate which of the two gateway sites goes first.
	if ((r % 2)); then run_ours; run_limited; else run_limited; run_ours; fi
	echo "round $r: plain ${plain[-1]} req/s ${plain_cpu[-1]} µs CPU/req, ours ${ours[-1]} req/s ${ours_cpu[-1]} µs, ours+caddysocial_rate_limit ${limited[-1]} req/s ${limited_cpu[-1]} µs"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mo=$(median "${ours[@]}") mp=$(median "${plain[@]}")
# Each round's pair ran back to back, so its ratio cancels the machine's drift.
ratios=()
for i in "${!ours[@]}"; do ratios+=("$(awk -v a="${ours[$i]}" -v b="${plain[$i]}" 'BEGIN {printf "%.3f", a/b}')"); done
echo "per-round ratios ours/plain: ${ratios[*]}"
echo "median over $rounds rounds of ${secs}s, $conns connections: ours $mo req/s, plain reverse_proxy $mp req/s"
echo "ratio ours/plain: median of per-round ratios $(median "${ratios[@]}"), ratio of medians $(awk -v a="$mo" -v b="$mp" 'BEGIN {printf "%.3f", a/b}')"
lratios=()
for i in "${!ours[@]}"; do lratios+=("$(awk -v a="${limited[$i]}" -v b="${ours[$i]}" 'BEGIN {printf "%.3f", a/b}')"); done
echo "per-round ratios (ours+caddysocial_rate_limit)/ours: ${lratios[*]}"
echo "rate limit on/off: median of per-round ratios $(median "${lratios[@]}"), median on $(median "${limited[@]}") req/s"
cratios=() lcratios=()
for i in "${!ours[@]}"; do
	cratios+=("$(awk -v a="${ours_cpu[$i]}" -v b="${plain_cpu[$i]}" 'BEGIN {printf "%.3f", a/b}')")
	lcratios+=("$(awk -v a="${limited_cpu[$i]}" -v b="${ours_cpu[$i]}" 'BEGIN {printf "%.3f", a/b}')")
done
echo "gateway CPU per request (median): plain $(median "${plain_cpu[@]}") µs, ours $(median "${ours_cpu[@]}") µs, ours+caddysocial_rate_limit $(median "${limited_cpu[@]}") µs"
echo "CPU per request ours/plain: median of per-round ratios $(median "${cratios[@]}"); (ours+caddysocial_rate_limit)/ours: $(median "${lcratios[@]}")"
