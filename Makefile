# Build and test entry points. `make test` is what CI runs.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

CADDY_VERSION ?= v2.11.9
# The plugin module is local and unpublished: this pseudo-version makes Go take
# it from the replacement without asking the module proxy.
CADDY_PLUGIN  := github.com/caddysocial/platform/caddy-modules@v0.0.0-00010101000000-000000000000=./caddy-modules
GO_MODULES    := caddy-modules user-service post-service feed-service
GOTEST_FLAGS  ?= -race -count=1 -timeout 15m
# Each service folder builds on its own, so shared plumbing is copied, not
# imported: user-service holds the source, `make sync-copies` copies it, and
# `make test` fails when a copy has drifted.
COPIES := user-service/internal/httpx:post-service/internal/httpx \
          user-service/internal/httpx:feed-service/internal/httpx \
          user-service/internal/pgservice:post-service/internal/pgservice \
          user-service/internal/apitest:post-service/internal/apitest \
          user-service/internal/pgtest:post-service/internal/pgtest \
          user-service/internal/pgtest:caddy-modules/internal/pgtest
# A copy differs from its source only in the module path of its imports.
NORMALIZE := sed -E 's\#caddysocial/platform/[a-z-]+/internal/\#caddysocial/platform/MODULE/internal/\#g'

.PHONY: all caddy test test-go test-prometheus test-web vet check-copies sync-copies e2e bench-gateway bench-l4lb bench-feed clean

all: caddy

## caddy: ./bin/caddy with all our modules, built by xcaddy (pinned in tools/go.mod)
caddy: bin/caddy
bin/caddy: $(shell find caddy-modules -name '*.go' -o -name '*.sql' -o -name go.mod -o -name go.sum)
	@mkdir -p bin
	go tool xcaddy build $(CADDY_VERSION) --output bin/caddy --with $(CADDY_PLUGIN)
	bin/caddy list-modules --packages | grep -q caddysocial

## test: every unit and integration test of every module (against a throwaway
## PostgreSQL), the Prometheus configuration and recording-rule tests, and the
## web client's JavaScript unit tests (Node's test runner)
test: check-copies vet test-prometheus test-web
	scripts/with-postgres.sh $(MAKE) --no-print-directory test-go

test-prometheus:
	promtool check config prometheus/prometheus.yml
	promtool test rules prometheus/rules_test.yml

test-web:
	node --test tests/web/*.test.mjs

test-go:
	@for m in $(GO_MODULES); do \
		echo "== go test $$m"; \
		(cd $$m && go test $(GOTEST_FLAGS) ./...); \
	done

check-copies:
	@for pair in $(COPIES); do \
		src=$${pair%%:*} dst=$${pair##*:}; \
		[ "$$(ls $$src)" = "$$(ls $$dst)" ] || { echo "$$dst: files differ from $$src (make sync-copies)"; exit 1; }; \
		for f in $$src/*; do \
			cmp -s <($(NORMALIZE) $$f) <($(NORMALIZE) $$dst/$${f##*/}) || { \
				echo "$$dst/$${f##*/} differs from $$f: edit the user-service copy, then make sync-copies"; exit 1; }; \
		done; \
	done

sync-copies:
	@for pair in $(COPIES); do \
		src=$${pair%%:*} dst=$${pair##*:}; \
		rm -rf $$dst && cp -r $$src $$dst && \
		sed -i -E "s#caddysocial/platform/[a-z-]+/internal/#caddysocial/platform/$${dst%%/*}/internal/#g" $$dst/*.go; \
	done

vet:
	@for m in $(GO_MODULES) tests/e2e bench/latprobe; do \
		(cd $$m && go mod tidy -diff >/dev/null || { echo "$$m: go.mod/go.sum not tidy (go mod tidy)"; exit 1; }; \
		 go vet ./... && test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }); done

## e2e: the compose stack end to end (API suite, Locust, Prometheus rules,
## failover, outages); needs Docker, Compose v2, Locust and Go
e2e:
	tests/e2e/run.sh

## bench-gateway: authenticated GET through our gateway vs plain reverse_proxy
bench-gateway: bin/caddy
	bench/gateway.sh

## bench-l4lb: our balancer vs HAProxy vs the direct path
bench-l4lb: bin/caddy
	bench/l4lb.sh

## bench-feed: feed latency for 10, 100 and 500 friends
bench-feed:
	cd feed-service && go test -run '^$$' -bench FeedLatency -benchtime 200x .

clean:
	rm -rf bin
