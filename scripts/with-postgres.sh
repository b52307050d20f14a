#!/usr/bin/env bash
# Runs "$@" with a throwaway PostgreSQL cluster and TEST_DATABASE_URL pointing
# at it; the cluster is stopped and deleted afterwards, whatever "$@" returns.
# If TEST_DATABASE_URL is already set, "$@" runs against that server instead.
# Needs Debian's postgresql package (apt-get install postgresql).
set -euo pipefail

if [ -n "${TEST_DATABASE_URL:-}" ]; then exec "$@"; fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
	echo "with-postgres: no PostgreSQL server found under /usr/lib/postgresql (apt-get install postgresql)" >&2
	exit 1
fi

dir=$(mktemp -d /tmp/pgtest.XXXXXX)
as_owner=()
if [ "$(id -u)" = 0 ]; then
	# PostgreSQL refuses to run as root.
	chown postgres: "$dir"
	# From /: the postgres user may not be allowed into the caller's directory.
	as_owner=(env -C / runuser -u postgres --)
fi

# Below Linux's ephemeral range (32768-60999): a port in it can be held by an
# outgoing connection, or its TIME_WAIT, that no listener probe sees.
port=25432

cleanup() {
	"${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT

"${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1 ||
	{ cat "$dir/initdb.log" >&2; exit 1; }
# The next port when one is taken (another cluster, another test run).
started=
for _ in 1 2 3 4 5 6 7 8; do
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		rm -f "$dir/server.log"
		if "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
			-o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" >/dev/null; then
			started=1
			break
		fi
		grep -q "Address already in use" "$dir/server.log" || break
	fi
	port=$((port + 1))
done
[ -n "$started" ] || { echo "with-postgres: PostgreSQL did not start (last port $port)" >&2; cat "$dir/server.log" >&2 2>/dev/null; exit 1; }

export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
echo "with-postgres: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
"$@"
