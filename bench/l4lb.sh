#!/usr/bin/env bash
# Our layer-4 balancer vs HAProxy (mode tcp, option splice-auto) vs the direct
# path (client straight to the backend: the physical limit), on loopback, in
# one run, alternating so that machine drift hits all three alike:
#   - single-stream throughput with rate 0 (iperf3, 10 s),
#   - new TCP connections per second (wrk, one HTTP request per connection),
#   - latency of short HTTP requests (wrk --latency, keep-alive), p50 and p99.
# Usage: bench/l4lb.sh [rounds]   (needs bin/caddy, haproxy, iperf3, wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
caddy=$PWD/bin/caddy
for tool in haproxy iperf3 wrk; do
	command -v $tool >/dev/null || { echo "install $tool (apt-get install $tool)" >&2; exit 1; }
done
[ -x "$caddy" ] || { echo "build bin/caddy first: make caddy" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# Backends: an iperf3 server and a small HTTP server (Caddy respond).
IPERF=15201 HTTP=15080
iperf3 -s -p $IPERF >/dev/null 2>&1 & pids+=($!)
cat >"$work/backend.Caddyfile" <<CF
{
	admin off
	persist_config off
	log {
		output discard
	}
}
http://127.0.0.1:$HTTP {
	respond "ok"
}
CF
"$caddy" run --config "$work/backend.Caddyfile" >/dev/null 2>&1 & pids+=($!)

# Ours: one balancer per backend (one config.yaml each), rate 0.
for pair in "15301 $IPERF" "15380 $HTTP"; do
	set -- $pair
	cat >"$work/lb-$1.yaml" <<YAML
port: $1
algorithm: roundrobin
backends: [127.0.0.1:$2]
rate: 0
metrics_port: 0
admin: "off"
YAML
	"$caddy" run --config "$work/lb-$1.yaml" --adapter lbyaml >"$work/lb-$1.log" 2>&1 & pids+=($!)
done

# HAProxy: the same two forwards.
cat >"$work/haproxy.cfg" <<HA
global
	maxconn 4000
defaults
	mode tcp
	option splice-auto
	timeout connect 2s
	timeout client 1m
	timeout server 1m
listen iperf
	bind 127.0.0.1:15401
	server b1 127.0.0.1:$IPERF
listen http
	bind 127.0.0.1:15480
	server b1 127.0.0.1:$HTTP
HA
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 & pids+=($!)

for port in $IPERF $HTTP 15301 15380 15401 15480; do
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "nothing listens on $port; logs:" >&2
		tail -n 5 "$work"/*.log >&2
		exit 1
	fi
done
sleep 1

throughput() { # Gbit/s of one 10 s iperf3 stream
	iperf3 -c 127.0.0.1 -p "$1" -t 10 -J | python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'
}
connrate() { # requests/s with a new connection each
	wrk -t2 -c32 -d10s -H "Connection: close" "http://127.0.0.1:$1/" | awk '/Requests\/sec/ {print $2}'
}
latency() { # "p50 p99" in microseconds, keep-alive, 4 connections
	wrk -t1 -c4 -d10s --latency "http://127.0.0.1:$1/" | awk '
		function us(v) { if (v ~ /us$/) return v+0; if (v ~ /ms$/) return v*1000; if (v ~ /s$/) return v*1e6; return v }
		$1 == "50%" {p50 = us($2)} $1 == "99%" {p99 = us($2)} END {printf "%.1f %.1f\n", p50, p99}'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }

declare -A tp cr p50 p99
for r in $(seq "$rounds"); do
	for path in direct ours haproxy; do
		case $path in
			direct) ip=$IPERF hp=$HTTP ;;
			ours) ip=15301 hp=15380 ;;
			haproxy) ip=15401 hp=15480 ;;
		esac
		tp[$path]+="$(throughput $ip) "
		cr[$path]+="$(connrate $hp) "
		read -r l50 l99 < <(latency $hp)
		p50[$path]+="$l50 " p99[$path]+="$l99 "
	done
	echo "round $r: throughput Gbit/s direct/ours/haproxy: $(for p in direct ours haproxy; do echo -n "$(echo ${tp[$p]} | awk '{print $NF}') "; done)"
done

declare -A m
for p in direct ours haproxy; do
	m[tp_$p]=$(median ${tp[$p]}) m[cr_$p]=$(median ${cr[$p]})
	m[p50_$p]=$(median ${p50[$p]}) m[p99_$p]=$(median ${p99[$p]})
done
added() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a-b}'; }
a50o=$(added ${m[p50_ours]} ${m[p50_direct]}) a99o=$(added ${m[p99_ours]} ${m[p99_direct]})
a50h=$(added ${m[p50_haproxy]} ${m[p50_direct]}) a99h=$(added ${m[p99_haproxy]} ${m[p99_direct]})
cat <<OUT

medians over $rounds rounds            direct     ours       haproxy    ours/haproxy  ours/direct
throughput, 1 stream (Gbit/s)    ${m[tp_direct]}      ${m[tp_ours]}      ${m[tp_haproxy]}      $(ratio ${m[tp_ours]} ${m[tp_haproxy]})          $(ratio ${m[tp_ours]} ${m[tp_direct]})
new connections/s                ${m[cr_direct]}   ${m[cr_ours]}   ${m[cr_haproxy]}   $(ratio ${m[cr_ours]} ${m[cr_haproxy]})          $(ratio ${m[cr_ours]} ${m[cr_direct]})
latency p50 (us)                 ${m[p50_direct]}      ${m[p50_ours]}      ${m[p50_haproxy]}
latency p99 (us)                 ${m[p99_direct]}      ${m[p99_ours]}      ${m[p99_haproxy]}
added latency p50 (us)                      $a50o       $a50h        $(ratio $a50o $a50h)
added latency p99 (us)                      $a99o       $a99h        $(ratio $a99o $a99h)
OUT
