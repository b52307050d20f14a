#!/usr/bin/env bash
# check-versions.sh MODULE_DIR...: fails when two of the modules build a
# shared dependency at different versions. Each module ships alone (its own
# go.mod decides), so without this check one module could be tested and
# shipped with a version another module never saw. Only modules that provide
# packages to a build or a test count (go list -deps -test), not the whole
# pruned module graph. Fix a finding with `go get MODULE@VERSION` (the
# newest of the versions listed) in the modules that lag, then go mod tidy.
set -euo pipefail
cd "$(dirname "$0")/.."
for m in "$@"; do
	(cd "$m" && GOWORK=off go list -deps -test \
		-f '{{with .Module}}{{if not .Main}}{{if not .Replace}}{{.Path}} {{.Version}}{{end}}{{end}}{{end}}' ./... |
		sort -u | sed "s|\$| $m|")
done | awk '
	{ key = $1 SUBSEP $2; if (!(key in seen)) { seen[key] = 1; n[$1]++ } where[key] = where[key] " " $3 }
	END {
		bad = 0
		for (key in where) {
			split(key, k, SUBSEP)
			if (n[k[1]] > 1) { printf "%s %s used by%s\n", k[1], k[2], where[key]; bad = 1 }
		}
		if (bad) { print "check-versions: modules disagree on the versions above" > "/dev/stderr"; exit 1 }
	}'
