#!/usr/bin/env bash
# fuzz_test.sh: tests of scripts/fuzz.sh. A finding fails the run; a clean
# run passes; only Go's bare coordinator deadline (golang/go#75804) is
# forgiven, never a failure with a message of the target or a second failure.
set -euo pipefail
cd "$(dirname "$0")"
source ./fuzz.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "fuzz_test: $*" >&2; exit 1; }

# The log of a real run that failed this way (CI, Go 1.26.8).
cat >"$tmp/deadline.log" <<'LOG'
fuzz: elapsed: 3s, execs: 12424 (0/sec), new interesting: 0 (total: 287)
--- FAIL: FuzzVerify (3.19s)
    context deadline exceeded
FAIL
exit status 1
FAIL	github.com/caddysocial/platform/caddy-modules/tokens	3.207s
LOG
coordinator_deadline_only "$tmp/deadline.log" FuzzVerify || fail "the coordinator deadline was not recognised"
! coordinator_deadline_only "$tmp/deadline.log" FuzzOther || fail "another target's deadline was forgiven"
printf -- '--- FAIL: FuzzVerify (3.2s)\n    context deadline exceeded\n    fuzzing process hung or terminated unexpectedly: exit status 2\nFAIL\n' >"$tmp/hung.log"
! coordinator_deadline_only "$tmp/hung.log" FuzzVerify || fail "a hung worker was forgiven"

# A real module: one target that finds its failing input at once, one that
# cannot fail.
mkdir "$tmp/m"
printf 'module fuzztest\n\ngo 1.26\n' >"$tmp/m/go.mod"
cat >"$tmp/m/m_test.go" <<'GO'
package fuzztest

import "testing"

func FuzzFinds(f *testing.F) {
	f.Add("seed")
	f.Fuzz(func(t *testing.T, s string) {
		if s != "seed" {
			t.Fatalf("input %q", s)
		}
	})
}

func FuzzClean(f *testing.F) {
	f.Add(1)
	f.Fuzz(func(t *testing.T, n int) {})
}
GO
(fuzz_one 1s "$tmp/m" FuzzClean >"$tmp/clean.log" 2>&1) || { cat "$tmp/clean.log"; fail "a clean run failed"; }
! (fuzz_one 1s "$tmp/m" FuzzFinds >"$tmp/finds.log" 2>&1) || { cat "$tmp/finds.log"; fail "a finding passed"; }
ls "$tmp/m/testdata/fuzz/FuzzFinds/"* >/dev/null 2>&1 || fail "no failing input saved"
echo "fuzz_test: ok"
