#!/usr/bin/env bash
# check-group-order.sh TEST_FILE...: fails when a promtool rule test file
# leaves a rule group of its rule_files out of group_eval_order. promtool
# (2.42) evaluates the groups of one evaluation time in Go map order unless
# they are listed, and silently puts unlisted ones first in random order, so
# an alert that reads another group's recorded series passes or fails by
# chance (it sees the series one interval late). Rule files must list groups
# as "  - name: X", the layout of prometheus/*.yml.
set -euo pipefail
bad=0
for t in "$@"; do
	dir=$(dirname "$t")
	rule_files=$(awk '/^rule_files:/ {on=1; next} on && /^  - / {print $2; next} on {exit}' "$t")
	listed=$(awk '/^group_eval_order:/ {on=1; next} on && /^  - / {print $2; next} on {exit}' "$t" | sort)
	groups=$(for f in $rule_files; do awk '/^  - name: / {print $3}' "$dir/$f"; done | sort)
	missing=$(comm -23 <(echo "$groups") <(echo "$listed"))
	if [ -n "$missing" ]; then
		echo "check-group-order: $t: group_eval_order leaves out: $(echo $missing)" >&2
		bad=1
	fi
done
exit $bad
