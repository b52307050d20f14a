#!/usr/bin/env bash
# make e2e: the whole platform, end to end, on this machine.
#  1. docker compose up (tests/e2e/compose.override.yaml publishes on 127.0.0.1 only), wait for health;
#  2. the API suite over HTTPS (tests/e2e, Go; with one feed request traced through Jaeger, VictoriaLogs
#     and exemplars), trusting Caddy's exported root CA, and the web
#     client in headless Chromium (on failure: screenshots and console in tests/e2e/artifacts);
#  3. Locust headless, zero failures allowed;
#  4. the three recording rules return data in Prometheus; every query of every Grafana dashboard
#     (grafana/dashboards) returns data, its exemplars and log lines link to traces in Jaeger (TestDashboards);
#  5. failover under load: one user-service and one post-service stopped, then started again;
#  6. auth-db, VictoriaLogs and Jaeger down and back; the gateway restarted (Go tests TestOutage*);
#  7. teardown, also on failure (then with the containers' logs).
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)

export COMPOSE_PROJECT_NAME=caddy-social-e2e
compose=(docker compose -f docker-compose.yaml -f tests/e2e/compose.override.yaml)
https_port=${E2E_HTTPS_PORT:-8443}
prom="http://127.0.0.1:${E2E_PROMETHEUS_PORT:-19090}"
work=$(mktemp -d)

finish() {
	local rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "== e2e FAILED (exit $rc); containers and their logs:"
		"${compose[@]}" ps -a || true
		"${compose[@]}" logs --no-color --tail=60 || true
	fi
	"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
	rm -rf "$work"
	echo "== e2e: $([ "$rc" -eq 0 ] && echo passed || echo failed) in $(($(date +%s) - start))s"
	exit "$rc"
}
trap finish EXIT

step() { echo; echo "== e2e: $* [$(($(date +%s) - start))s]"; }

# prom QUERY: prints the first sample's value, or nothing.
prom_value() {
	curl -sf --get "$prom/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
# wait_prom QUERY TEST SECONDS: waits until the value satisfies TEST (an awk condition on v).
wait_prom() {
	local q=$1 cond=$2 secs=$3 v=""
	for _ in $(seq "$secs"); do
		v=$(prom_value "$q" || true)
		if [ -n "$v" ] && awk -v v="$v" "BEGIN {exit !($cond)}"; then echo "   $q = $v"; return 0; fi
		sleep 1
	done
	echo "   $q = '${v}', wanted $cond within ${secs}s" >&2
	return 1
}
locust_run() { # locust_run USERS SECONDS
	locust -f locustfile.py --headless -u "$1" -r "$1" -t "$2" --host "https://localhost:$https_port" \
		--ca-cert "$work/root.crt" --only-summary --loglevel WARNING 2>&1 | tail -n 25
}

step "compose: Grafana (no image here) only under the profile dashboards"
# The lists are read whole before grep: `compose ... | grep -q` stops reading
# at the first match, and compose, killed by SIGPIPE while it still writes the
# services after it, fails the pipeline (pipefail; seen as exit 255 once
# valkey changed the order).
plain=$("${compose[@]}" config --services)
with_profile=$("${compose[@]}" --profile dashboards config --services)
if grep -qx grafana <<<"$plain"; then
	echo "grafana is a service of a plain docker compose up: it must be under the profile dashboards" >&2
	exit 1
fi
grep -qx grafana <<<"$with_profile" || { echo "grafana is not a service under the profile dashboards" >&2; exit 1; }

step "build and start the stack"
"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
"${compose[@]}" up -d --build --wait --wait-timeout 300
"${compose[@]}" ps

step "export Caddy's root CA and wait for TLS"
"${compose[@]}" cp gateway:/var/lib/caddy/data/caddy/pki/authorities/local/root.crt "$work/root.crt"
for _ in $(seq 60); do
	code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$work/root.crt" "https://localhost:$https_port/api/feed" || true)
	[ "$code" = 401 ] && break
	sleep 1
done
[ "$code" = 401 ] || { echo "gateway not answering over TLS (last status $code)" >&2; exit 1; }

export E2E_BASE_URL="https://localhost:$https_port" E2E_CA_CERT="$work/root.crt"
export E2E_ARTIFACTS="$PWD/tests/e2e/artifacts"
export E2E_COMPOSE="docker compose -f docker-compose.yaml -f tests/e2e/compose.override.yaml -p $COMPOSE_PROJECT_NAME"

step "API suite and the web client in Chromium"
(cd tests/e2e && go test -count=1 -v -run 'Test[^O]' -skip '^TestDashboards$' . 2>&1 | grep -E '^(=== RUN|--- |PASS|FAIL|ok|\s+\S+_test.go)' )

step "Locust: 20 users for 30s, no failure allowed"
locust_run 20 30s

step "recording rules return data"
wait_prom 'sum(method:gateway_requests:sum)' 'v > 0' 60
wait_prom 'sum(endpoint_method:gateway_requests:rate1m)' 'v > 0' 60
wait_prom 'count(endpoint:gateway_request_latency_seconds:mean1m)' 'v >= 5' 60
# Jaeger's and VictoriaLogs' own metrics are scraped; log shippers report.
wait_prom 'sum(up{job=~"jaeger|victoria-logs"})' 'v == 2' 60
wait_prom 'sum(log_shipper_lines_sent_total)' 'v > 0' 30

step "dashboards: every panel's query on the live data (grafana/dashboards)"
(cd tests/e2e && go test -count=1 -v -run '^TestDashboards$' . 2>&1 | grep -E '^(=== RUN|--- |PASS|FAIL|ok|\s+\S+_test.go)')

step "failover under load: stop user-service-1 and post-service-1"
before=$(prom_value 'sum(l4lb_connections_total{backend="user-service-1:5000"})')
locust_run 20 25s >"$work/locust-failover.txt" &
locust_pid=$!
sleep 5
"${compose[@]}" stop user-service-1 post-service-1
wait "$locust_pid" || true
echo "   during the health-check window (failures allowed):"
grep -E 'Aggregated|FAILED|OK:' "$work/locust-failover.txt" | sed 's/^/   /'
wait_prom 'l4lb_backend_up{backend="user-service-1:5000"}' 'v == 0' 30
wait_prom 'l4lb_backend_up{backend="post-service-1:5000"}' 'v == 0' 30
echo "   after the health-check window (no failure allowed):"
locust_run 20 20s

step "failover: start them again; they receive traffic"
"${compose[@]}" start user-service-1 post-service-1
wait_prom 'l4lb_backend_up{backend="user-service-1:5000"}' 'v == 1' 60
wait_prom 'l4lb_backend_up{backend="post-service-1:5000"}' 'v == 1' 60
# More users than pooled connections: new connections go to the idle backends (leastconn).
locust_run 40 20s
wait_prom "sum(l4lb_connections_total{backend=\"user-service-1:5000\"}) - ${before:-0}" 'v > 0' 30

step "auth-db outage and gateway restart"
(cd tests/e2e && go test -count=1 -v -run 'TestOutage' . 2>&1 | grep -E '^(=== RUN|--- |PASS|FAIL|ok|\s+\S+_test.go)')
