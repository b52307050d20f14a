#!/usr/bin/env bash
# Feed latency against real services: user-service x2 and post-service x2 on
# a real PostgreSQL (scripts/with-postgres.sh), behind our layer-4 balancers
# (bin/caddy --adapter lbyaml, the repository's lb-configs settings), and
# feed-service in front, all on loopback. One caller per friend count (10,
# 100, 500, 1,000 by default), each friend with 20 posts; the counts are
# measured in a rotating order, several rounds, with hey (one request at a
# time: the latency of a feed, not queueing).
#
# Two feed-services run side by side: "batch" talks to the balancers
# directly (our services: GET /posts?authors=, GET /profiles?ids=); "each"
# talks to them through a Caddy that answers 404 on those two routes, as the
# original course services do, so it uses one call per friend (that Caddy
# is one more HTTP hop per call: the "each" column is a little pessimistic).
#
# Usage: bench/feed.sh [rounds] [requests per measurement]   (needs bin/caddy, hey, psql, go)
# Env: FRIENDS="10 100 500 1000", POSTS=20.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
n=${2:-100}
friends_list=${FRIENDS:-10 100 500 1000}
posts_each=${POSTS:-20}
[ -x bin/caddy ] || { echo "build bin/caddy first: make caddy" >&2; exit 1; }
command -v hey >/dev/null || { echo "install hey" >&2; exit 1; }
if [ -z "${TEST_DATABASE_URL:-}" ]; then exec scripts/with-postgres.sh "$0" "$@"; fi

work=$(mktemp -d /tmp/bench-feed.XXXXXX)
pids=()
finish() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap finish EXIT
# shellcheck source=bench/lib.sh
source bench/lib.sh

echo "== build the services"
for s in user-service post-service feed-service; do (cd "$s" && GOWORK=off go build -o "$work/$s" .); done

admin=$TEST_DATABASE_URL
db_url() { local u=${admin%%\?*}; echo "${u%/*}/$1?${admin#*\?}"; }
for db in bench_users bench_posts; do
	psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
done
users_dsn=$(db_url bench_users) posts_dsn=$(db_url bench_posts)

# Ports: services 1810x, balancers 1819x, shim 18198/18199, feeds 1820x.
start_svc() { # start_svc NAME PORT DSN
	PORT=$2 POSTGRES_DSN=$3 "$work/$1" >"$work/$1-$2.log" 2>&1 & pids+=($!)
}
start_svc user-service 18101 "$users_dsn"
start_svc user-service 18102 "$users_dsn"
start_svc post-service 18103 "$posts_dsn"
start_svc post-service 18104 "$posts_dsn"
lb() { # lb NAME PORT BACKEND...
	local name=$1 port=$2
	shift 2
	{
		echo "port: $port"
		echo "algorithm: leastconn"
		echo "backends:"
		printf '  - %s\n' "$@"
		echo "rate: 100"
		echo "name: $name"
		echo "metrics_port: 0"
		echo "admin: \"off\""
		echo "health_check: {type: http, path: /healthz, interval: 2s, timeout: 1s, fall: 3, rise: 2}"
	} >"$work/$name.yaml"
	bin/caddy run --config "$work/$name.yaml" --adapter lbyaml >"$work/$name.log" 2>&1 & pids+=($!)
}
lb user-lb 18191 127.0.0.1:18101 127.0.0.1:18102
lb post-lb 18192 127.0.0.1:18103 127.0.0.1:18104
cat >"$work/shim.Caddyfile" <<CF
{
	admin off
	persist_config off
	log {
		output discard
	}
}
http://127.0.0.1:18198 {
	respond /profiles "404 page not found" 404
	reverse_proxy 127.0.0.1:18191
}
http://127.0.0.1:18199 {
	respond /posts "404 page not found" 404
	reverse_proxy 127.0.0.1:18192
}
CF
bin/caddy run --config "$work/shim.Caddyfile" >"$work/shim.log" 2>&1 & pids+=($!)
USER_LB_URL=http://127.0.0.1:18191 POST_LB_URL=http://127.0.0.1:18192 PORT=18201 "$work/feed-service" >"$work/feed-batch.log" 2>&1 & pids+=($!)
USER_LB_URL=http://127.0.0.1:18198 POST_LB_URL=http://127.0.0.1:18199 PORT=18202 "$work/feed-service" >"$work/feed-each.log" 2>&1 & pids+=($!)
wait_listening 18101 18102 18103 18104 18191 18192 18198 18199 18201 18202
# /readyz applies each service's schema.
for p in 18101 18103; do
	for _ in $(seq 50); do curl -sf "http://127.0.0.1:$p/readyz" >/dev/null && break; sleep 0.2; done
done

echo "== seed: one caller per friend count, every friend with $posts_each posts"
uuid_of() { printf '00000000-0000-4000-8%03d-%012d' "$1" "$2"; } # uuid_of GROUP INDEX
for f in $friends_list; do
	g=$((f % 1000 + f / 1000)) # a group id per count (1000 -> 1)
	me=$(uuid_of "$g" 0)
	psql -q "$users_dsn" <<SQL
INSERT INTO profiles (uuid, username)
SELECT ('00000000-0000-4000-8' || lpad('$g', 3, '0') || '-' || lpad(i::text, 12, '0'))::uuid, 'user$g-' || i
FROM generate_series(0, $f) AS i;
INSERT INTO friendships (user_uuid, friend_uuid)
SELECT '$me', ('00000000-0000-4000-8' || lpad('$g', 3, '0') || '-' || lpad(i::text, 12, '0'))::uuid
FROM generate_series(1, $f) AS i;
SQL
	psql -q "$posts_dsn" <<SQL
INSERT INTO posts (author_uuid, content, created_at)
SELECT ('00000000-0000-4000-8' || lpad('$g', 3, '0') || '-' || lpad(i::text, 12, '0'))::uuid,
       'post ' || j || ' of friend ' || i, now() - ((i * 7919 + j * 104729) % 86400) * interval '1 second'
FROM generate_series(1, $f) AS i, generate_series(1, $posts_each) AS j;
SQL
done
psql -q "$users_dsn" -c "ANALYZE"
psql -q "$posts_dsn" -c "ANALYZE"

feed_url() { echo "http://127.0.0.1:$([ "$1" = batch ] && echo 18201 || echo 18202)/feed"; }
# Both feed-services must give the same, full feed.
for f in $friends_list; do
	g=$((f % 1000 + f / 1000)) me=$(uuid_of "$g" 0)
	a=$(curl -sf -H "X-User-ID: $me" "$(feed_url batch)") b=$(curl -sf -H "X-User-ID: $me" "$(feed_url each)")
	[ "$a" = "$b" ] || { echo "friends=$f: the batch and per-friend feeds differ" >&2; echo "$a" >&2; echo "$b" >&2; exit 1; }
	[ "$(echo "$a" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 10 ] || { echo "friends=$f: not 10 items: $a" >&2; exit 1; }
done

# hey_pct MODE FRIENDS: p50 and p99 in ms of n sequential feeds.
hey_pct() {
	local g=$(($2 % 1000 + $2 / 1000))
	hey -n "$n" -c 1 -H "X-User-ID: $(uuid_of "$g" 0)" "$(feed_url "$1")" |
		awk '/ 50% in/ {p50=$3*1000} / 99% in/ {p99=$3*1000} /\[200\]/ {ok=$2} END {printf "%.2f %.2f %d\n", p50, p99, ok}'
}
read -ra counts <<<"$friends_list"
for f in "${counts[@]}"; do hey_pct batch "$f" >/dev/null; hey_pct each "$f" >/dev/null; done # warm-up

declare -A p50 p99
echo "== $rounds rounds, $n feeds per measurement (p50 / p99 ms)"
for r in $(seq "$rounds"); do
	line="round $r:"
	k=${#counts[@]}
	for i in $(seq 0 $((k - 1))); do
		f=${counts[$(((i + r) % k))]}
		for mode in batch each; do
			read -r a b ok < <(hey_pct "$mode" "$f")
			[ "$ok" = "$n" ] || { echo "friends=$f $mode: only $ok of $n answered 200" >&2; exit 1; }
			p50[$mode,$f]+="$a " p99[$mode,$f]+="$b "
			line+=" $mode/$f $a/$b"
		done
	done
	echo "$line"
done

# Where a batch feed's time goes: each upstream call alone, straight to one
# service instance (curl, median of 20), for the largest friend count.
last=${counts[-1]}
g=$((last % 1000 + last / 1000)) me=$(uuid_of "$g" 0)
ids=$(for i in $(seq 1 200); do printf '%s,' "$(uuid_of "$g" "$i")"; done)
ten=$(for i in $(seq 1 10); do printf '%s,' "$(uuid_of "$g" "$i")"; done)
call_ms() { for _ in $(seq 20); do curl -s -o /dev/null -w '%{time_total}\n' -H "X-User-ID: $me" "$1"; done | sort -g | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]*1000}'; }
echo
echo "calls of one feed with $last friends, alone (median of 20, ms): GET /friends $(call_ms "http://127.0.0.1:18101/friends");" \
	"GET /posts?authors= (200 friends) $(call_ms "http://127.0.0.1:18103/posts?authors=${ids%,}&limit=10");" \
	"GET /profiles?ids= (10) $(call_ms "http://127.0.0.1:18101/profiles?ids=${ten%,}");" \
	"GET /posts/{id} $(call_ms "http://127.0.0.1:18103/posts/$(uuid_of "$g" 1)?limit=10")"

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
first=${counts[0]}
# shellcheck disable=SC2086
b0=$(median ${p50[batch,$first]})
echo
echo "| friends | batch p50 | batch p99 | per-friend p50 | per-friend p99 | batch p50 vs $first friends | per-friend p50 vs $first friends |"
echo "|---|---|---|---|---|---|---|"
# shellcheck disable=SC2086
e0=$(median ${p50[each,$first]})
for f in "${counts[@]}"; do
	# shellcheck disable=SC2086
	bp50=$(median ${p50[batch,$f]}) bp99=$(median ${p99[batch,$f]}) ep50=$(median ${p50[each,$f]}) ep99=$(median ${p99[each,$f]})
	echo "| $f | $bp50 ms | $bp99 ms | $ep50 ms | $ep99 ms | $(awk -v a="$bp50" -v b="$b0" 'BEGIN {printf "%.2f", a/b}')× | $(awk -v a="$ep50" -v b="$e0" 'BEGIN {printf "%.2f", a/b}')× |"
done
