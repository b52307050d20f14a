#!/usr/bin/env bash
# make k8s-check: every overlay of k8s/ against a real Kubernetes control
# plane on 127.0.0.1 (etcd, kube-apiserver, kube-controller-manager; no
# scheduler, no kubelet, so pods are created but never run):
#   1. each overlay is built (kubectl kustomize) and applied with
#      --dry-run=server --validate=strict --warnings-as-errors: schema,
#      unknown fields, admission (Pod Security `restricted` warns about a
#      workload whose pods it would refuse), all as a real cluster would;
#   2. each overlay is applied for real with the controllers running: each
#      Deployment must get its ReplicaSet and Pods, each StatefulSet its
#      claims and first Pod, each HPA AbleToScale=True, each
#      PodDisruptionBudget, Service and NetworkPolicy must select pods;
#   3. the manifests in k8s/check/broken must all be refused (by the API
#      server or by step 2's checks), else the check fails.
# The processes are stopped on exit, whatever happens.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
start=$(date +%s)
say() { echo "k8s-check: $* [$(($(date +%s) - start))s]"; }
die() { echo "k8s-check: FAIL: $*" >&2; exit 1; }
for tool in openssl jq python3; do command -v $tool >/dev/null || die "$tool is needed"; done

bin=$(k8s/check/build.sh)
export PATH="$bin:$PATH"
say "binaries in $bin"

work=$(mktemp -d "${TMPDIR:-/tmp}/k8s-check.XXXXXX")
pids=()
cleanup() {
	local rc=$? i p
	echo "k8s-check: stopping ${#pids[@]} processes [$(($(date +%s) - start))s]" >&2
	# The last started first (controller-manager, API server, etcd).
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		p=${pids[i]}
		kill "$p" 2>/dev/null || continue
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	echo "k8s-check: stopped [$(($(date +%s) - start))s]" >&2
	if ((rc != 0)); then
		for log in "$work"/*.log; do [ -f "$log" ] && { echo "--- last lines of $log"; tail -n 15 "$log"; }; done
	fi
	rm -rf "$work"
}
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- throwaway PKI: a CA, the API server's certificate, an admin client
# certificate (group system:masters) and the service-account signing key.
(
	cd "$work"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 -subj /CN=k8s-check-ca 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=kube-apiserver 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 1 -extfile server.ext 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=k8s-check-admin" 2>/dev/null
	printf 'extendedKeyUsage=clientAuth\n' >admin.ext
	openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out admin.crt -days 1 -extfile admin.ext 2>/dev/null
	openssl genrsa -out sa.key 2048 2>/dev/null
	openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
)

# --- etcd and kube-apiserver
etcd_port=$(freeport) peer_port=$(freeport) api_port=$(freeport)
etcd --data-dir "$work/etcd" --name check \
	--listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
	--listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
	--initial-cluster "check=http://127.0.0.1:$peer_port" --unsafe-no-fsync --log-level warn >"$work/etcd.log" 2>&1 &
pids+=($!)
# --endpoint-reconciler-type=none: on 127.0.0.1 the reconciler would refuse
# the loopback address for the kubernetes Service's endpoints.
# --allow-privileged: as real clusters, so that Pod Security Admission (not
# this flag) is what refuses privileged pods.
kube-apiserver --etcd-servers "http://127.0.0.1:$etcd_port" \
	--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
	--endpoint-reconciler-type none --allow-privileged \
	--tls-cert-file "$work/server.crt" --tls-private-key-file "$work/server.key" --client-ca-file "$work/ca.crt" \
	--service-account-issuer https://kubernetes.default.svc.cluster.local \
	--service-account-key-file "$work/sa.pub" --service-account-signing-key-file "$work/sa.key" \
	--service-cluster-ip-range 10.96.0.0/16 --authorization-mode RBAC \
	--cert-dir "$work/apiserver-certs" >"$work/kube-apiserver.log" 2>&1 &
pids+=($!)

export KUBECONFIG="$work/kubeconfig"
kubectl config set-cluster check --server "https://127.0.0.1:$api_port" --certificate-authority "$work/ca.crt" --embed-certs >/dev/null
kubectl config set-credentials admin --client-certificate "$work/admin.crt" --client-key "$work/admin.key" --embed-certs >/dev/null
kubectl config set-context check --cluster check --user admin >/dev/null
kubectl config use-context check >/dev/null

for i in $(seq 120); do
	kubectl get --raw /readyz >/dev/null 2>&1 && break
	((i < 120)) || die "kube-apiserver not ready after 60s"
	sleep 0.5
done
say "kube-apiserver $(kubectl version -o json | jq -r .serverVersion.gitVersion) ready on 127.0.0.1:$api_port"

# --- the overlays' secrets: throwaway ones where none exist
overlays=()
for dir in k8s/overlays/*/; do
	overlays+=("$(basename "$dir")")
	k8s/check/gen-secrets.sh "$dir/secrets"
done

# namespace of an overlay: the one its Namespace object names.
namespaces() { jq -r 'select(.kind == "Namespace") | .metadata.name' "$1"; }

# render overlay: kustomize output as a stream of JSON objects.
render() {
	kubectl kustomize "k8s/overlays/$1" >"$work/$1.yaml"
	kubectl create --dry-run=client -o json -f "$work/$1.yaml" | jq -c 'if .kind == "List" then .items[] else . end' >"$work/$1.json"
}

apply_ns() { # create the overlay's namespaces for real, so dry-runs of its objects have them
	jq -c 'select(.kind == "Namespace")' "$1" | kubectl apply --validate=strict --warnings-as-errors -f - >/dev/null
}

# --- 1. server-side dry run, strict, warnings are errors
for o in "${overlays[@]}"; do
	render "$o"
	[ -n "$(namespaces "$work/$o.json")" ] || die "overlay $o has no Namespace"
	apply_ns "$work/$o.json"
	kubectl apply --dry-run=server --validate=strict --warnings-as-errors -f "$work/$o.yaml" >"$work/$o.dry-run" 2>&1 ||
		{ cat "$work/$o.dry-run" >&2; die "overlay $o refused by the API server (dry run)"; }
	say "overlay $o: $(wc -l <"$work/$o.dry-run") objects pass the server-side dry run (strict, no warnings)"
done

# The balancers' config.yaml files and Prometheus's configuration, by the
# programs that read them.
if [ -x bin/caddy ]; then
	for f in k8s/base/balancers/*.yaml; do bin/caddy adapt --config "$f" --adapter lbyaml >/dev/null || die "$f: invalid"; done
	say "balancer configs adapt (bin/caddy, lbyaml)"
fi
if command -v promtool >/dev/null; then
	promtool check config --syntax-only k8s/base/prometheus/prometheus.yml >/dev/null || die "k8s/base/prometheus/prometheus.yml: invalid"
	say "k8s prometheus.yml passes promtool"
fi

# --- 2. applied for real, with the controllers running
kcm_port=$(freeport)
kube-controller-manager --kubeconfig "$KUBECONFIG" --leader-elect=false --use-service-account-credentials=false \
	--bind-address 127.0.0.1 --secure-port "$kcm_port" \
	--authentication-kubeconfig "$KUBECONFIG" --authorization-kubeconfig "$KUBECONFIG" \
	--service-account-private-key-file "$work/sa.key" --root-ca-file "$work/ca.crt" \
	--cluster-signing-cert-file "$work/ca.crt" --cluster-signing-key-file "$work/ca.key" \
	--horizontal-pod-autoscaler-sync-period 2s --controllers '*' >"$work/kube-controller-manager.log" 2>&1 &
pids+=($!)

# selector OBJ: a label selector string (a=b,c in (d,e)) from a
# LabelSelector object or a Service's plain map.
jq_selector='def selector: if has("matchLabels") or has("matchExpressions") then
	[(.matchLabels // {} | to_entries[] | "\(.key)=\(.value)"),
	 (.matchExpressions // [] | .[] |
		if .operator == "In" then "\(.key) in (\(.values | join(",")))"
		elif .operator == "NotIn" then "\(.key) notin (\(.values | join(",")))"
		elif .operator == "Exists" then .key else "!\(.key)" end)] | join(",")
	else to_entries | map("\(.key)=\(.value)") | join(",") end;'

pods_matching() { kubectl get pods -n "$1" -l "$2" -o name | wc -l; }

# check NS: the applied objects of NS do what they should; prints each
# problem as "<Kind> <name> <what>" and returns non-zero if any.
check() {
	local ns=$1 problems=0 name want sel
	# Deployments: a ReplicaSet owned by each, with all its pods created.
	while read -r name want sel; do
		local rs pods
		rs=$(kubectl get rs -n "$ns" -o json | jq --arg d "$name" '[.items[] | select(.metadata.ownerReferences[]? | .kind == "Deployment" and .name == $d)] | length')
		pods=$(pods_matching "$ns" "$sel")
		if ((rs < 1 || pods < want)); then
			echo "Deployment $name has $rs ReplicaSets and $pods of $want pods"
			problems=$((problems + 1))
		fi
	done < <(kubectl get deploy -n "$ns" -o json | jq -r "$jq_selector"' .items[] | "\(.metadata.name) \(.spec.replicas) \(.spec.selector | selector)"')
	# StatefulSets: the first pod and its claims (OrderedReady: the next
	# pod waits for this one to be ready, which needs a kubelet).
	while read -r name templates; do
		kubectl get pod -n "$ns" "$name-0" >/dev/null 2>&1 || { echo "StatefulSet $name has no pod $name-0"; problems=$((problems + 1)); }
		for t in $templates; do
			kubectl get pvc -n "$ns" "$t-$name-0" >/dev/null 2>&1 || { echo "StatefulSet $name has no claim $t-$name-0"; problems=$((problems + 1)); }
		done
	done < <(kubectl get sts -n "$ns" -o json | jq -r '.items[] | "\(.metadata.name) \([.spec.volumeClaimTemplates[]?.metadata.name] | join(" "))"')
	# HPAs: the controller could read the target's scale.
	while read -r name able; do
		[ "$able" = True ] || { echo "HorizontalPodAutoscaler $name is not AbleToScale ($able)"; problems=$((problems + 1)); }
	done < <(kubectl get hpa -n "$ns" -o json | jq -r '.items[] | "\(.metadata.name) \([.status.conditions[]? | select(.type == "AbleToScale") | .status][0] // "no-status-yet")"')
	# PDBs: the disruption controller found pods to protect.
	while read -r name observed expected; do
		if [ "$observed" != true ]; then
			echo "PodDisruptionBudget $name not yet observed by its controller"
			problems=$((problems + 1))
		elif ((expected == 0)); then
			echo "PodDisruptionBudget $name covers no pod"
			problems=$((problems + 1))
		fi
	done < <(kubectl get pdb -n "$ns" -o json | jq -r '.items[] | "\(.metadata.name) \(.status.observedGeneration == .metadata.generation) \(.status.expectedPods // 0)"')
	# Services and NetworkPolicies (the policy's own pods and its peers in
	# this namespace): a selector that matches no pod is a typo.
	while read -r kind name sel; do
		(($(pods_matching "$ns" "$sel") > 0)) || { echo "$kind $name selects no pod ($sel)"; problems=$((problems + 1)); }
	done < <({
		kubectl get svc -n "$ns" -o json | jq -r '.items[] | select(.spec.selector) | "Service \(.metadata.name) \(.spec.selector | to_entries | map("\(.key)=\(.value)") | join(","))"'
		kubectl get netpol -n "$ns" -o json | jq -r "$jq_selector"' .items[] | .metadata.name as $n |
			(.spec.podSelector, (.spec.ingress[]?.from[]?, .spec.egress[]?.to[]? | select(has("podSelector") and (has("namespaceSelector") | not)) | .podSelector))
			| select(. != {}) | "NetworkPolicy \($n) \(selector)"'
	})
	return $((problems > 0))
}

# wait_check NS: check until it passes (controllers need a few seconds),
# for at most 60s; prints the last problems.
wait_check() {
	local out
	for i in $(seq 30); do
		out=$(check "$1") && return 0
		sleep 2
	done
	echo "$out"
	return 1
}

for o in "${overlays[@]}"; do
	kubectl apply --validate=strict --warnings-as-errors -f "$work/$o.yaml" >/dev/null
	for ns in $(namespaces "$work/$o.json"); do
		wait_check "$ns" >"$work/$o.check" || { cat "$work/$o.check" >&2; die "overlay $o: applied objects are not all working"; }
		counts=$(kubectl get deploy,rs,pods,sts,pvc,hpa,pdb,svc,netpol -n "$ns" -o json | jq -r '[.items[].kind] | group_by(.) | map("\(length) \(.[0])") | join(", ")')
		say "overlay $o applied in $ns: $counts"
	done
done

# --- 3. broken manifests must be refused
broken_ns=k8s-check-broken
kubectl create namespace "$broken_ns" >/dev/null
kubectl label namespace "$broken_ns" pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/warn=restricted >/dev/null
for f in k8s/check/broken/*.yaml; do
	if grep -q '^# expect:' "$f"; then
		want=$(sed -n 's/^# expect: //p' "$f")
		if kubectl apply -n "$broken_ns" --dry-run=server --validate=strict --warnings-as-errors -f "$f" >"$work/broken.out" 2>&1; then
			die "$f was accepted by the API server"
		fi
		grep -qF -- "$want" "$work/broken.out" || { cat "$work/broken.out" >&2; die "$f was refused, but not for \"$want\""; }
		say "refused as it should be: $f ($want)"
	else
		kubectl apply -n "$broken_ns" --validate=strict -f "$f" >/dev/null
		# Until the controllers have had their turn, the problems are
		# exactly the expected ones (and nothing else), for at most 60s.
		mapfile -t wants < <(sed -n 's/^# expect-check: //p' "$f")
		for i in $(seq 30); do
			out=$(check "$broken_ns") && die "$f: the check found nothing wrong"
			found=0
			for want in "${wants[@]}"; do grep -qF -- "$want" <<<"$out" && found=$((found + 1)); done
			((found == ${#wants[@]})) && (($(wc -l <<<"$out") == ${#wants[@]})) && break
			((i < 30)) || { echo "$out" >&2; die "$f: the check did not report exactly: ${wants[*]}"; }
			sleep 2
		done
		say "caught as it should be: $f (${#wants[@]} problems: $(tr '\n' ';' <<<"$out"))"
	fi
done

say "PASS: ${#overlays[@]} overlays (${overlays[*]}) valid and working; $(ls k8s/check/broken/*.yaml | wc -l) broken manifests caught"
