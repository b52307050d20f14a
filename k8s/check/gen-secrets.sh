#!/usr/bin/env bash
# Writes random secret files for an overlay's secretGenerator into DIR
# (k8s/overlays/<name>/secrets), keeping any that exist:
#   <db>-password  a PostgreSQL password (hex: safe inside a DSN)
#   jwt_keys       the gateway's JWT key file, one "<id> <secret>" line
#   grafana-admin-password  Grafana's admin password (k8s/components/dashboards)
set -euo pipefail
dir=${1:?usage: gen-secrets.sh DIR}
mkdir -p "$dir"
chmod 700 "$dir"
umask 077
for db in auth-db user-db post-db; do
	[ -s "$dir/$db-password" ] || openssl rand -hex 24 | tr -d '\n' >"$dir/$db-password"
done
[ -s "$dir/grafana-admin-password" ] || openssl rand -hex 16 | tr -d '\n' >"$dir/grafana-admin-password"
if [ ! -s "$dir/jwt_keys" ]; then
	secret=$(openssl rand -hex 32)
	# The id is the secret's SHA-256 prefix, as compose's jwt-secret writes it.
	printf '%s %s\n' "$(printf '%s' "$secret" | sha256sum | cut -c1-16)" "$secret" >"$dir/jwt_keys"
fi
