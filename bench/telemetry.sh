#!/usr/bin/env bash
# The telemetry budget (SPEC.md section 8) on the compose stack: an
# authenticated GET /api/profile/me through the gateway, user-lb,
# user-service and user-db, with telemetry ON (tracing at 100% sampling to
# Jaeger, logs shipped to VictoriaLogs) vs OFF (no tracing; logs to stdout,
# i.e. dockerd's json-file, as before). Modes alternate (off, on, off, on...)
# on one stack; a mode switch recreates the gateway and the services.
#
#   throughput: wrk, CONNS connections, SECS seconds, per mode and round;
#   p99 at half saturation: hey at half the OFF throughput (fixed rate);
#   CPU seconds of dockerd and of each telemetry-relevant container.
#
# Usage: flock /tmp/heavy.lock bench/telemetry.sh [rounds] [seconds]
# (needs Docker, the base-image stand-ins or registry access, wrk, hey, curl, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
secs=${2:-15}
conns=${CONNS:-32}
port=${E2E_HTTPS_PORT:-8443}
url="https://localhost:$port"
export COMPOSE_PROJECT_NAME=caddy-social-bench
compose=(docker compose -f docker-compose.yaml -f tests/e2e/compose.override.yaml)
# The benchmark's user must never be rate limited.
export USER_RATE_LIMIT=100000000/1s USER_RATE_BURST=100000000
trap '"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true' EXIT
for tool in wrk hey curl python3; do command -v $tool >/dev/null || { echo "install $tool" >&2; exit 1; }; done

mode() { # mode on|off: (re)creates what the switch changes, waits for health
	if [ "$1" = on ]; then
		unset OTEL_TRACES_EXPORTER OTEL_TRACES_SAMPLER VICTORIA_LOGS_URL
	else
		export OTEL_TRACES_EXPORTER=none OTEL_TRACES_SAMPLER=always_off VICTORIA_LOGS_URL=
	fi
	"${compose[@]}" up -d --wait --wait-timeout 300 "${@:2}" >/dev/null 2>&1
	for _ in $(seq 60); do
		[ "$(curl -sk -o /dev/null -w '%{http_code}' "$url/api/feed")" = 401 ] && return 0
		sleep 1
	done
	echo "gateway not answering" >&2
	exit 1
}

# cpu_ticks: "dockerd <ticks> <container> <ns>..." (dockerd in clock ticks,
# containers in ns from cgroup v1 cpuacct; absent values are 0).
cpu_snapshot() {
	local pid; pid=$(pidof dockerd | awk '{print $1}')
	printf 'dockerd %s\n' "$(awk '{print ($14+$15)*10000000}' "/proc/$pid/stat")"
	for c in gateway user-service-1 user-service-2 user-lb jaeger victoria-logs; do
		id=$("${compose[@]}" ps -q "$c" 2>/dev/null || true)
		f=/sys/fs/cgroup/cpuacct/docker/$id/cpuacct.usage
		printf '%s %s\n' "$c" "$([ -n "$id" ] && [ -r "$f" ] && cat "$f" || echo 0)"
	done
}

echo "== build and start (telemetry on)"
"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
"${compose[@]}" up -d --build --wait --wait-timeout 600 >/dev/null
mode on

email="bench-$(date +%s)@example.test"
curl -sk -o /dev/null -X POST "$url/api/auth/register" -d "{\"email\":\"$email\",\"password\":\"bench password\"}"
token=$(curl -sk -X POST "$url/api/auth/login" -d "{\"email\":\"$email\",\"password\":\"bench password\"}" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -sk -o /dev/null -X POST -H "Authorization: Bearer $token" "$url/api/profile/me" -d '{"username":"bench","bio":"b"}'
auth=(-H "Authorization: Bearer $token")
[ "$(curl -sk -o /dev/null -w '%{http_code}' "${auth[@]}" "$url/api/profile/me")" = 200 ] || { echo "profile/me not 200" >&2; exit 1; }

rps() { wrk -t2 -c"$conns" -d"${secs}s" "${auth[@]}" "$url/api/profile/me" | awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "non2xx", $0 > "/dev/stderr"}'; }
p99() { # p99 RATE: p99 in ms at RATE req/s (16 workers)
	# -host: hey's TLS ServerName is the Host header, which must not carry the port.
	hey -host localhost -z "${secs}s" -c 16 -q "$(awk -v r="$1" 'BEGIN {printf "%d", r / 16}')" "${auth[@]}" "$url/api/profile/me" |
		awk '/ 99%/ {printf "%.2f", $3 * 1000} /Status code distribution/ {s=1} s && /\[/ && $1 != "[200]" {print "non-200:", $0 > "/dev/stderr"}'
}

declare -A sat half cpu
half_rate=""
for r in $(seq "$rounds"); do
	for m in off on; do
		mode "$m"
		wrk -t2 -c"$conns" -d3s "${auth[@]}" "$url/api/profile/me" >/dev/null # warm-up
		before=$(cpu_snapshot)
		v=$(rps)
		after=$(cpu_snapshot)
		sat[$m]+="$v "
		cpu[$m]+="$(paste <(echo "$before") <(echo "$after") | awk -v s="$secs" '{printf "%s=%.0f%% ", $1, ($4 - $2) / 1e9 / s * 100}');"
		if [ -z "$half_rate" ] && [ "$m" = off ]; then half_rate=$(awk -v v="$v" 'BEGIN {printf "%d", v / 2}'); fi
		half[$m]+="$(p99 "$half_rate") "
		echo "round $r $m: ${v} req/s; p99 at ${half_rate} req/s: $(echo "${half[$m]}" | awk '{print $NF}') ms"
	done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
off_rps=$(echo "${sat[off]}" | median) on_rps=$(echo "${sat[on]}" | median)
off_p99=$(echo "${half[off]}" | median) on_p99=$(echo "${half[on]}" | median)
echo
echo "| mode | req/s (median of $rounds) | p99 at $half_rate req/s, ms (median) | CPU during the saturation runs (per round) |"
echo "|---|---|---|---|"
echo "| off | $off_rps | $off_p99 | ${cpu[off]} |"
echo "| on  | $on_rps | $on_p99 | ${cpu[on]} |"
echo "per-round throughput on/off: $(paste <(echo "${sat[on]}" | tr ' ' '\n') <(echo "${sat[off]}" | tr ' ' '\n') | awk 'NF == 2 {printf "%.3f ", $1 / $2}')"
echo "per-round p99 on/off: $(paste <(echo "${half[on]}" | tr ' ' '\n') <(echo "${half[off]}" | tr ' ' '\n') | awk 'NF == 2 {printf "%.3f ", $1 / $2}')"
awk -v a="$on_rps" -v b="$off_rps" -v c="$on_p99" -v d="$off_p99" 'BEGIN {printf "ratio of medians: throughput on/off = %.3f (goal >= 0.9); p99 on/off = %.3f (goal <= 1.1)\n", a / b, c / d}'
