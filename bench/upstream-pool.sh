#!/usr/bin/env bash
# The gateway's keep-alive pool to a balancer: Caddy's default of 32 idle
# connections per host against the Caddyfile's 256, when more requests are in
# flight than that (wrk -c128). Path: wrk -> Caddy reverse_proxy -> our
# layer-4 balancer (lbyaml) -> a Caddy `respond`, all on loopback. Reports
# requests/s and the connections the balancer accepted per 1,000 requests.
# Usage: bench/upstream-pool.sh [rounds] [seconds]   (needs bin/caddy, wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-8}
conns=${CONNS:-128}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
# shellcheck source=bench/lib.sh
source bench/lib.sh
http_backend bin/caddy 18390
cat >"$work/lb.yaml" <<YAML
port: 18391
algorithm: leastconn
backends: [127.0.0.1:18390]
rate: 100
metrics_port: 18392
admin: "off"
YAML
bin/caddy run --config "$work/lb.yaml" --adapter lbyaml >"$work/lb.log" 2>&1 & pids+=($!)
cat >"$work/gw.Caddyfile" <<CF
{
	admin off
	persist_config off
	log {
		output discard
	}
}
http://127.0.0.1:18393 {
	reverse_proxy 127.0.0.1:18391
}
http://127.0.0.1:18394 {
	reverse_proxy 127.0.0.1:18391 {
		transport http {
			keepalive 2m
			keepalive_idle_conns_per_host 256
		}
	}
}
CF
bin/caddy run --config "$work/gw.Caddyfile" >"$work/gw.log" 2>&1 & pids+=($!)
wait_listening 18390 18391 18392 18393 18394
accepted() { curl -s http://127.0.0.1:18392/metrics | awk '/^l4lb_connections_total/ {s+=$2} END {print s+0}'; }
run() { # run PORT: "req/s connections-per-1000-requests"
	local a n r
	a=$(accepted)
	read -r n r < <(wrk -t2 -c"$conns" -d"${secs}s" "http://127.0.0.1:$1/" | awk '/requests in/ {n=$1} /Requests\/sec/ {r=$2} END {print n, r}')
	echo "$r $(awk -v c="$(($(accepted) - a))" -v n="$n" 'BEGIN {printf "%.1f", c * 1000 / n}')"
}
run 18393 >/dev/null; run 18394 >/dev/null # warm-up
for r in $(seq "$rounds"); do
	if ((r % 2)); then read -r d dc < <(run 18393); read -r b bc < <(run 18394)
	else read -r b bc < <(run 18394); read -r d dc < <(run 18393); fi
	echo "round $r: idle pool 32 (default): $d req/s, $dc balancer connections per 1000 requests; idle pool 256: $b req/s, $bc per 1000; ratio $(awk -v a="$b" -v b="$d" 'BEGIN {printf "%.2f", a / b}')"
done
