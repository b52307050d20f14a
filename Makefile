# Build and test entry points. `make test` is what CI runs.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

CADDY_VERSION ?= v2.11.9
# caddy-l4 is served at exactly this version (no version = refused).
CADDY_L4      := github.com/mholt/caddy-l4@v0.1.2
# The plugin module is local and unpublished: this pseudo-version makes Go take
# it from the replacement without asking the module proxy.
CADDY_PLUGIN  := github.com/caddysocial/platform/caddy-modules@v0.0.0-00010101000000-000000000000=./caddy-modules
# The plugin requires the shared svckit module through a replace directive,
# which xcaddy's generated main module does not inherit: it gets its own.
SVCKIT_REPLACE := github.com/caddysocial/platform/svckit=./svckit
GO_MODULES    := svckit caddy-modules user-service post-service feed-service grafana
GOTEST_FLAGS  ?= -race -count=1 -timeout 15m
# Every fuzz test runs its seed corpus (testdata/fuzz) with the tests, then
# this long on random input.
FUZZTIME      ?= 3s

.PHONY: all caddy dashboards test test-composition test-go test-prometheus test-fuzz test-web vet e2e k8s-check bench-gateway bench-l4lb bench-feed bench-platform bench-services bench-events clean

all: caddy

## caddy: ./bin/caddy with all our modules, built by xcaddy (pinned in tools/go.mod)
caddy: bin/caddy
bin/caddy: $(shell find caddy-modules svckit -name '*.go' -o -name '*.sql' -o -name go.mod -o -name go.sum)
	@mkdir -p bin
	go tool xcaddy build $(CADDY_VERSION) --output bin/caddy --with $(CADDY_L4) --with $(CADDY_PLUGIN) --replace $(SVCKIT_REPLACE)
	@# grep without -q reads all input: -q exits at the first match and the
	@# writer dies of SIGPIPE, which pipefail turns into a failure (exit 141).
	bin/caddy list-modules | grep '^layer4.handlers.caddysocial_balancer$$' >/dev/null

## dashboards: grafana/dashboards/*.json from the Go code in grafana/
## (Grafana Foundation SDK; docs/dashboards.md). The tests fail when the
## committed JSON differs from what the code generates.
dashboards:
	cd grafana && GOWORK=off go run . -out dashboards

## test: every unit and integration test of every module (against a throwaway
## PostgreSQL), each fuzz test for $(FUZZTIME), the Prometheus configuration
## and recording-rule tests, and the web client's JavaScript unit tests (Node's
## test runner)
test: vet test-prometheus test-web test-composition
	scripts/with-postgres.sh $(MAKE) --no-print-directory test-go test-fuzz

## test-composition: a Caddy built with our plugin and a third-party HTTP handler
## plugin that registers http.handlers.rate_limit and the rate_limit directive
## (a stand-in for caddy-ratelimit, which the module proxy does not serve) runs a
## Caddyfile using both, and both answer (scripts/test-composition.sh). xcaddy
## compiles in the shared Go build cache, so after `make caddy` this is quick.
COMPOSITION_STANDIN := example.com/caddy-ratelimit-standin@v0.0.0-00010101000000-000000000000=./caddy-modules/testdata/composition/ratelimitstandin
test-composition:
	@mkdir -p bin
	go tool xcaddy build $(CADDY_VERSION) --output bin/caddy-composition --with $(CADDY_L4) --with $(CADDY_PLUGIN) --replace $(SVCKIT_REPLACE) --with $(COMPOSITION_STANDIN)
	scripts/test-composition.sh bin/caddy-composition

test-prometheus:
	promtool check config prometheus/prometheus.yml
	scripts/check-group-order.sh prometheus/rules_test.yml prometheus/alerts_test.yml
	promtool test rules prometheus/rules_test.yml prometheus/alerts_test.yml

test-web:
	node --test tests/web/*.test.mjs

# GOWORK=off: each module is tested with exactly the dependency versions its
# go.mod selects, which are the ones its image is built with.
test-go:
	@for m in $(GO_MODULES); do \
		echo "== go test $$m"; \
		(cd $$m && GOWORK=off go test $(GOTEST_FLAGS) ./...); \
	done

# Each Fuzz* target alone, FUZZTIME long (scripts/fuzz.sh, whose own tests
# run first).
test-fuzz:
	scripts/fuzz_test.sh
	scripts/fuzz.sh $(FUZZTIME) $(GO_MODULES)

# Tidy, vetted, formatted; and one version of each shared dependency across
# the modules (scripts/check-versions.sh), since each ships alone.
vet:
	@for m in $(GO_MODULES) tests/e2e bench/latprobe; do \
		(cd $$m && GOWORK=off go mod tidy -diff >/dev/null || { echo "$$m: go.mod/go.sum not tidy (go mod tidy)"; exit 1; }; \
		 GOWORK=off go vet ./... && test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }); done
	scripts/check-versions.sh $(GO_MODULES) tests/e2e bench/latprobe
	@# macOS users build the plugin too: no Linux-only code outside _linux files.
	cd caddy-modules && GOWORK=off GOOS=darwin go vet ./...
	@# Every relative link and #anchor of the docs resolves.
	python3 scripts/check-doc-links.py README.md docs/*.md */README.md

## e2e: the compose stack end to end (API suite, Locust, Prometheus rules,
## failover, outages); needs Docker, Compose v2, Locust and Go
e2e:
	tests/e2e/run.sh

## k8s-check: every k8s/ overlay against a real kube-apiserver and
## kube-controller-manager on 127.0.0.1 (server-side dry run, strict; then
## applied for real), and the broken manifests of k8s/check/broken refused.
## The first run builds the pinned binaries (~6 min), later runs reuse them.
k8s-check: bin/caddy
	k8s/check/run.sh

## bench-gateway: authenticated GET through our gateway vs plain reverse_proxy
bench-gateway: bin/caddy
	bench/gateway.sh

## bench-l4lb: our balancer vs HAProxy vs the direct path
bench-l4lb: bin/caddy
	bench/l4lb.sh

## bench-feed: feed latency for 10 to 1,000 friends on the real services and
## PostgreSQL through our balancers, batch endpoints vs per-friend calls
bench-feed: bin/caddy
	bench/feed.sh

## bench-platform: the compose stack's request path (gateway, user-lb,
## user-service) side by side; run it under flock /tmp/heavy.lock
bench-platform:
	BENCH_DOC=docs/BENCHMARKS.md bench/platform.sh

## bench-services: one user-service and one post-service instance (CPU
## limited), main's build vs this tree's, GET and POST at 1-128 connections,
## from inside the compose network; locks as the script's header says
bench-services:
	flock /tmp/compose.lock flock /tmp/heavy.lock bench/services.sh

## bench-events: event latencies under Locust load, and the outbox relay vs
## direct publishing (docs/BENCHMARKS.md); runs the compose stack
bench-events:
	bench/events.sh

clean:
	rm -rf bin
