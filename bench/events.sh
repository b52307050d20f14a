#!/usr/bin/env bash
# Event latencies on the compose stack under Locust load (docs/EVENTS.md):
# post → a friend's live feed (SSE) p50/p99, and account deletion → its last
# eventual effect p50/p99 (tests/e2e BenchmarkEventLatency); then the outbox
# relay's events/s against publishing directly (svckit/events BenchmarkRelay,
# embedded NATS and a throwaway PostgreSQL, both variants in the same run).
# Usage (the stack is heavy: take the lock):
#   flock /tmp/heavy.lock bench/events.sh [locust users] [samples]
# Needs Docker with Compose v2, Locust, Go, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-20}
samples=${2:-50}
export COMPOSE_PROJECT_NAME=caddy-social-e2e
compose=(docker compose -f docker-compose.yaml -f tests/e2e/compose.override.yaml)
https_port=${E2E_HTTPS_PORT:-8443}
work=$(mktemp -d)
locust_pid=""
finish() {
	[ -n "$locust_pid" ] && kill "$locust_pid" 2>/dev/null || true
	"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap finish EXIT

echo "== start the stack"
"${compose[@]}" up -d --build --wait --wait-timeout 300 >/dev/null
"${compose[@]}" cp gateway:/var/lib/caddy/data/caddy/pki/authorities/local/root.crt "$work/root.crt"
for _ in $(seq 60); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$work/root.crt" "https://localhost:$https_port/api/feed" || true)" = 401 ] && break
	sleep 1
done

echo "== Locust: $users users in the background"
locust -f locustfile.py --headless -u "$users" -r "$users" -t 15m --host "https://localhost:$https_port" \
	--ca-cert "$work/root.crt" --only-summary --loglevel WARNING >"$work/locust.txt" 2>&1 &
locust_pid=$!
sleep 15

echo "== event latencies under that load ($samples samples each)"
(cd tests/e2e && E2E_BASE_URL="https://localhost:$https_port" E2E_CA_CERT="$work/root.crt" EVENTS_SAMPLES="$samples" \
	GOWORK=off go test -run '^$' -bench EventLatency -benchtime 1x -timeout 15m -v . | grep -E 'Benchmark|p50|ok|FAIL')
kill "$locust_pid" 2>/dev/null || true
wait "$locust_pid" 2>/dev/null || true
locust_pid=""
grep -E 'Aggregated|OK:|FAILED' "$work/locust.txt" | sed 's/^/   locust: /' || true

echo "== relay vs direct publish"
(cd svckit && GOWORK=off ../scripts/with-postgres.sh go test -run '^$' -bench Relay -benchtime 3x ./events | grep Benchmark)
