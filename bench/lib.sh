# Shared by the balancer benchmarks (source it; the caller sets work and pids).

# http_backend CADDY PORT: a Caddy answering "ok" on 127.0.0.1:PORT, in the
# background (its pid is added to pids).
http_backend() {
	cat >"$work/backend-$2.Caddyfile" <<CF
{
	admin off
	persist_config off
	log {
		output discard
	}
}
http://127.0.0.1:$2 {
	respond "ok"
}
CF
	"$1" run --config "$work/backend-$2.Caddyfile" >/dev/null 2>&1 & pids+=($!)
}

# wait_listening PORT...: waits up to 10 s for something to accept on each
# port; fails with the logs in $work otherwise.
wait_listening() {
	local port
	for port in "$@"; do
		for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "nothing listens on $port; logs:" >&2
			tail -n 5 "$work"/*.log >&2
			return 1
		fi
	done
}
