#!/usr/bin/env bash
# Where the balancer's CPU goes on one-request connections: perf samples
# bin/caddy (the caddy-l4 handler) while wrk opens a new connection per
# request through it, and each sample is charged to the innermost frame of
# our code, caddy-l4 or Caddy on its stack (kernel and runtime frames
# inside it count for that caller; samples with none of them are the Go
# runtime's own: scheduler, GC, netpoll). Prints the share of each and the
# functions that cost most within caddy-l4 and within ours.
# Usage: bench/l4lb-perf.sh [seconds]   (needs perf, wrk, python3, go)
# It profiles bin/caddy-syms: the same build as `make caddy` but with its
# symbol table (xcaddy strips it by default), built when missing or older
# than bin/caddy.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
secs=${1:-15}
caddy=$PWD/bin/caddy-syms
if [ ! -x "$caddy" ] || [ "$caddy" -ot bin/caddy ]; then
	echo "building $caddy"
	XCADDY_GO_BUILD_FLAGS="-trimpath -tags nobadger,nomysql,nopgx" go tool xcaddy build v2.11.9 --output "$caddy" \
		--with github.com/mholt/caddy-l4@v0.1.2 \
		--with github.com/caddysocial/platform/caddy-modules@v0.0.0-00010101000000-000000000000=./caddy-modules \
		--replace github.com/caddysocial/platform/svckit=./svckit >/dev/null
fi
for tool in perf wrk python3; do
	command -v $tool >/dev/null || { echo "install $tool" >&2; exit 1; }
done
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

HTTP=15081 LB=15381
http_backend "$caddy" $HTTP
printf 'port: %s\nalgorithm: roundrobin\nbackends: [127.0.0.1:%s]\nrate: 0\nmetrics_port: 0\nadmin: "off"\n' $LB $HTTP >"$work/lb.yaml"
"$caddy" run --config "$work/lb.yaml" --adapter lbyaml >"$work/lb.log" 2>&1 & pids+=($!)
lb_pid=$!
wait_listening $HTTP $LB
wrk -t2 -c32 -d2s -H "Connection: close" "http://127.0.0.1:$LB/" >/dev/null # warm up
perf record -F 2999 -g -p "$lb_pid" -o "$work/perf.data" -- sleep "$secs" >/dev/null 2>&1 &
perf_pid=$!
wrk -t2 -c32 -d"${secs}s" -H "Connection: close" "http://127.0.0.1:$LB/" | grep -E 'Requests/sec|requests in'
wait $perf_pid
perf script -i "$work/perf.data" -F comm,tid,time,ip,sym 2>/dev/null | python3 -c '
import sys, collections
def owner(sym):
    if "caddysocial/platform" in sym: return "ours (l4lb, l4balancer)"
    if "mholt/caddy-l4" in sym: return "caddy-l4"
    if "caddyserver/caddy" in sym: return "caddy"
    return None
# Per-connection work that caddy-l4 (or Caddy under it) adds, found anywhere
# on the stack of a sample.
markers = [
    ("accept(2) itself (both builds have it)", ("syscall.accept4", "internal/poll.accept")),
    ("keep-alive setsockopt on each accepted socket", ("net.setKeepAlive", "net.setNoDelay")),
    ("a new goroutine per connection: creation and stack growth", ("runtime.newproc", "runtime.newstack")),
    ("Replacer, context values and variables (WrapConnection)", ("layer4.WrapConnection",)),
    ("matching deadline set and cleared", ("SetReadDeadline",)),
    ("debug-log fields evaluated though debug is off", ("net.(*TCPAddr).String", "net.(*conn).LocalAddr", "net.(*conn).RemoteAddr")),
]
marked = collections.Counter()
total = 0
by = collections.Counter()
fn = collections.Counter()
stack = []
def flush():
    global total
    if not stack: return
    total += 1
    joined = "\n".join(stack)
    inl4 = "mholt/caddy-l4" in joined or "caddyserver/caddy" in joined
    for name, needles in markers:
        if any(n in joined for n in needles) and (inl4 or name.startswith("accept")):
            marked[name] += 1
    for sym in stack:  # innermost first
        o = owner(sym)
        if o:
            by[o] += 1
            fn[(o, sym.split("+")[0])] += 1
            return
    by["Go runtime and kernel only (scheduler, GC, netpoll)"] += 1
for line in sys.stdin:
    line = line.rstrip("\n")
    if not line.strip():
        flush(); stack = []
    elif line.startswith(("\t", " ")):
        parts = line.split(None, 1)
        stack.append(parts[1] if len(parts) > 1 else "")
flush()
print("%d samples" % total)
for o, n in by.most_common():
    print("  %5.1f%%  %s" % (100.0 * n / total, o))
print("caddy-l4 and Caddy work per connection, by kind (a sample may count in two):")
for name, _ in markers:
    print("  %5.1f%%  %s" % (100.0 * marked[name] / total, name))
for o in ("caddy-l4", "caddy", "ours (l4lb, l4balancer)"):
    print("top of %s (innermost frame; kernel and runtime below it included):" % o)
    for (oo, s), n in fn.most_common():
        if oo == o and n * 200 >= total:
            print("  %5.1f%%  %s" % (100.0 * n / total, s))
'
