#!/usr/bin/env bash
# Our layer-4 balancer (the caddy-l4 handler) vs the previous build (our own
# l4lb app with its own accept loop, built from the commit before the switch
# to caddy-l4) vs HAProxy (mode tcp, option splice-auto) vs the direct path
# (client straight to the backend: the physical limit), on loopback, in one
# run, alternating (in a rotating order) so that machine drift hits all four
# alike:
#   - single-stream throughput with rate 0 (iperf3, 10 s), and the
#     balancer's CPU time per GB moved meanwhile (/proc/PID/stat): on this
#     2-core machine the client, the balancer and the server share the
#     cores, so throughput also depends on how the three get scheduled,
#     while CPU per GB is the balancer's own cost,
#   - new TCP connections per second (wrk, one HTTP request per connection),
#     and the balancer's CPU time per connection meanwhile (/proc/PID/stat),
#   - latency of short HTTP requests over keep-alive connections, p50 and p99,
#     measured by bench/latprobe one request at a time, the three paths in
#     turn, so that it measures the paths and not queueing (a loaded wrk run
#     saturates the two cores: its p99 is then the machine's jitter, which
#     swung from 1 to 8 ms on the direct path alone).
# Usage: bench/l4lb.sh [rounds] [throughput]   (needs bin/caddy, haproxy, iperf3, wrk, go, git)
# With "throughput", only the throughput is measured, so that no
# connection-rate run (and its ~10^5 TIME_WAIT sockets) comes before a
# throughput run.
# PREV_REF names the previous build's commit (default: the parent of the
# commit that removed the l4lb app); it is built once into bin/caddy-prev-<sha>.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
rounds=${1:-3}
only_tp=$([ "${2:-}" = throughput ] && echo 1 || true)
caddy=$PWD/bin/caddy
prev_ref=${PREV_REF:-$(git rev-list -1 HEAD -- caddy-modules/l4lb/l4lbapp/app.go)^}
prev_sha=$(git rev-parse --short "$prev_ref")
caddy_prev=$PWD/bin/caddy-prev-$prev_sha
for tool in haproxy iperf3 wrk; do
	command -v $tool >/dev/null || { echo "install $tool (apt-get install $tool)" >&2; exit 1; }
done
[ -x "$caddy" ] || { echo "build bin/caddy first: make caddy" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
(cd bench/latprobe && go build -o "$work/latprobe" .)
if [ ! -x "$caddy_prev" ]; then
	echo "building the previous build ($prev_sha) into $caddy_prev"
	git worktree add -q --detach "$work/prev" "$prev_sha"
	(cd "$work/prev" && go tool xcaddy build v2.11.9 --output "$caddy_prev" \
		--with github.com/caddysocial/platform/caddy-modules@v0.0.0-00010101000000-000000000000=./caddy-modules) >"$work/prev-build.log" 2>&1 ||
		{ tail -n 20 "$work/prev-build.log" >&2; exit 1; }
	git worktree remove --force "$work/prev"
fi

# Backends: an iperf3 server and a small HTTP server (Caddy respond).
IPERF=15201 HTTP=15080
iperf3 -s -p $IPERF >/dev/null 2>&1 & pids+=($!)
http_backend "$caddy" $HTTP

# Ours and the previous build: one balancer per backend (one config.yaml
# each, the same keys in both builds), rate 0.
for spec in "$caddy 15301 $IPERF" "$caddy 15380 $HTTP" "$caddy_prev 15501 $IPERF" "$caddy_prev 15580 $HTTP"; do
	set -- $spec
	bin=$1
	shift
	cat >"$work/lb-$1.yaml" <<YAML
port: $1
algorithm: roundrobin
backends: [127.0.0.1:$2]
rate: 0
metrics_port: 0
admin: "off"
YAML
	"$bin" run --config "$work/lb-$1.yaml" --adapter lbyaml >"$work/lb-$1.log" 2>&1 & pids+=($!)
	case $1 in
		15301) pid_ours_tp=$! ;;
		15380) pid_ours=$! ;;
		15501) pid_prev_tp=$! ;;
		15580) pid_prev=$! ;;
	esac
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
pid_haproxy=$!

wait_listening $IPERF $HTTP 15301 15380 15501 15580 15401 15480
sleep 1

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system, all threads
throughput() { # "Gbit/s CPU-s-per-GB" of one 10 s iperf3 stream; $2: the proxy's pid or -
	local before=0 after=0 out
	[ "$2" = - ] || before=$(cpu_ticks "$2")
	out=$(iperf3 -c 127.0.0.1 -p "$1" -t 10 -J)
	[ "$2" = - ] || after=$(cpu_ticks "$2")
	echo "$out" | python3 -c 'import json,sys
e = json.load(sys.stdin)["end"]["sum_received"]
print("%.2f %.3f" % (e["bits_per_second"] / 1e9, float(sys.argv[1]) / float(sys.argv[2]) / (e["bytes"] / 1e9)))' \
		"$((after - before))" "$(getconf CLK_TCK)"
}
connrate() { # "requests/s CPU-us-per-connection" with a new connection per request; $2: the proxy's pid or -
	local before=0 after=0 out
	[ "$2" = - ] || before=$(cpu_ticks "$2")
	out=$(wrk -t2 -c32 -d10s -H "Connection: close" "http://127.0.0.1:$1/")
	[ "$2" = - ] || after=$(cpu_ticks "$2")
	echo "$out" | awk -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" '
		/requests in/ {n = $1} /Requests\/sec/ {r = $2} END {printf "%s %.1f\n", r, t / hz * 1e6 / n}'
}
latency() { # lines "path p50 p90 p99 p99.9" in microseconds, 20000 requests per path
	"$work/latprobe" -n 20000 direct=127.0.0.1:$HTTP ours=127.0.0.1:15380 prev=127.0.0.1:15580 haproxy=127.0.0.1:15480
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
last() { echo ${1} | awk '{print $NF}'; }

declare -A tp tpcpu cr cpu p50 p99
for p in direct ours prev haproxy; do tp[$p]= tpcpu[$p]= cr[$p]= cpu[$p]= p50[$p]= p99[$p]=; done
for r in $(seq "$rounds"); do
	# The order rotates every round, so that no path always follows the
	# same one (a connection-rate run leaves ~10^5 sockets in TIME_WAIT).
	order=(direct ours prev haproxy)
	for i in 0 1 2 3; do
		path=${order[$(((i + r) % 4))]}
		case $path in
			direct) ip=$IPERF hp=$HTTP pid=- tpid=- ;;
			ours) ip=15301 hp=15380 pid=$pid_ours tpid=$pid_ours_tp ;;
			prev) ip=15501 hp=15580 pid=$pid_prev tpid=$pid_prev_tp ;;
			haproxy) ip=15401 hp=15480 pid=$pid_haproxy tpid=$pid_haproxy ;;
		esac
		read -r gbit cpugb < <(throughput $ip $tpid)
		tp[$path]+="$gbit " tpcpu[$path]+="$cpugb "
		[ -z "$only_tp" ] || continue
		read -r rate cpuus < <(connrate $hp $pid)
		cr[$path]+="$rate " cpu[$path]+="$cpuus "
	done
	if [ -z "$only_tp" ]; then
		while read -r path l50 _ l99 _; do
			p50[$path]+="$l50 " p99[$path]+="$l99 "
		done < <(latency)
	fi
	line="round $r (direct/ours/prev/haproxy): throughput Gbit/s $(for p in direct ours prev haproxy; do echo -n "$(last "${tp[$p]}") "; done)"
	line+=" | CPU s/GB $(for p in ours prev haproxy; do echo -n "$(last "${tpcpu[$p]}") "; done)"
	[ -z "$only_tp" ] || { echo "$line"; continue; }
	echo "$line" \
		"| conn/s $(for p in direct ours prev haproxy; do echo -n "$(last "${cr[$p]}") "; done)" \
		"| CPU us/conn $(for p in ours prev haproxy; do echo -n "$(last "${cpu[$p]}") "; done)" \
		"| p50 us $(for p in direct ours prev haproxy; do echo -n "$(last "${p50[$p]}") "; done)" \
		"| p99 us $(for p in direct ours prev haproxy; do echo -n "$(last "${p99[$p]}") "; done)"
done

declare -A m
for p in direct ours prev haproxy; do
	m[tp_$p]=$(median ${tp[$p]}) m[tpcpu_$p]=$(median ${tpcpu[$p]}) m[cr_$p]=$(median ${cr[$p]}) m[cpu_$p]=$(median ${cpu[$p]})
	m[p50_$p]=$(median ${p50[$p]}) m[p99_$p]=$(median ${p99[$p]})
done
added() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a-b}'; }
# Median of per-round ratios: each round's paths ran within a minute of each
# other, so this cancels the machine's drift better than a ratio of medians.
perround() { # perround "ours values" "reference values" ["direct values" for added latency]
	awk -v a="$1" -v b="$2" -v d="${3:-}" 'BEGIN {
		n = split(a, x, " "); split(b, y, " "); split(d, z, " ")
		for (i = 1; i <= n; i++) r[i] = d == "" ? x[i] / y[i] : (x[i] - z[i]) / (y[i] - z[i])
		for (i = 2; i <= n; i++) for (j = i; j > 1 && r[j - 1] > r[j]; j--) { t = r[j]; r[j] = r[j - 1]; r[j - 1] = t }
		printf "%.2f", n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
		printf " (rounds:"; for (i = 1; i <= n; i++) printf " %.2f", r[i]; printf ")"
	}'
}
row() { # row LABEL KEY: the medians of the four paths and the two ratios of ours
	printf '%-32s %-10s %-10s %-10s %-10s %-13s %s\n' "$1" "${m[$2_direct]:--}" "${m[$2_ours]}" "${m[$2_prev]}" \
		"${m[$2_haproxy]}" "$(ratio ${m[$2_ours]} ${m[$2_haproxy]})" "$(ratio ${m[$2_ours]} ${m[$2_prev]})"
}
m[cpu_direct]=- m[tpcpu_direct]=-
echo
printf '%-32s %-10s %-10s %-10s %-10s %-13s %s\n' "medians over $rounds rounds" direct ours prev haproxy ours/haproxy ours/prev
row "throughput, 1 stream (Gbit/s)" tp
row "proxy CPU per GB moved (s)" tpcpu
echo "throughput ours/direct: $(ratio ${m[tp_ours]} ${m[tp_direct]})"
echo
echo "median of per-round ratios      ours/haproxy                    ours/prev"
echo "throughput                      $(perround "${tp[ours]}" "${tp[haproxy]}")    $(perround "${tp[ours]}" "${tp[prev]}")"
echo "proxy CPU per GB                $(perround "${tpcpu[ours]}" "${tpcpu[haproxy]}")    $(perround "${tpcpu[ours]}" "${tpcpu[prev]}")"
[ -z "$only_tp" ] || exit 0

echo
row "new connections/s" cr
row "proxy CPU per connection (us)" cpu
row "latency p50 (us)" p50
row "latency p99 (us)" p99
a50o=$(added ${m[p50_ours]} ${m[p50_direct]}) a99o=$(added ${m[p99_ours]} ${m[p99_direct]})
a50p=$(added ${m[p50_prev]} ${m[p50_direct]}) a99p=$(added ${m[p99_prev]} ${m[p99_direct]})
a50h=$(added ${m[p50_haproxy]} ${m[p50_direct]}) a99h=$(added ${m[p99_haproxy]} ${m[p99_direct]})
cat <<OUT
added latency p50 (us): ours $a50o, prev $a50p, haproxy $a50h
added latency p99 (us): ours $a99o, prev $a99p, haproxy $a99h

median of per-round ratios      ours/haproxy                    ours/prev
new connections/s               $(perround "${cr[ours]}" "${cr[haproxy]}")    $(perround "${cr[ours]}" "${cr[prev]}")
proxy CPU per connection        $(perround "${cpu[ours]}" "${cpu[haproxy]}")    $(perround "${cpu[ours]}" "${cpu[prev]}")
added latency p50               $(perround "${p50[ours]}" "${p50[haproxy]}" "${p50[direct]}")    $(perround "${p50[ours]}" "${p50[prev]}" "${p50[direct]}")
added latency p99               $(perround "${p99[ours]}" "${p99[haproxy]}" "${p99[direct]}")    $(perround "${p99[ours]}" "${p99[prev]}" "${p99[direct]}")
OUT
