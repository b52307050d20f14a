#!/usr/bin/env bash
# Builds (once) the pinned etcd, kube-apiserver, kube-controller-manager and
# kubectl that k8s/check/run.sh starts, into a cache directory outside the
# repository, and prints that directory. The directory's name holds a hash of
# the two go.mod files, so changing a pinned version builds anew and an
# unchanged pin reuses the binaries (a cold build takes ~6 min on 2 cores).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
key=$(cat "$here/kube/go.mod" "$here/kube/go.sum" "$here/etcd/go.mod" "$here/etcd/go.sum" | sha256sum | cut -c1-12)
kube_version=$(sed -nE 's,^\s*(require\s+)?k8s\.io/kubernetes\s+(v[^ ]+).*,\2,p' "$here/kube/go.mod")
dir=${K8S_CHECK_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/caddy-social/k8s-$kube_version-$key}
bins=(etcd kube-apiserver kube-controller-manager kubectl)

missing=()
for b in "${bins[@]}"; do [ -x "$dir/$b" ] || missing+=("$b"); done
if ((${#missing[@]})); then
	mkdir -p "$dir"
	# Build into a temporary directory and move into place, so an
	# interrupted build never leaves a half-written binary in the cache.
	tmp=$(mktemp -d "$dir/.build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	major=${kube_version#v}; minor=${major#*.}; major=${major%%.*}; minor=${minor%%.*}
	ldflags="-s -w"
	for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $p.gitVersion=$kube_version -X $p.gitMajor=$major -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
	done
	for b in "${missing[@]}"; do
		echo "k8s-check: building $b (cached in $dir)" >&2
		start=$(date +%s)
		case $b in
		etcd) (cd "$here/etcd" && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3) ;;
		*) (cd "$here/kube" && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/$b" "k8s.io/kubernetes/cmd/$b") ;;
		esac
		mv "$tmp/$b" "$dir/$b"
		echo "k8s-check: built $b in $(($(date +%s) - start))s" >&2
	done
fi
echo "$dir"
