#!/usr/bin/env bash
# The services' hot path, before vs after, in one run (issue 27): one
# user-service and one post-service instance of each build, each limited to
# BENCH_CPUS CPUs (default 1), on bench/services.compose.yaml's network with
# their PostgreSQL, NATS (events relayed) and a log sink (logs shipped).
#
#   before: BENCH_BEFORE (a git ref, default main), exported with git
#           archive; BENCH_BEFORE_PATCH names a commit whose diff is applied
#           on top (e.g. one that only adds metrics).
#   after:  this working tree.
#
# The load client is the host's wrk run inside the network namespace of the
# stack's `client` container (nsenter): in-network, no docker-proxy, to the
# instances' bridge addresses. Routes: user-service GET /profile/me (one
# user) and POST /profile/me (a new user each request: insert + outbox
# event), post-service GET /posts/me?limit=10 (one author with 30 posts) and
# POST /posts/me (insert + outbox event). For each route, each number of
# connections (BENCH_CONNS, default "1 8 32 128") and each round, before and
# after run back to back, in alternating order. Per run: req/s, p50/p99
# (wrk), the instance's CPU time per request and share of its CPU limit
# (cgroup cpuacct), and pool acquire wait (pgxpool_* metrics, when the build
# exports them: mean wait per acquire and share of acquires that waited).
# Then each route at half the after build's median 32-connection rate, paced
# (wrk delay), both builds: p50/p99. Last, block, mutex and CPU profiles of
# both user-service builds under 32 connections of GET (pprof, DEBUG_ADDR),
# kept in BENCH_PROFILES (default /tmp/bench-services-profiles).
#
# A shared machine: every container sits in docker's cgroup, which as a whole
# weighs as much as one process of the host (cgroup v1 cpu.shares 1024), so
# while builds run 30 compiler threads, the databases, the instances and the
# load client together get a fraction of one CPU and nothing here is
# CPU-bound. BENCH_WEIGHT=N (e.g. 16384) puts the stack's containers and the
# load client in a cgroup of their own with cpu.shares N, as a quiet machine
# would give them; each instance keeps its BENCH_CPUS limit. Off by default.
#
# Usage (locks in the shared machine's order: compose, then heavy):
#   flock /tmp/compose.lock flock /tmp/heavy.lock bench/services.sh [rounds] [seconds]
# Prints a Markdown report; BENCH_DOC=docs/BENCHMARKS.md appends it there.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-5}
cpus=${BENCH_CPUS:-1}
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
conns_list=(${BENCH_CONNS:-1 8 32 128})
before_ref=${BENCH_BEFORE:-main}
profiles=${BENCH_PROFILES:-/tmp/bench-services-profiles}
for tool in wrk docker nsenter curl python3 git go; do
	command -v "$tool" >/dev/null || { echo "bench/services.sh needs $tool" >&2; exit 1; }
done
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-hotpath-bench} BENCH_CPUS=$cpus
work=$(mktemp -d /tmp/bench-services.XXXXXX)
BENCH_BEFORE_DIR=$work/before
compose=(docker compose -f bench/services.compose.yaml)
cgroup=
if [ -n "${BENCH_WEIGHT:-}" ]; then
	cgroup=hotpath-bench-$COMPOSE_PROJECT_NAME
	mkdir -p "/sys/fs/cgroup/cpu/$cgroup"
	echo "$BENCH_WEIGHT" >"/sys/fs/cgroup/cpu/$cgroup/cpu.shares"
	export BENCH_CGROUP_PARENT=/$cgroup
fi
finish() {
	"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
	if [ -n "$cgroup" ]; then
		for d in /sys/fs/cgroup/*/"$cgroup"; do rmdir "$d" 2>/dev/null || true; done
	fi
	rm -rf "$work"
}
trap finish EXIT

echo "== before: $before_ref${BENCH_BEFORE_PATCH:+ + $BENCH_BEFORE_PATCH}; after: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- svckit user-service post-service || echo ' + uncommitted changes')" >&2
mkdir -p "$BENCH_BEFORE_DIR" "$work/bin" "$profiles"
git archive "$before_ref" | tar -x -C "$BENCH_BEFORE_DIR"
if [ -n "${BENCH_BEFORE_PATCH:-}" ]; then
	git diff "$BENCH_BEFORE_PATCH^" "$BENCH_BEFORE_PATCH" | git -C "$BENCH_BEFORE_DIR" apply
fi
# The images' binaries, built as service.Dockerfile builds them
# (bench/services.Dockerfile says why on the host).
for svc in user-service post-service; do
	for v in before after; do
		src=$([ $v = before ] && echo "$BENCH_BEFORE_DIR" || pwd)
		(cd "$src/$svc" && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$work/bin/$svc-$v" .)
		DOCKER_BUILDKIT=0 docker build -q -f bench/services.Dockerfile --build-arg BIN="$svc-$v" -t "hotpath-bench/$svc:$v" "$work/bin" >/dev/null
	done
done
events="NATS (events relayed)"
if docker image inspect nats:2.15-alpine >/dev/null 2>&1; then
	export COMPOSE_PROFILES=events
else
	export BENCH_NATS_URL=
	events="no NATS (no nats:2.15-alpine image: events waited in the outbox, no relay)"
fi
"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
"${compose[@]}" up -d --wait --wait-timeout 600 >&2

client_pid=$(docker inspect -f '{{.State.Pid}}' "$("${compose[@]}" ps -q client)")
# The load client: the host's tools in the client container's network
# namespace (and, with BENCH_WEIGHT, its CPU cgroup).
in_net() {
	if [ -n "$cgroup" ]; then
		sh -c 'echo $$ >"/sys/fs/cgroup/cpu/$1/cgroup.procs" && shift && exec "$@"' sh "$cgroup" nsenter --net="/proc/$client_pid/ns/net" "$@"
	else
		nsenter --net="/proc/$client_pid/ns/net" "$@"
	fi
}
declare -A ip cid
for s in user-service-before user-service-after post-service-before post-service-after; do
	cid[$s]=$("${compose[@]}" ps -q "$s")
	ip[$s]=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "${cid[$s]}")
done

uid=$(python3 -c 'import uuid; print(uuid.uuid4())')
echo "== data: user $uid with a profile and 30 posts" >&2
in_net curl -sf -H "X-User-ID: $uid" "http://${ip[user-service-after]}:5000/profile/me" -d '{"username":"bench","bio":"benchmark user"}' >/dev/null
for i in $(seq 30); do
	in_net curl -sf -H "X-User-ID: $uid" "http://${ip[post-service-after]}:5000/posts/me" -d "{\"content\":\"post $i\"}" >/dev/null
done

routes=("user GET" "user POST" "post GET" "post POST")
path_of() { case $1 in user) echo /profile/me ;; post) echo /posts/me"$([ "$2" = GET ] && echo '?limit=10')" ;; esac; }
body_of() { case "$1 $2" in "user POST") echo '{"username":"user %s","bio":"written by the benchmark"}' ;; "post POST") echo '{"content":"benchmark post %s"}' ;; esac; }

declare -A cgpath
for s in "${!cid[@]}"; do # each instance's cgroup (v1 cpuacct, or v2)
	pid=$(docker inspect -f '{{.State.Pid}}' "${cid[$s]}")
	cgpath[$s]=$(awk -F: '$2 ~ /(^|,)cpuacct(,|$)/ {print "/sys/fs/cgroup/cpuacct" $3 "/cpuacct.usage"} $1 == "0" && $2 == "" {v2="/sys/fs/cgroup" $3 "/cpu.stat"} END {if (v2 && !found) print v2}' "/proc/$pid/cgroup" | head -n 1)
done
cpu_ns() {
	case ${cgpath[$1]} in
	*cpuacct.usage) cat "${cgpath[$1]}" ;;
	*) awk '/^usage_usec/ {printf "%.0f\n", $2*1000}' "${cgpath[$1]}" ;;
	esac
}
# pool_stats INSTANCE: "acquires empty_acquires empty_wait_seconds" (zeros
# when the build exports no pool metrics).
pool_stats() {
	in_net curl -sf "http://${ip[$1]}:5000/metrics" | awk '
		/^pgxpool_acquires_total/ {a=$NF} /^pgxpool_empty_acquires_total/ {e=$NF} /^pgxpool_empty_acquire_wait_seconds_total/ {w=$NF}
		END {printf "%s %s %s\n", a+0, e+0, w+0}'
}

# load INSTANCE ROUTE CONNS SECS [DELAY_MS]: "requests rps p50_ms p99_ms
# cpu_us_per_req cpu_pct_of_limit wait_us_per_acquire waited_pct".
load() {
	local inst=$1 svc=${2% *} method=${2#* } c=$3 s=$4 d=${5:-0} t out
	t=$((c < 2 ? 1 : 2))
	local c0 c1 p0 p1
	c0=$(cpu_ns "$inst") p0=$(pool_stats "$inst")
	out=$(BENCH_METHOD=$method BENCH_BODY=$(body_of "$svc" "$method") BENCH_RANDOM_USER=$([ "$svc $method" = "user POST" ] && echo 1 || echo 0) \
		BENCH_DELAY_MS=$d in_net wrk -t"$t" -c"$c" -d"${s}s" -s bench/services.lua -H "X-User-ID: $uid" \
		"http://${ip[$inst]}:5000$(path_of "$svc" "$method")")
	c1=$(cpu_ns "$inst") p1=$(pool_stats "$inst")
	python3 - "$out" "$c0" "$c1" "$p0" "$p1" "$cpus" <<'PY'
import sys
out, c0, c1, p0, p1, cpus = sys.argv[1:]
r = next(l.split() for l in out.splitlines() if l.startswith("RESULT"))
n, dur, p50, p99, errs = map(int, r[1:])
if errs or n == 0:
    sys.exit(f"wrk: {errs} errors (non-2xx, timeouts, socket errors) in {n} requests:\n{out}")
cpu = int(c1) - int(c0)
a0, e0, w0 = map(float, p0.split()); a1, e1, w1 = map(float, p1.split())
acq = a1 - a0
wait = f"{(w1 - w0) / acq * 1e6:.0f} {(e1 - e0) / acq * 100:.0f}" if acq > 0 else "- -"
print(f"{n} {n / (dur / 1e6):.0f} {p50 / 1000:.2f} {p99 / 1000:.2f} {cpu / 1000 / n:.0f} {cpu / (dur * 1000) / float(cpus) * 100:.0f} {wait}")
PY
}

echo "== warm-up" >&2
for svc in user post; do
	for v in before after; do
		for route in "$svc GET" "$svc POST"; do load "$svc-service-$v" "$route" 8 2 >/dev/null; done
	done
done

echo "== 1. $rounds rounds of ${secs}s per route, connections and build" >&2
log=$work/runs.log
for r in $(seq "$rounds"); do
	for route in "${routes[@]}"; do
		svc=${route% *}
		for c in "${conns_list[@]}"; do
			order=(before after)
			[ $(((r + c) % 2)) = 0 ] || order=(after before)
			for v in "${order[@]}"; do
				res=$(load "$svc-service-$v" "$route" "$c" "$secs")
				echo "$r|$route|$c|$v|$res" >>"$log"
				echo "round $r $route c=$c $v: $res" >&2
			done
		done
	done
done

med() { # med ROUTE CONNS VERSION FIELD: median over rounds of one field of load's output
	awk -F'|' -v rt="$1" -v c="$2" -v v="$3" -v f="$4" '$2 == rt && $3 == c && $4 == v {split($5, x, " "); print x[f]}' "$log" |
		sort -g | awk '{a[NR]=$1} END {if (NR == 0 || a[1] == "-") print "-"; else print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}

echo "== 2. each route at half the after build's 32-connection rate, paced" >&2
halflog=$work/half.log
for r in $(seq "$rounds"); do
	for route in "${routes[@]}"; do
		svc=${route% *}
		rate=$(awk -v x="$(med "$route" 32 after 2)" 'BEGIN {printf "%d", x / 2}')
		delay=$(awk -v r="$rate" 'BEGIN {printf "%d", 32 * 1000 / r}')
		order=(before after)
		[ $((r % 2)) = 1 ] || order=(after before)
		for v in "${order[@]}"; do
			res=$(load "$svc-service-$v" "$route" 32 "$secs" "$delay")
			echo "$r|$route|$rate|$v|$res" >>"$halflog"
			echo "round $r $route at $rate req/s (32 connections, ${delay} ms apart) $v: $res" >&2
		done
	done
done

echo "== 3. profiles of user-service under 32 connections of GET /profile/me" >&2
for v in before after; do
	inst=user-service-$v
	in_net wrk -t2 -c32 -d"$((secs + 6))s" -H "X-User-ID: $uid" "http://${ip[$inst]}:5000/profile/me" >/dev/null &
	w=$!
	sleep 1
	for p in block mutex profile; do
		in_net curl -sf "http://${ip[$inst]}:6060/debug/pprof/$p?seconds=$secs" -o "$profiles/$v.$p.pprof" &
	done
	wait $w
	wait
done

{
	echo "Run of $(date -u '+%Y-%m-%d %H:%M') UTC: \`bench/services.sh $rounds $secs\` (BENCH_BEFORE=$before_ref${BENCH_BEFORE_PATCH:+ BENCH_BEFORE_PATCH=$BENCH_BEFORE_PATCH}, BENCH_CPUS=$cpus${BENCH_WEIGHT:+ BENCH_WEIGHT=$BENCH_WEIGHT}), after = $(git rev-parse --short HEAD); $events; $(nproc) CPUs, load average before the run: $LOADAVG_START."
	echo
	echo "Saturation (medians over $rounds rounds of ${secs}s; CPU = the instance's cgroup CPU per request and as a share of its $cpus-CPU limit; wait = pool acquire wait per acquire and the share of acquires that waited):"
	echo
	echo "| route | conns | before req/s | after req/s | after/before | before p50/p99 ms | after p50/p99 ms | before CPU µs/req (% of limit) | after CPU µs/req (% of limit) | before wait µs (waited) | after wait µs (waited) |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	for route in "${routes[@]}"; do
		for c in "${conns_list[@]}"; do
			b=$(med "$route" "$c" before 2) a=$(med "$route" "$c" after 2)
			echo "| $route | $c | $b | $a | $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a / b}') | $(med "$route" "$c" before 3)/$(med "$route" "$c" before 4) | $(med "$route" "$c" after 3)/$(med "$route" "$c" after 4) | $(med "$route" "$c" before 5) ($(med "$route" "$c" before 6)%) | $(med "$route" "$c" after 5) ($(med "$route" "$c" after 6)%) | $(med "$route" "$c" before 7) ($(med "$route" "$c" before 8)%) | $(med "$route" "$c" after 7) ($(med "$route" "$c" after 8)%) |"
		done
	done
	echo
	echo "Latency at half the after build's 32-connection rate (paced; medians over $rounds rounds):"
	echo
	echo "| route | target req/s | before req/s | before p50/p99 ms | after req/s | after p50/p99 ms |"
	echo "|---|---|---|---|---|---|"
	for route in "${routes[@]}"; do
		hm() { awk -F'|' -v rt="$route" -v v="$1" -v f="$2" '$2 == rt && $4 == v {split($5, x, " "); print x[f]}' "$halflog" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
		rate=$(awk -F'|' -v rt="$route" '$2 == rt {print $3; exit}' "$halflog")
		echo "| $route | $rate | $(hm before 2) | $(hm before 3)/$(hm before 4) | $(hm after 2) | $(hm after 3)/$(hm after 4) |"
	done
	echo
	echo "Every run (round|route|connections or paced rate|build|requests req/s p50 p99 cpu_us/req cpu% wait_us waited%):"
	echo
	echo '```'
	cat "$log" "$halflog"
	echo '```'
	echo
	for v in before after; do
		share=$(go tool pprof -top -cum -nodecount=500 "$profiles/$v.block.pprof" 2>/dev/null | awk '
			/ net\/http\.\(\*conn\)\.serve$/ {s=$4} / golang.org\/x\/sync\/semaphore\.\(\*Weighted\)\.Acquire$/ {a=$4}
			function sec(x) {return x ~ /ms$/ ? x/1000 : x ~ /us$|µs$/ ? x/1e6 : x+0}
			END {printf "%.1f s of %.1f s (%.0f%%)", sec(a), sec(s), (sec(s) ? sec(a)/sec(s)*100 : 0)}')
		echo "user-service $v, 32 connections of GET /profile/me: time the request goroutines (net/http conn.serve) were blocked in the pool's acquire (semaphore.Weighted.Acquire): $share. Block profile (${secs}s delta, cumulative), mutex profile, CPU profile (flat):"
		echo
		echo '```'
		go tool pprof -top -cum -nodecount=22 "$profiles/$v.block.pprof" 2>/dev/null | sed -n '/flat  flat%/,$p'
		echo
		go tool pprof -top -cum -nodecount=12 "$profiles/$v.mutex.pprof" 2>/dev/null | sed -n '/^Showing nodes/,$p'
		echo
		go tool pprof -top -nodecount=15 "$profiles/$v.profile.pprof" 2>/dev/null | sed -n '/^Duration/,$p'
		echo '```'
		echo
	done
} >"$work/report.md"
cat "$work/report.md"
if [ -n "${BENCH_DOC:-}" ]; then
	{ echo; cat "$work/report.md"; } >>"$BENCH_DOC"
fi
