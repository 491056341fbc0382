# bench/lib.sh: what bench/run.sh and bench/ab.sh share. Sourced, not run;
# the caller sets BIN, where banbench is, and keeps the pids of what it
# starts in the array PIDS.

# stop_pids: TERM every process in PIDS, wait for each, and forget them.
stop_pids() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	PIDS=()
}

# ready SOCKET PID: wait until a ping is answered, or fail if PID has died.
# Readiness only: no figure depends on how long this takes.
ready() {
	local sock=$1 pid=${2:-} i
	for ((i = 0; i < 300; i++)); do
		if "$BIN/banbench" -socket "$sock" -clients 1 -cmd ping -n 1 -json 2>/dev/null | grep -q '"ok":1,'; then
			return 0
		fi
		if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.1
	done
	return 1
}

# attempt_config SOCKET LEVEL: the banserver config of the request-path
# workloads: a jail "api" whose maxretry is banserver's limit
# (jail.MaxRetryLimit, 1000), far above the dozen attempts an address gets
# here, so attempts never turn into bans and every workload measures the
# attempt path (bench/bench_test.go's bannerConfig is the same jail).
attempt_config() {
	cat <<EOF
socket:
  path: $1
  mode: "0600"
log:
  level: $2
jails:
  - name: api
    maxretry: 1000
    findtime: 30m
    bantime: 1h
    actions: []
EOF
}
