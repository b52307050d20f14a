#!/usr/bin/env bash
# The platform's request path on the compose stack, measured side by side in
# one run: GET /profile/me with a valid token
#   gateway: https://localhost (TLS, JWT, routing, rate limit) -> user-lb -> user-service
#   user-lb: user-lb -> user-service (X-User-ID set by the client)
#   direct:  one user-service
# all three published on 127.0.0.1 by bench/platform.override.yaml, so the
# client reaches each the same way (loopback, docker-proxy).
#  1. saturation: wrk -t2 -c32 per path, rotating order, `rounds` rounds; CPU
#     per request of each container (cgroup cpuacct), dockerd and the
#     docker-proxy processes, over the same window;
#  2. latency at a fixed rate, half the gateway path's median saturation:
#     hey with -q, p50 and p99 per path, rotating order;
#  3. without docker-proxy: the same three paths with hey from a container in
#     the gateway's network namespace (on the platform network: the gateway
#     on its loopback, user-lb and user-service over the bridge), against hey
#     from the host in the same round;
#  4. a realistic mix: the Locust mix (locustfile.py) at a fixed number of
#     users (each waits 0.5-2 s between tasks: a roughly fixed rate), its
#     percentiles and CPU per request of every container.
# It brings the stack up (project caddy-social-bench) or uses a running one
# (BENCH_REUSE=1 keeps it up afterwards). Run under the shared lock:
#   flock /tmp/heavy.lock bench/platform.sh [rounds] [seconds]
# Prints a Markdown report; BENCH_DOC=docs/BENCHMARKS.md appends it there.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-6}
mix_users=${MIX_USERS:-60}
mix_secs=${MIX_SECS:-40}
for tool in wrk hey locust docker python3; do
	command -v "$tool" >/dev/null || { echo "bench/platform.sh needs $tool" >&2; exit 1; }
done

export COMPOSE_PROJECT_NAME=caddy-social-bench
export BENCH_HTTPS_PORT=${BENCH_HTTPS_PORT:-9443} BENCH_USER_LB_PORT=${BENCH_USER_LB_PORT:-19001}
export BENCH_USER_SERVICE_PORT=${BENCH_USER_SERVICE_PORT:-15001}
# The benchmark is one user at thousands of requests per second: the per-user
# limit is lifted (its cost stays: every request still takes a token).
export USER_RATE_LIMIT=${USER_RATE_LIMIT:-1000000000/1s} USER_RATE_BURST=${USER_RATE_BURST:-1000000000}
export AUTH_RATE_LIMIT=${AUTH_RATE_LIMIT:-1000000/1s} AUTH_RATE_BURST=${AUTH_RATE_BURST:-1000000}
compose=(docker compose -f docker-compose.yaml -f bench/platform.override.yaml)
work=$(mktemp -d /tmp/bench-platform.XXXXXX)
out=$work/report.md
started=
finish() {
	if [ -n "$started" ] && [ -z "${BENCH_REUSE:-}" ]; then "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap finish EXIT

if [ -z "$("${compose[@]}" ps -q gateway 2>/dev/null)" ]; then
	echo "== start the stack ($COMPOSE_PROJECT_NAME)" >&2
	started=1
	"${compose[@]}" up -d --build --wait --wait-timeout 300 >&2
fi
gw="https://localhost:$BENCH_HTTPS_PORT"
for _ in $(seq 60); do
	[ "$(curl -sk -o /dev/null -w '%{http_code}' "$gw/api/feed")" = 401 ] && break
	sleep 1
done

echo "== a user with a profile" >&2
email="bench-$(date +%s%N)@example.test"
uid=$(curl -sfk "$gw/api/auth/register" -d "{\"email\":\"$email\",\"password\":\"benchmark password\"}" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["uuid"])')
token=$(curl -sfk "$gw/api/auth/login" -d "{\"email\":\"$email\",\"password\":\"benchmark password\"}" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -sfk "$gw/api/profile/me" -H "Authorization: Bearer $token" -d '{"username":"bench","bio":"b"}' >/dev/null

paths=(gateway user-lb direct)
declare -A url hdr sni
# hey sends the Host header, port included, as the TLS server name: Caddy
# knows the site as "localhost", so hey gets -host localhost for the gateway.
url[gateway]="$gw/api/profile/me" hdr[gateway]="Authorization: Bearer $token" sni[gateway]=localhost
url[user-lb]="http://127.0.0.1:$BENCH_USER_LB_PORT/profile/me" hdr[user-lb]="X-User-ID: $uid"
url[direct]="http://127.0.0.1:$BENCH_USER_SERVICE_PORT/profile/me" hdr[direct]="X-User-ID: $uid"
for p in "${paths[@]}"; do
	code=$(curl -sk -o /dev/null -w '%{http_code}' -H "${hdr[$p]}" "${url[$p]}")
	[ "$code" = 200 ] || { echo "$p: GET /profile/me answered $code" >&2; exit 1; }
done

# CPU accounting: each container's cgroup (v1 cpuacct or v2 cpu.stat), and
# dockerd and the docker-proxy processes from /proc.
containers=(gateway user-lb user-service-1 user-service-2 user-db feed-service post-lb post-service-1 post-service-2 post-db auth-db prometheus)
declare -A cid
for c in "${containers[@]}"; do cid[$c]=$("${compose[@]}" ps -q "$c" 2>/dev/null || true); done
cpu_ns() { # cpu_ns NAME: CPU time used so far, in ns
	local f id=${cid[$1]:-}
	case $1 in
	dockerd) awk '{printf "%.0f\n", ($14+$15)*10000000}' "/proc/$(pgrep -xo dockerd)/stat"; return ;;
	docker-proxy)
		local sum=0 pid
		for pid in $(pgrep -f "docker-proxy.*-host-port ($BENCH_HTTPS_PORT|$BENCH_USER_LB_PORT|$BENCH_USER_SERVICE_PORT)( |$)" || true); do
			sum=$((sum + $(awk '{printf "%.0f\n", ($14+$15)*10000000}' "/proc/$pid/stat")))
		done
		echo "$sum"; return ;;
	esac
	[ -n "$id" ] || { echo 0; return; }
	for f in /sys/fs/cgroup/cpuacct/docker/$id/cpuacct.usage /sys/fs/cgroup/system.slice/docker-$id.scope/cpu.stat /sys/fs/cgroup/docker/$id/cpu.stat; do
		[ -r "$f" ] || continue
		case $f in
		*cpuacct.usage) cat "$f" ;;
		*) awk '/^usage_usec/ {printf "%.0f\n", $2*1000}' "$f" ;;
		esac
		return
	done
	echo 0
}
meters=(gateway user-lb user-service-1 user-service-2 user-db dockerd docker-proxy)
snapshot() { local m; for m in "$@"; do printf '%s ' "$(cpu_ns "$m")"; done; }
# cpu_per_req BEFORE AFTER REQUESTS: µs of CPU per request of each meter.
cpu_per_req() {
	python3 - "$1" "$2" "$3" <<'PY'
import sys
b, a, n = sys.argv[1].split(), sys.argv[2].split(), float(sys.argv[3])
print(" ".join(f"{(float(y) - float(x)) / 1000 / n:.0f}" for x, y in zip(b, a)))
PY
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# wrk_run PATH: "requests rps" of a saturation run.
wrk_run() {
	wrk -t2 -c32 -d"${secs}s" -H "${hdr[$1]}" "${url[$1]}" |
		awk '/requests in/ {n=$1} /Requests\/sec/ {r=$2} /Non-2xx/ {bad=$NF} END {if (bad) {print "non-2xx answers: " bad > "/dev/stderr"; exit 1}; print n, r}'
}
# hey_run ARGS...: "p50_ms p99_ms rps ok" of a hey run.
# A run with any error or any answer but 200 fails the benchmark.
hey_parse() {
	awk '/Requests\/sec/ {r=$2} / 50% in/ {p50=$3*1000} / 99% in/ {p99=$3*1000} /\[200\]/ {ok=$2}
		/^Error distribution/ {errs=1} errs && /\[[0-9]+\]/ {print "hey: " $0 > "/dev/stderr"; bad=1}
		/^Status code distribution/ {codes=1} /^Error distribution/ {codes=0} codes && /\[[0-9]+\]/ && !/\[200\]/ {print "hey: " $0 > "/dev/stderr"; bad=1}
		END {if (bad || !ok) exit 1; printf "%.2f %.2f %.0f %d\n", p50, p99, r, ok}'
}
# hey_to PATH ARGS...: hey against PATH's host-side URL.
hey_to() { local p=$1; shift; hey "$@" ${sni[$p]:+-host "${sni[$p]}"} -H "${hdr[$p]}" "${url[$p]}"; }

for p in "${paths[@]}"; do wrk -t2 -c32 -d2s -H "${hdr[$p]}" "${url[$p]}" >/dev/null; done # warm-up

echo "== 1. saturation, $rounds rounds of ${secs}s per path" >&2
declare -A rps cpu
for r in $(seq "$rounds"); do
	line="round $r:"
	for i in 0 1 2; do
		p=${paths[$(((i + r) % 3))]}
		before=$(snapshot "${meters[@]}")
		read -r n x < <(wrk_run "$p")
		after=$(snapshot "${meters[@]}")
		rps[$p]+="$x " cpu[$p,$r]=$(cpu_per_req "$before" "$after" "$n")
		line+=" $p $x req/s (CPU us/req ${meters[*]}: ${cpu[$p,$r]});"
	done
	echo "$line" | tee -a "$work/sat.log" >&2
done
declare -A sat
for p in "${paths[@]}"; do
	# shellcheck disable=SC2086
	sat[$p]=$(median ${rps[$p]})
done
rate=$(awk -v s="${sat[gateway]}" 'BEGIN {printf "%d", s / 2}')

echo "== 2. latency at $rate req/s (half the gateway path's saturation)" >&2
conc=16
q=$(awk -v r="$rate" -v c="$conc" 'BEGIN {printf "%d", r / c + 0.5}')
declare -A p50 p99
for r in $(seq "$rounds"); do
	line="round $r:"
	for i in 0 1 2; do
		p=${paths[$(((i + r) % 3))]}
		ok=""
		read -r a b x ok < <(hey_to "$p" -z "${secs}s" -c "$conc" -q "$q" | hey_parse) || true
		[ -n "${ok:-}" ] || { echo "$p: hey failed" >&2; exit 1; }
		p50[$p]+="$a " p99[$p]+="$b "
		line+=" $p p50 $a ms p99 $b ms ($x req/s);"
	done
	echo "$line" | tee -a "$work/lat.log" >&2
done

echo "== 3. without docker-proxy: hey from the gateway's network namespace vs from the host" >&2
ip_of() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "${cid[$1]}" | awk '{print $1}'; }
declare -A inurl
inurl[gateway]="https://localhost:443/api/profile/me"
inurl[user-lb]="http://$(ip_of user-lb):9001/profile/me"
inurl[direct]="http://$(ip_of user-service-1):5000/profile/me"
client_image=$(docker inspect -f '{{.Config.Image}}' "${cid[user-db]}")
in_net() { docker run --rm --network "container:${cid[gateway]}" -v /usr/bin/hey:/usr/local/bin/hey:ro --entrypoint hey "$client_image" "$@"; }
declare -A hsat isat ilat
for r in $(seq "$rounds"); do
	line="round $r:"
	for i in 0 1 2; do
		p=${paths[$(((i + r) % 3))]}
		h="" c="" b=""
		read -r _ _ h _ < <(hey_to "$p" -z "${secs}s" -c 32 | hey_parse) || true
		read -r _ _ c _ < <(in_net -z "${secs}s" -c 32 ${sni[$p]:+-host "${sni[$p]}"} -H "${hdr[$p]}" "${inurl[$p]}" | hey_parse) || true
		read -r a b _ _ < <(in_net -z "${secs}s" -c "$conc" -q "$q" ${sni[$p]:+-host "${sni[$p]}"} -H "${hdr[$p]}" "${inurl[$p]}" | hey_parse) || true
		[ -n "${h:-}" ] && [ -n "${c:-}" ] && [ -n "${b:-}" ] || { echo "$p: hey failed" >&2; exit 1; }
		hsat[$p]+="$h " isat[$p]+="$c " ilat[$p]+="$a/$b "
		line+=" $p host $h req/s, in-network $c req/s, in-network at $rate req/s p50/p99 $a/$b ms;"
	done
	echo "$line" | tee -a "$work/net.log" >&2
done

echo "== 4. the Locust mix: $mix_users users, ${mix_secs}s" >&2
mix_meters=(gateway user-lb user-service-1 user-service-2 user-db post-lb post-service-1 post-service-2 post-db feed-service auth-db dockerd docker-proxy)
before=$(snapshot "${mix_meters[@]}")
locust -f locustfile.py --headless -u "$mix_users" -r "$mix_users" -t "${mix_secs}s" --host "$gw" --insecure \
	--csv "$work/mix" --only-summary --loglevel WARNING >"$work/locust.log" 2>&1 || { tail -n 30 "$work/locust.log" >&2; exit 1; }
after=$(snapshot "${mix_meters[@]}")
read -r mix_n mix_fail mix_rps mix_p50 mix_p99 < <(python3 - "$work/mix_stats.csv" <<'PY'
import csv, sys
for row in csv.DictReader(open(sys.argv[1])):
    if row["Name"] == "Aggregated":
        print(row["Request Count"], row["Failure Count"], f'{float(row["Requests/s"]):.1f}', row["50%"], row["99%"])
PY
)
mix_cpu=$(cpu_per_req "$before" "$after" "$mix_n")

# 5. Where the gateway's CPU goes under the gateway path's saturation: Caddy's
# pprof on its admin endpoint (localhost inside the container).
profile_top=""
if [ "${PROFILE:-1}" = 1 ]; then
	echo "== 5. CPU profile of the gateway under load" >&2
	wrk -t2 -c32 -d"$((secs + 4))s" -H "${hdr[gateway]}" "${url[gateway]}" >/dev/null &
	wrkpid=$!
	sleep 1
	"${compose[@]}" exec -T gateway wget -qO- "http://localhost:2019/debug/pprof/profile?seconds=$secs" >"$work/gateway.pprof"
	wait "$wrkpid"
	profile_top=$(go tool pprof -top -nodecount=25 "$work/gateway.pprof" 2>/dev/null
		echo; go tool pprof -top -cum -nodecount=45 "$work/gateway.pprof" 2>/dev/null | tail -n 45)
	cp "$work/gateway.pprof" "${PROFILE_OUT:-/tmp/bench-platform-gateway.pprof}"
fi

# The report.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
med_cpu() { # med_cpu PATH INDEX: median over rounds of one meter's µs/req
	local r v=()
	for r in $(seq "$rounds"); do v+=("$(echo "${cpu[$1,$r]}" | awk -v i="$2" '{print $i}')"); done
	median "${v[@]}"
}
{
	echo "Run of $(date -u '+%Y-%m-%d %H:%M') UTC: \`bench/platform.sh $rounds $secs\` (MIX_USERS=$mix_users MIX_SECS=$mix_secs), $(nproc) CPUs, load average before: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	echo '```'
	cat "$work/sat.log" "$work/lat.log" "$work/net.log"
	echo '```'
	echo
	echo "| path | saturation (req/s, median) | vs user-lb | p50 at $rate req/s | p99 at $rate req/s | p99 vs direct |"
	echo "|---|---|---|---|---|---|"
	for p in "${paths[@]}"; do
		# shellcheck disable=SC2086
		m50=$(median ${p50[$p]}) m99=$(median ${p99[$p]})
		# shellcheck disable=SC2086
		d99=$(median ${p99[direct]})
		echo "| $p | ${sat[$p]} | $(ratio "${sat[$p]}" "${sat[user-lb]}") | $m50 ms | $m99 ms | $(ratio "$m99" "$d99") |"
	done
	echo
	echo "CPU per request while saturated (µs, median over rounds; user-service is both instances):"
	echo
	echo "| path | gateway | user-lb | user-service | user-db | dockerd | docker-proxy | total |"
	echo "|---|---|---|---|---|---|---|---|"
	for p in "${paths[@]}"; do
		g=$(med_cpu "$p" 1) l=$(med_cpu "$p" 2) u=$(($(med_cpu "$p" 3) + $(med_cpu "$p" 4))) d=$(med_cpu "$p" 5) k=$(med_cpu "$p" 6) x=$(med_cpu "$p" 7)
		echo "| $p | $g | $l | $u | $d | $k | $x | $((g + l + u + d + k + x)) |"
	done
	echo
	echo "Without docker-proxy (hey, 32 connections; in-network = a container in the gateway's network namespace):"
	echo
	echo "| path | host → published port (req/s) | in-network (req/s) | in-network / host | in-network p50/p99 at $rate req/s (ms) |"
	echo "|---|---|---|---|---|"
	for p in "${paths[@]}"; do
		# shellcheck disable=SC2086
		h=$(median ${hsat[$p]}) c=$(median ${isat[$p]})
		echo "| $p | $h | $c | $(ratio "$c" "$h") | ${ilat[$p]} |"
	done
	echo
	echo "Realistic mix (Locust, $mix_users users, ${mix_secs}s, registration and login of each user included): $mix_n requests, $mix_fail failed, $mix_rps req/s, p50 $mix_p50 ms, p99 $mix_p99 ms. CPU per request (µs):"
	echo
	echo "| $(printf '%s | ' "${mix_meters[@]}")"
	echo "|$(printf -- '---|%.0s' "${mix_meters[@]}")"
	# shellcheck disable=SC2086
	echo "| $(printf '%s | ' $mix_cpu)"
	echo
	if [ -n "$profile_top" ]; then
		echo "Gateway CPU profile (Caddy pprof, ${secs}s under the gateway path's saturation; flat and cumulative):"
		echo
		echo '```'
		echo "$profile_top"
		echo '```'
		echo
	fi
	echo "Goals: gateway saturation / user-lb saturation = $(ratio "${sat[gateway]}" "${sat[user-lb]}") (≥ 0.5); gateway p99 / direct p99 at half saturation = $(ratio "$(median ${p99[gateway]})" "$(median ${p99[direct]})") (≤ 2)."
} >"$out"
cat "$out"
if [ -n "${BENCH_DOC:-}" ]; then
	{ echo; cat "$out"; } >>"$BENCH_DOC"
fi
