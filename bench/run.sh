#!/usr/bin/env bash
# bench/run.sh: the throughput comparison behind `make bench`.
#
# Builds banfloor, banbench and banserver into a temp dir, then runs the same
# workloads against three servers on Unix sockets under that dir:
#   floor      cmd/banfloor, frames and answers a constant: the machine's limit
#   banserver  cmd/banserver --db none, a jail "api" that never bans on attempts
#   fail2ban   fail2ban-server --async (when installed), jail "api" added over
#              its socket, the same maxretry/findtime/bantime
# prints a table and writes bench/results.md. Every process it starts is
# stopped on exit (trap); every run is bounded by a request count and a
# duration, so the script ends by itself (a few minutes on 2 cores).
#
# Environment knobs:
#   N_OURS=100000  requests per workload and round for floor and banserver
#   N_F2B=20000    requests per workload and round for fail2ban (about 8,000/s)
#   ROUNDS=3       rounds of every workload; the table shows each cell's
#                  median-rate round, which a shared machine needs
#   MAX_RUN=20s    wall-time cap on any one workload
#   POOL=50000     distinct addresses (IPv4 documentation ranges, then 2001:db8::/32);
#                  below banserver's default cap on tracked addresses (100,000),
#                  so the attempt path is measured without eviction
#   LOGLEVEL=info  log level for both daemons (info is what both ship with;
#                  fail2ban logs every attempt at info)
#   OUT=bench/results.md
#   REGEX_LINES=1000000  lines per log for bench/regex.sh (banctl regex beside
#                  fail2ban-regex, a few minutes); 0 skips it
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
N_OURS=${N_OURS:-100000}
N_F2B=${N_F2B:-20000}
ROUNDS=${ROUNDS:-3}
MAX_RUN=${MAX_RUN:-20s}
POOL=${POOL:-50000}
WARMUP=${WARMUP:-2000}
LOGLEVEL=${LOGLEVEL:-info}
OUT=${OUT:-$ROOT/bench/results.md}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/banbench.XXXXXX")
BENCH_START=$SECONDS
BIN=$TMP/bin
mkdir -p "$BIN" "$TMP/out"

# PIDS holds every process this script started; F2B_PIDFILE the daemonised
# fail2ban-server's, whose pid only its pidfile knows.
PIDS=()
F2B_PIDFILE=""
F2B_SOCK=""
# KERNEL_NS is the network namespace the kernel measure made, if still there.
KERNEL_NS=""

cleanup() {
	stop_pids
	stop_fail2ban
	if [[ -s $TMP/f2bk.pid ]]; then
		kill "$(cat "$TMP/f2bk.pid")" 2>/dev/null || true
	fi
	if [[ -n $KERNEL_NS ]]; then
		ip netns del "$KERNEL_NS" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { printf '%s\n' "$*" >&2; }


# ---------------------------------------------------------------- build

log "building into $BIN"
(cd "$ROOT" && go build -o "$BIN/" ./cmd/banfloor ./cmd/banbench)
HAVE_BANSERVER=1
if ! (cd "$ROOT" && go build -o "$BIN/banserver" ./cmd/banserver) 2>"$TMP/banserver-build.log"; then
	HAVE_BANSERVER=0
	log "banserver does not build yet (see below); its columns will read n/a"
	sed 's/^/    /' "$TMP/banserver-build.log" | head -20 >&2
fi
HAVE_F2B=0
if command -v fail2ban-server >/dev/null && command -v fail2ban-client >/dev/null; then
	HAVE_F2B=1
else
	log "fail2ban-server not installed; its columns will read n/a"
fi

# ---------------------------------------------------------------- servers

# start_daemon SOCKET CONFIG DB LOG: start banserver with CONFIG and --db DB,
# its stderr in $TMP/LOG.log, and wait until SOCKET answers; DAEMON_PID is
# its pid, stopped on exit. It fails when the daemon does not come up;
# not_started LOG then says why.
start_daemon() {
	"$BIN/banserver" --config "$2" --db "$3" 2>"$TMP/$4.log" &
	DAEMON_PID=$!
	PIDS+=("$DAEMON_PID")
	ready "$1" "$DAEMON_PID"
}

# not_started LOG: the table cell of a measure whose daemon did not come up.
not_started() { echo "n/a (banserver did not start: $(tail -1 "$TMP/$1.log"))"; }

# stop_pid PID: stop one server this script started.
stop_pid() {
	local pid=$1 p keep=()
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for p in "${PIDS[@]}"; do
		[[ $p == "$pid" ]] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

start_floor() {
	SOCK=$TMP/floor.sock
	"$BIN/banfloor" -socket "$SOCK" 2>"$TMP/floor.log" &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	ready "$SOCK" "$SERVER_PID"
}

start_banserver() {
	SOCK=$TMP/ban.sock
	attempt_config "$SOCK" "$LOGLEVEL" >"$TMP/banserver.yaml"
	"$BIN/banserver" --config "$TMP/banserver.yaml" --socket "$SOCK" --db none 2>"$TMP/banserver.log" &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	if ! ready "$SOCK" "$SERVER_PID"; then
		log "banserver did not come up:"
		sed 's/^/    /' "$TMP/banserver.log" | tail -20 >&2
		return 1
	fi
}

start_fail2ban() {
	SOCK=$TMP/f2b.sock
	F2B_SOCK=$SOCK
	F2B_PIDFILE=$TMP/f2b.pid
	# --async: no configuration read; -b daemonises, so its pid comes from
	# the pidfile; logs go to a file in the temp dir, not syslog.
	fail2ban-server --async -x -b -s "$SOCK" -p "$F2B_PIDFILE" \
		--logtarget "$TMP/f2b.log" --loglevel "${LOGLEVEL^^}" >/dev/null 2>&1
	SERVER_PID=""
	ready "$SOCK" || return 1
	SERVER_PID=$(cat "$F2B_PIDFILE")
	local c=(fail2ban-client -s "$SOCK")
	"${c[@]}" add api polling >/dev/null
	"${c[@]}" set api maxretry 1000 >/dev/null
	"${c[@]}" set api findtime 1800 >/dev/null
	"${c[@]}" set api bantime 3600 >/dev/null
	"${c[@]}" start api >/dev/null
}

stop_fail2ban() {
	[[ -n $F2B_PIDFILE ]] || return 0
	if [[ -S $F2B_SOCK ]]; then
		timeout 10 fail2ban-client -s "$F2B_SOCK" stop >/dev/null 2>&1 || true
	fi
	local pid
	if [[ -f $F2B_PIDFILE ]] && pid=$(cat "$F2B_PIDFILE" 2>/dev/null) && [[ -n $pid ]]; then
		kill -TERM "$pid" 2>/dev/null || true
	fi
	F2B_PIDFILE=""
}

# ---------------------------------------------------------------- workloads

# name|banbench flags
WORKLOADS=(
	"attempt x8 persistent|-cmd attempt -clients 8 -mode persistent"
	"attempt x1 persistent|-cmd attempt -clients 1 -mode persistent"
	"attempt x64 connect|-cmd attempt -clients 64 -mode connect"
	"ping x8 persistent|-cmd ping -clients 8 -mode persistent"
)

# run_one SERVER SOCKET N I R: workload I, round R, against one server;
# JSON into out/SERVER.I.R.json.
run_one() {
	local server=$1 sock=$2 n=$3 i=$4 r=$5 name flags pid c0 c1
	name=${WORKLOADS[$i]%%|*}
	flags=${WORKLOADS[$i]#*|}
	pid=${SERVER_PIDS[$server]:-}
	log "  round $r, $name: $server ($n requests, at most $MAX_RUN)"
	c0=$(cpu_ticks "$pid")
	# shellcheck disable=SC2086 # flags are words on purpose
	"$BIN/banbench" -socket "$sock" $flags -jail api -pool "$POOL" \
		-n "$n" -duration "$MAX_RUN" -warmup "$WARMUP" -json -label "$server" \
		>"$TMP/out/$server.$i.$r.json" 2>>"$TMP/out/$server.err" || true
	c1=$(cpu_ticks "$pid")
	# The server's CPU time over the run (warm-up included, as the
	# requests are), in clock ticks, beside its JSON.
	if [[ -n $c0 && -n $c1 ]]; then echo $((c1 - c0)) >"$TMP/out/$server.$i.$r.cpu"; fi
}

# cpu_ticks PID: the process's user and system CPU time so far, in clock
# ticks (empty without a pid).
cpu_ticks() {
	[[ -n $1 && -r /proc/$1/stat ]] || return 0
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
declare -A SERVER_PIDS=()

# pick_median SERVER I: copy the round with the median rate to
# out/SERVER.I.json, the file the table reads.
pick_median() {
	local server=$1 i=$2 f rates=()
	for f in "$TMP/out/$server.$i".*.json; do
		[[ -s $f ]] || continue
		rates+=("$(sed -n 's/.*"rate":\([0-9.e+-]*\).*/\1/p' "$f") $f")
	done
	((${#rates[@]})) || return 0
	f=$(printf '%s\n' "${rates[@]}" | sort -g | sed -n "$(((${#rates[@]} + 1) / 2))p" | cut -d' ' -f2-)
	cp "$f" "$TMP/out/$server.$i.json"
	if [[ -s ${f%.json}.cpu ]]; then cp "${f%.json}.cpu" "$TMP/out/$server.$i.cpu"; fi
}

# All servers stay up for the whole run and every workload visits them back
# to back: idle servers cost nothing, and whatever else loads the machine
# (a shared 2-core box) then weighs on the three columns alike instead of
# on whichever server happened to run during a compile.
log "starting servers"
start_floor
FLOOR_SOCK=$SOCK
SERVER_PIDS[floor]=$SERVER_PID
BAN_SOCK=""
if ((HAVE_BANSERVER)); then
	if start_banserver; then
		BAN_SOCK=$SOCK
		SERVER_PIDS[banserver]=$SERVER_PID
	else
		HAVE_BANSERVER=0
	fi
fi
if ((HAVE_F2B)); then
	if ! start_fail2ban; then
		log "fail2ban-server did not come up"
		HAVE_F2B=0
	else
		SERVER_PIDS[fail2ban]=$SERVER_PID
	fi
fi

for ((r = 1; r <= ROUNDS; r++)); do
	for i in "${!WORKLOADS[@]}"; do
		run_one floor "$FLOOR_SOCK" "$N_OURS" "$i" "$r"
		if ((HAVE_BANSERVER)); then run_one banserver "$BAN_SOCK" "$N_OURS" "$i" "$r"; fi
		if ((HAVE_F2B)); then run_one fail2ban "$F2B_SOCK" "$N_F2B" "$i" "$r"; fi
	done
done
for i in "${!WORKLOADS[@]}"; do
	for s in floor banserver fail2ban; do
		pick_median "$s" "$i"
	done
done

for pid in "${PIDS[@]}"; do
	stop_pid "$pid"
done
stop_fail2ban

# ---------------------------------------------------------------- table

# field SERVER I KEY: a number from a result's JSON, or empty.
field() {
	local f=$TMP/out/$1.$2.json
	[[ -s $f ]] || return 0
	sed -n "s/.*\"$3\":\([0-9.e+-]*\).*/\1/p" "$f"
}

rate() { local r; r=$(field "$@" rate); [[ -n $r ]] && printf '%.0f/s' "$r" || printf 'n/a'; }

# cpu_per SERVER I: the server's CPU time per request in the median round
# (its ticks over the requests banbench sent, warm-up included).
cpu_per() {
	local f=$TMP/out/$1.$2.cpu req
	req=$(field "$1" "$2" requests)
	if [[ -s $f && -n $req ]]; then
		awk -v t="$(cat "$f")" -v n="$req" -v w="$WARMUP" -v hz="$(getconf CLK_TCK)" \
			'BEGIN { if (n + w > 0) printf "%.1fµs", t * 1e6 / hz / (n + w); else printf "n/a" }'
	else
		printf 'n/a'
	fi
}

ratio() {
	local a b
	a=$(field "$1" "$3" rate)
	b=$(field "$2" "$3" rate)
	if [[ -n $a && -n $b ]]; then
		awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "n/a" }'
	else
		printf 'n/a'
	fi
}

latency() {
	local p50 p99
	p50=$(field "$1" "$2" p50_ns)
	p99=$(field "$1" "$2" p99_ns)
	if [[ -n $p50 && -n $p99 ]]; then
		awk -v a="$p50" -v b="$p99" 'BEGIN { printf "%.0fµs / %.0fµs", a / 1000, b / 1000 }'
	else
		printf 'n/a'
	fi
}

# refused I: refused connects per server, plus failures of any other kind.
refused() {
	local s out="" r e
	for s in floor banserver fail2ban; do
		r=$(field "$s" "$1" refused)
		e=$(field "$s" "$1" io_errors)
		local x
		x=$(field "$s" "$1" error_replies)
		if [[ -z $r ]]; then
			out+="n/a"
		else
			out+="$r"
			if ((e + x > 0)); then out+=" (+$((e + x)) err)"; fi
		fi
		[[ $s == fail2ban ]] || out+=" / "
	done
	printf '%s' "$out"
}

TABLE=$TMP/table.md
{
	echo "| workload | floor rate | banserver rate | fail2ban rate | banserver/floor | banserver/fail2ban | banserver p50 / p99 | refused (floor / banserver / fail2ban) | server CPU per request (floor / banserver) |"
	echo "|---|---:|---:|---:|---:|---:|---:|---|---:|"
	for i in "${!WORKLOADS[@]}"; do
		name=${WORKLOADS[$i]%%|*}
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s |\n' "$name" \
			"$(rate floor "$i")" "$(rate banserver "$i")" "$(rate fail2ban "$i")" \
			"$(ratio banserver floor "$i")" "$(ratio banserver fail2ban "$i")" \
			"$(latency banserver "$i")" "$(refused "$i")" "$(cpu_per floor "$i")" "$(cpu_per banserver "$i")"
	done
} >"$TABLE"

# ---------------------------------------------------------------- placeholders
# Later work fills these in; each prints one table row. Keep the names: the
# results file's readers look for these rows.

# bench_bans_into_kernel: bans/s from banip over the socket until the
# blackhole routes are in the kernel, for KBANS distinct addresses, inside a
# throwaway network namespace (never the host's table); then the same for
# fail2ban-server with its route action (KBANS_F2B addresses), run inside the
# namespace. Also the daemon's RSS holding those KBANS bans.
KBANS=${KBANS:-50000}
KBANS_F2B=${KBANS_F2B:-300}
# The route protocol number banserver's routes carry (actions/route), and
# the one this script gives fail2ban's.
BAN_PROTO=${BAN_PROTO:-244}
F2B_PROTO=242

# route_count NS PROTO: routes of that protocol in the namespace, v4 and v6.
route_count() {
	echo $(($(ip -n "$1" route show proto "$2" | wc -l) + $(ip -n "$1" -6 route show proto "$2" | wc -l)))
}

# wait_routes NS PROTO N TIMEOUT_S: poll until N routes are there.
wait_routes() {
	local deadline=$((SECONDS + $4))
	while (($(route_count "$1" "$2") < $3)); do
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}

# wait_routes_below NS PROTO N TIMEOUT_S: poll until fewer than N routes.
wait_routes_below() {
	local deadline=$((SECONDS + $4))
	while (($(route_count "$1" "$2") >= $3)); do
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}

now_ns() { date +%s%N; }

bench_bans_into_kernel() {
	if [[ $(id -u) != 0 ]] || ! command -v ip >/dev/null; then
		echo "| bans/s into the kernel (netns) | n/a (needs root and iproute2) |"
		return
	fi
	local ns=banbench-$$ sock=$TMP/kernel.sock cfg=$TMP/kernel.yaml pid t0 t1
	if ! ip netns add "$ns"; then
		echo "| bans/s into the kernel (netns) | n/a (ip netns add failed) |"
		return
	fi
	KERNEL_NS=$ns
	ip -n "$ns" link set lo up
	printf '%s\n' \
		"socket:" "  path: $sock" '  mode: "0600"' \
		"log:" "  level: warning" \
		"kernel:" "  netns: /run/netns/$ns" \
		"jails:" "  - name: api" "    maxretry: 10" "    findtime: 30m" "    bantime: 1h" \
		"    ignoreself: false" "    actions: [blackhole]" >"$cfg"
	if ! start_daemon "$sock" "$cfg" none kernel; then
		echo "| bans/s into the kernel (netns) | $(not_started kernel) |"
		return
	fi
	pid=$DAEMON_PID
	log "kernel: $KBANS banip over the socket into blackhole routes (netns $ns)"
	t0=$(now_ns)
	"$BIN/banbench" -socket "$sock" -clients 8 -mode persistent -cmd banip -jail api \
		-n "$KBANS" -pool "$KBANS" -json >"$TMP/kernel.json" 2>&1
	# Bans the daemon accepted: it refuses this host's own addresses (this
	# machine's may lie in a documentation range the pool draws from).
	local okbans
	okbans=$(grep -o '"ok":[0-9]*' "$TMP/kernel.json" | head -1 | cut -d: -f2)
	okbans=${okbans:-$KBANS}
	if wait_routes "$ns" "$BAN_PROTO" "$okbans" 120; then
		t1=$(now_ns)
		local rate rss
		rate=$(awk -v n="$okbans" -v d=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (d / 1e9) }')
		rss=$(awk '/VmRSS/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$pid/status")
		echo "| bans/s into the kernel: $okbans banip of one address from 8 clients, until every route is in (netns; $((KBANS - okbans)) refused as this host's) | ${rate}/s |"
		echo "| RSS with $okbans bans and their routes | $rss |"
	else
		echo "| bans/s into the kernel (netns) | n/a (only $(route_count "$ns" "$BAN_PROTO") of $okbans routes after 120s) |"
	fi
	# The same again, as a bulk ban list arrives: 100 addresses per banip.
	# The routes from above go first (unban --all), then the clock starts.
	"$BIN/banbench" -socket "$sock" -clients 1 -cmd ping -n 1 >/dev/null 2>&1
	fail2ban-client -s "$sock" unban --all >/dev/null 2>&1 || true
	wait_routes_below "$ns" "$BAN_PROTO" 1 120 || true
	t0=$(now_ns)
	"$BIN/banbench" -socket "$sock" -clients 8 -mode persistent -cmd banip -jail api \
		-per 100 -n $(((KBANS + 99) / 100)) -pool "$KBANS" -json >"$TMP/kernel-bulk.json" 2>&1
	# A banip naming this host's address is refused whole: its 99 other
	# addresses are not banned either.
	local bulkerr bulkbans
	bulkerr=$(grep -o '"error_replies":[0-9]*' "$TMP/kernel-bulk.json" | head -1 | cut -d: -f2)
	bulkbans=$((okbans - 99 * ${bulkerr:-0}))
	if wait_routes "$ns" "$BAN_PROTO" "$bulkbans" 120; then
		t1=$(now_ns)
		echo "| bans/s into the kernel: $bulkbans addresses as banip of 100 each from 8 clients, until every route is in (netns) | $(awk -v n="$bulkbans" -v d=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (d / 1e9) }')/s |"
	else
		echo "| bans/s into the kernel, bulk banip (netns) | n/a (only $(route_count "$ns" "$BAN_PROTO") of $bulkbans routes after 120s) |"
	fi
	stop_pid "$pid"
	ip netns del "$ns" 2>/dev/null || true
	KERNEL_NS=
	if command -v fail2ban-server >/dev/null; then
		# A namespace of its own: banserver's routes stay after it stops.
		ns=banbench-f2b-$$
		if ip netns add "$ns"; then
			KERNEL_NS=$ns
			ip -n "$ns" link set lo up
			bench_f2b_route "$ns"
			ip netns del "$ns" 2>/dev/null || true
			KERNEL_NS=
		fi
	fi
}

# bench_f2b_route NS: fail2ban-server 1.0.2 in NS with its route action
# (action.d/route.conf: one `ip route add <blocktype> <ip>` per ban).
bench_f2b_route() {
	local ns=$1 sock=$TMP/f2bk.sock pidf=$TMP/f2bk.pid t0 t1 i
	ip netns exec "$ns" fail2ban-server --async -x -b -s "$sock" -p "$pidf" \
		--logtarget "$TMP/f2bk.log" --loglevel WARNING >/dev/null 2>&1
	if ! ready "$sock"; then
		echo "| fail2ban route action, bans/s (netns) | n/a (fail2ban-server did not start) |"
		return
	fi
	local c=(fail2ban-client -s "$sock")
	"${c[@]}" add api polling >/dev/null
	"${c[@]}" set api bantime 3600 >/dev/null
	"${c[@]}" set api addaction route >/dev/null
	"${c[@]}" set api action route actionban "ip route add blackhole <ip> proto $F2B_PROTO" >/dev/null
	"${c[@]}" set api action route actionunban "ip route del blackhole <ip> proto $F2B_PROTO" >/dev/null
	"${c[@]}" start api >/dev/null
	local ips=()
	# Documentation addresses only (2001:db8::/32).
	for ((i = 1; i <= KBANS_F2B; i++)); do
		ips+=("$(printf '2001:db8:f2b::%x' "$i")")
	done
	log "kernel: $KBANS_F2B banip into fail2ban-server's route action (netns $ns)"
	t0=$(now_ns)
	"${c[@]}" set api banip "${ips[@]}" >/dev/null
	if wait_routes "$ns" "$F2B_PROTO" "$KBANS_F2B" 120; then
		t1=$(now_ns)
		echo "| fail2ban 1.0.2 route action: $KBANS_F2B banip until every route is in (netns) | $(awk -v n="$KBANS_F2B" -v d=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (d / 1e9) }')/s |"
	else
		echo "| fail2ban route action, bans/s (netns) | n/a (only $(route_count "$ns" "$F2B_PROTO") of $KBANS_F2B routes after 120s) |"
	fi
	timeout 10 "${c[@]}" stop >/dev/null 2>&1 || true
	if [[ -s $pidf ]]; then
		kill "$(cat "$pidf")" 2>/dev/null || true
	fi
}

# bench_rss_bans: banserver's resident memory holding 100k and 1M bans
# (memory only, no kernel action), banned over the socket.
bench_rss_bans() {
	local sock=$TMP/rss.sock cfg=$TMP/rss.yaml pid n
	printf '%s\n' \
		"socket:" "  path: $sock" '  mode: "0600"' \
		"log:" "  level: warning" \
		"jails:" "  - name: api" "    maxretry: 10" "    findtime: 30m" "    bantime: 1h" \
		"    ignoreself: false" "    actions: []" >"$cfg"
	if ! start_daemon "$sock" "$cfg" none rss; then
		echo "| RSS with bans | $(not_started rss) |"
		return
	fi
	pid=$DAEMON_PID
	for n in 100000 1000000; do
		log "rss: banip $n addresses"
		"$BIN/banbench" -socket "$sock" -clients 8 -mode persistent -cmd banip -jail api \
			-n "$n" -pool "$n" -json >"$TMP/rss-$n.json" 2>&1
		echo "| RSS with $n bans (no kernel action) | $(awk '/VmRSS/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$pid/status") |"
	done
	stop_pid "$pid"
}

# bench_store: bans/s over the socket with the ban store on (every reply
# waits for its fsync, group commit) beside --db none, from 8 and from 64
# clients, each store rate with its ratio to the memory-only one; then the
# restart time with 1M live bans in the store: from exec to answering ping
# with every ban active.
bench_store() {
	local sock=$TMP/store.sock cfg=$TMP/store.yaml db=$TMP/bans.db pid t0 t1 n clients rate rss peak
	local -A mem=()
	printf '%s\n' \
		"socket:" "  path: $sock" '  mode: "0600"' \
		"log:" "  level: warning" \
		"jails:" "  - name: api" "    maxretry: 10" "    findtime: 30m" "    bantime: 1d" \
		"    ignoreself: false" "    actions: []" >"$cfg"
	for store in none "$db"; do
		if ! start_daemon "$sock" "$cfg" "$store" store; then
			echo "| bans/s, store $store | $(not_started store) |"
			return
		fi
		pid=$DAEMON_PID
		# A fresh store for each client count: the same 50,000 new bans.
		for clients in 8 64; do
			"$BIN/banbench" -socket "$sock" -clients "$clients" -mode persistent -cmd banip -jail api \
				-n 50000 -pool 50000 -json >"$TMP/store-rate.json" 2>&1
			rate=$(grep -o '"rate":[0-9.]*' "$TMP/store-rate.json" | cut -d: -f2 | cut -d. -f1)
			if [[ $store == none ]]; then
				mem[$clients]=$rate
				echo "| bans/s, banip of one address from $clients clients (memory) | ${rate:-n/a}/s |"
			else
				echo "| bans/s, banip of one address from $clients clients (bbolt store, reply after fsync) | ${rate:-n/a}/s ($(awk -v s="${rate:-0}" -v m="${mem[$clients]:-0}" 'BEGIN { if (m > 0) printf "%.2fx", s / m; else printf "n/a" }') of memory) |"
			fi
			if [[ $clients == 8 ]]; then
				# Start the 64-client run from the same empty state: a new
				# daemon (and store file), so it bans 50,000 new addresses.
				stop_pid "$pid"
				[[ $store == none ]] || rm -f "$db"
				if ! start_daemon "$sock" "$cfg" "$store" store; then
					echo "| bans/s, store $store, 64 clients | $(not_started store) |"
					return
				fi
				pid=$DAEMON_PID
			fi
		done
		stop_pid "$pid"
	done
	# 1M live bans: fill the store (100 addresses per banip), stop, restart.
	start_daemon "$sock" "$cfg" "$db" store || return
	pid=$DAEMON_PID
	log "store: filling with 1,000,000 bans"
	"$BIN/banbench" -socket "$sock" -clients 8 -mode persistent -cmd banip -jail api \
		-per 100 -n 10000 -pool 1000000 -json >"$TMP/store-fill.json" 2>&1
	stop_pid "$pid"
	log "store: restart with 1,000,000 bans"
	t0=$(now_ns)
	if start_daemon "$sock" "$cfg" "$db" store; then
		t1=$(now_ns)
		pid=$DAEMON_PID
		# RSS before asking for the status: `status api` lists every
		# banned address, a reply of a million strings whose garbage the
		# runtime hands back only slowly.
		rss=$(awk '/VmRSS/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$pid/status")
		# The high-water mark: the restore's transient, before serving.
		peak=$(awk '/VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$pid/status")
		n=$(fail2ban-client -s "$sock" status api 2>/dev/null | awk -F'\t' '/Currently banned/ { print $2 }')
		echo "| restart with the store holding 1M bans: exec to ping answered ($n bans active) | $(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f s", d / 1e9 }') |"
		echo "| RSS after restoring them (at the first answer; the peak during the restore, VmHWM: $peak; after a \`status api\` listing all of them: $(awk '/VmRSS/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$pid/status")) | $rss |"
		echo "| store file with 1M bans | $(du -m "$db" | cut -f1) MiB |"
	else
		echo "| restart time with 1M bans stored | n/a (did not answer) |"
	fi
	stop_pid "$DAEMON_PID"
}

# bench_restart_kernel: kill -9 and restart with RBANS live bans in the store
# and their blackhole routes in a throwaway network namespace. While the
# daemon is down, RDRIFT of its routes vanish and RDRIFT routes of its
# protocol that no ban needs appear, so the restart has real work to do.
# Reported: RSS when the bans and routes were built over the socket; from
# exec to the first ping answered; from exec until the sampled routes agree
# with the bans (the vanished ones back, the stray ones gone) and every
# route is there; RSS then, and a few seconds later. Last, the same store
# restored with no kernel action (the namespace deleted first): its RSS.
RBANS=${RBANS:-1000000}
RDRIFT=${RDRIFT:-500}
bench_restart_kernel() {
	if [[ $(id -u) != 0 ]] || ! command -v ip >/dev/null; then
		echo "| restart with $RBANS bans and routes (netns) | n/a (needs root and iproute2) |"
		return
	fi
	local ns=banrestart-$$ sock=$TMP/restart.sock cfg=$TMP/restart.yaml db=$TMP/restart.db pid t0 t1 t2 i
	if ! ip netns add "$ns"; then
		echo "| restart with $RBANS bans and routes (netns) | n/a (ip netns add failed) |"
		return
	fi
	KERNEL_NS=$ns
	ip -n "$ns" link set lo up
	rss() { awk '/VmRSS/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$1/status"; }
	printf '%s\n' \
		"socket:" "  path: $sock" '  mode: "0600"' \
		"log:" "  level: warning" \
		"kernel:" "  netns: /run/netns/$ns" \
		"jails:" "  - name: api" "    maxretry: 10" "    findtime: 30m" "    bantime: 1d" \
		"    ignoreself: false" "    actions: [blackhole]" >"$cfg"
	if ! start_daemon "$sock" "$cfg" "$db" restart; then
		echo "| restart with $RBANS bans and routes (netns) | $(not_started restart) |"
		return
	fi
	pid=$DAEMON_PID
	log "restart: $RBANS bans (banip of 100 addresses) into the store and blackhole routes (netns $ns)"
	"$BIN/banbench" -socket "$sock" -clients 8 -mode persistent -cmd banip -jail api \
		-per 100 -n $(((RBANS + 99) / 100)) -pool "$RBANS" -json >"$TMP/restart-fill.json" 2>&1
	local bulkerr nbans
	bulkerr=$(grep -o '"error_replies":[0-9]*' "$TMP/restart-fill.json" | head -1 | cut -d: -f2)
	nbans=$((RBANS - 100 * ${bulkerr:-0}))
	if ! wait_routes "$ns" "$BAN_PROTO" "$nbans" 300; then
		echo "| restart with $RBANS bans and routes (netns) | n/a (only $(route_count "$ns" "$BAN_PROTO") of $nbans routes after 300 s) |"
		stop_pid "$pid"
		return
	fi
	local built
	built=$(rss "$pid")
	kill -KILL "$pid"
	stop_pid "$pid"
	# Drift while down: the routes of RDRIFT banned addresses (the pool's
	# first IPv6 ones, 2001:db8::1 on) vanish; RDRIFT routes of the
	# daemon's protocol for addresses never banned (2001:db8:ffff::/48) appear.
	local gone=$TMP/restart-gone stray=$TMP/restart-stray
	: >"$gone"
	: >"$stray"
	for ((i = 1; i <= RDRIFT; i++)); do
		printf 'route get 2001:db8::%x\n' "$i" >>"$gone"
		printf 'route get 2001:db8:ffff::%x\n' "$i" >>"$stray"
	done
	sed 's/^route get /route del blackhole /; s/$/ proto '"$BAN_PROTO"'/' "$gone" | ip -n "$ns" -batch -
	sed 's/^route get /route add blackhole /; s/$/ proto '"$BAN_PROTO"'/' "$stray" | ip -n "$ns" -batch -
	log "restart: kill -9, $RDRIFT routes gone and $RDRIFT stray, restart"
	t0=$(now_ns)
	"$BIN/banserver" --config "$cfg" --db "$db" 2>"$TMP/restart.log" &
	pid=$!
	PIDS+=("$pid")
	t1=""
	for ((i = 0; i < 6000; i++)); do
		if "$BIN/banbench" -socket "$sock" -clients 1 -cmd ping -n 1 -json 2>/dev/null | grep -q '"ok":1,'; then
			t1=$(now_ns)
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	if [[ -z $t1 ]]; then
		echo "| restart with $nbans bans and routes: exec to first answer | n/a (did not answer: $(tail -1 "$TMP/restart.log")) |"
		stop_pid "$pid"
		return
	fi
	# Agreement: every vanished route back, every stray one gone. `ip route
	# get` of the samples is cheap beside a dump of a million routes; the
	# kernel answers a lookup that meets a blackhole route with EINVAL
	# ("Invalid argument"), and one that meets no route (the namespace has
	# none but these) with ENETUNREACH.
	t2=""
	for ((i = 0; i < 1200; i++)); do
		if (($(ip -n "$ns" -force -batch "$gone" 2>&1 | grep -c "Invalid argument") == RDRIFT)) &&
			(($(ip -n "$ns" -force -batch "$stray" 2>&1 | grep -c "unreachable") == RDRIFT)); then
			t2=$(now_ns)
			break
		fi
		sleep 0.05
	done
	local first agree after count cpu
	# CPU time of the daemon so far (utime + stime): what a shared machine
	# does not move.
	cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f s", ($12 + $13) / hz }' "/proc/$pid/stat")
	first=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f s", d / 1e9 }')
	agree="n/a (not within 60 s)"
	[[ -n $t2 ]] && agree=$(awk -v d=$((t2 - t0)) 'BEGIN { printf "%.2f s", d / 1e9 }')
	after=$(rss "$pid")
	sleep 5
	count=$(route_count "$ns" "$BAN_PROTO")
	echo "| restart with $nbans live bans and their blackhole routes (netns), after kill -9: exec to the first ping answered | $first |"
	echo "| the same: exec until the routes agree with the bans ($RDRIFT vanished while down back, $RDRIFT stray gone; $count routes of protocol $BAN_PROTO then); the daemon's CPU time by then | $agree; $cpu CPU |"
	echo "| RSS with those bans and routes: built over the socket / when the routes agree after the restart / 5 s later (the peak since the restart, VmHWM) | $built / $after / $(rss "$pid") ($(awk '/VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$pid/status")) |"
	stop_pid "$pid"
	# The same store restored with no kernel action: the namespace goes
	# first, so its recorded routes are dropped rather than flushed.
	ip netns del "$ns" 2>/dev/null || true
	KERNEL_NS=
	sed -i '/^kernel:/d; /netns:/d; s/actions: \[blackhole\]/actions: []/' "$cfg"
	if start_daemon "$sock" "$cfg" "$db" restart; then
		pid=$DAEMON_PID
		sleep 2
		echo "| RSS after restoring the same $nbans bans from the store, no kernel action | $(rss "$pid") |"
	else
		echo "| RSS after restoring $nbans bans, no kernel action | n/a (did not answer: $(tail -1 "$TMP/restart.log")) |"
	fi
	stop_pid "$DAEMON_PID"
}

# bench_logjails: log jails. The time from a line appended to a log to its
# failure counted by the jail (logjail's BenchmarkAppendToAttempt, inotify,
# one line at a time); then banserver's RSS following 100 files of 1,000
# matching lines each, every line read.
bench_logjails() {
	local out p50 p99 dir=$TMP/logs sock=$TMP/logs.sock cfg=$TMP/logs.yaml pid i j total
	log "log jails: append-to-attempt latency"
	out=$(cd "$ROOT" && go test ./logjail -run '^$' -bench 'AppendToAttempt/inotify' -benchtime 2000x 2>&1 | grep '^Benchmark' || true)
	p50=$(awk '{ for (i = 1; i < NF; i++) if ($(i+1) == "p50-µs") printf "%.0f", $i }' <<<"$out")
	p99=$(awk '{ for (i = 1; i < NF; i++) if ($(i+1) == "p99-µs") printf "%.0f", $i }' <<<"$out")
	echo "| log jail: line appended to failure counted, inotify, 2000 lines one at a time (p50 / p99) | ${p50:-n/a} µs / ${p99:-n/a} µs |"

	mkdir -p "$dir"
	log "log jails: 100 files of 1,000 lines"
	local stamp
	stamp=$(date -u '+%Y-%m-%dT%H:%M:%S')
	for ((i = 0; i < 100; i++)); do
		awk -v s="$stamp" -v f="$i" 'BEGIN { for (j = 0; j < 1000; j++) printf "%s 192.0.2.%d - Incorrect token used. (file %d line %d)\n", s, 1 + j % 250, f, j }' >"$dir/app$i.log"
	done
	printf '%s\n' \
		"socket:" "  path: $sock" '  mode: "0600"' \
		"log:" "  level: warning" \
		"jails:" "  - name: api" "    maxretry: 1000" "    findtime: 1d" "    bantime: 1h" \
		"    ignoreself: false" "    actions: []" "    logpath: ['$dir/*.log']" \
		"    datepattern: '^{DATE}'" "    logtimezone: UTC" \
		"    failregex: ['^\\s*<ADDR>\\s+\\S+\\s+Incorrect token used\\.']" >"$cfg"
	if ! start_daemon "$sock" "$cfg" none logs; then
		echo "| RSS following 100 files | $(not_started logs) |"
		return
	fi
	pid=$DAEMON_PID
	for ((i = 0; i < 600; i++)); do
		total=$(fail2ban-client -s "$sock" status api 2>/dev/null | awk -F'\t' '/Total failed/ { print $2 }')
		[[ ${total:-0} -ge 100000 ]] && break
		sleep 0.1
	done
	echo "| RSS following 100 files, all 100,000 lines read (Total failed ${total:-?}) | $(awk '/VmRSS/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$pid/status") |"
	stop_pid "$pid"
}

# bench_cluster: three (and six) nodes and one redis-server on this
# machine, each node in a network namespace of its own (bench/cluster_test.go;
# root and redis-server needed). The time from the attempt that reaches
# maxretry on node A (the failures spread over the nodes) to the route in
# the last node's kernel; attempts/s on node A with sharing off, and on
# with 1, 3 and 6 nodes.
CLUSTER_REACH=${CLUSTER_REACH:-300}
CLUSTER_ATTEMPTS=${CLUSTER_ATTEMPTS:-300000}
bench_cluster() {
	local out n off rate cpu offcpu
	if [[ $(id -u) != 0 ]] || ! command -v redis-server >/dev/null; then
		echo "| cluster | n/a (needs root and redis-server) |"
		return
	fi
	metric() { awk -v m="$1" '{ for (i = 1; i < NF; i++) if ($(i+1) == m) print $i }' <<<"$2" | head -1; }
	for n in 3 6; do
		log "cluster: ban reach, $n nodes, $CLUSTER_REACH bans"
		out=$(cd "$ROOT" && go test ./bench -run '^$' -bench "^BenchmarkClusterBanReach$n\$" -benchtime "${CLUSTER_REACH}x" 2>&1 | grep '^Benchmark' || true)
		echo "| cluster of $n nodes: attempt reaching maxretry on node A to the route in the last node's kernel, $CLUSTER_REACH bans (p50 / p99) | $(metric p50-ms "$out") ms / $(metric p99-ms "$out") ms |"
	done
	for n in Off 1 3 6; do
		log "cluster: attempts/s, nodes $n"
		out=$(cd "$ROOT" && go test ./bench -run '^$' -bench "^BenchmarkClusterAttempts$n\$" -benchtime "${CLUSTER_ATTEMPTS}x" 2>&1 | grep '^Benchmark' || true)
		rate=$(metric req/s "$out")
		rate=${rate%.*}
		cpu=$(metric node-cpu-µs/op "$out")
		if [[ $n == Off ]]; then
			off=$rate offcpu=$cpu
			echo "| attempts/s on one node, 8 clients, seed's jail, no cluster (node CPU per attempt) | ${rate:-n/a}/s (${cpu:-n/a} µs) |"
		else
			echo "| the same, jail shared in a cluster of $n node(s): rate (against no cluster); node CPU per attempt; Redis CPU per attempt (Redis, the node and the load generator share the 2 cores) | ${rate:-n/a}/s ($(awk -v a="${rate:-0}" -v b="${off:-0}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }')); ${cpu:-n/a} µs ($(awk -v a="${cpu:-0}" -v b="${offcpu:-0}" 'BEGIN { if (b > 0) printf "%.2fx the cost without", a / b; else print "n/a" }')); $(metric redis-cpu-µs/op "$out") µs |"
		fi
	done
}

EXTRA=$TMP/extra.md
{
	echo "| measure | banserver |"
	echo "|---|---:|"
	bench_bans_into_kernel
	bench_rss_bans
	bench_store
	bench_restart_kernel
	bench_logjails
	bench_cluster
} >"$EXTRA"

# ---------------------------------------------------------------- log matching

# bench/regex.sh: banctl regex (banserver's filter engine) beside
# fail2ban-regex on the same generated logs; its own table.
REGEX_LINES=${REGEX_LINES:-1000000}
REGEX_TABLE=$TMP/regex.md
: >"$REGEX_TABLE"
if ((REGEX_LINES > 0)); then
	log "log matching: bench/regex.sh on $REGEX_LINES lines per log"
	if (cd "$ROOT" && go build -o "$BIN/banctl" ./cmd/banctl) &&
		LINES=$REGEX_LINES BANCTL=$BIN/banctl bash "$ROOT/bench/regex.sh" >"$REGEX_TABLE"; then
		:
	else
		echo "bench/regex.sh failed" >"$REGEX_TABLE"
	fi
fi

# ---------------------------------------------------------------- report

echo
cat "$TABLE"
echo
cat "$EXTRA"
if [[ -s $REGEX_TABLE ]]; then
	echo
	cat "$REGEX_TABLE"
fi
for s in floor banserver fail2ban; do
	if [[ -s $TMP/out/$s.err ]]; then
		echo
		echo "$s: first errors seen by banbench:"
		sort -u "$TMP/out/$s.err" | head -5 | sed 's/^/    /'
	fi
done

MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
	echo "# Benchmark results"
	echo
	echo "Written by \`bash bench/run.sh\` (\`make bench\`); rerun to refresh. Do not edit by hand."
	echo
	echo "## Machine"
	echo
	echo "- CPUs (nproc): $(nproc)"
	echo "- model: ${MODEL:-unknown}"
	echo "- kernel: $(uname -sr)"
	echo "- go: $(go version | awk '{print $3, $4}')"
	echo "- fail2ban: $( ((HAVE_F2B)) && fail2ban-server -V 2>/dev/null | head -1 || echo 'not run')"
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- commit: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "- requests per workload and round: $N_OURS (floor, banserver), $N_F2B (fail2ban); each run capped at $MAX_RUN after $WARMUP warm-up requests; $ROUNDS rounds, median shown; pool of $POOL addresses; log level $LOGLEVEL for both daemons"
	echo "- load average when the table was written: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine shows here)"
	echo "- the whole run took $((SECONDS - BENCH_START)) s (build included)"
	echo
	echo "## Throughput"
	echo
	cat "$TABLE"
	echo
	echo "## Later measures"
	echo
	cat "$EXTRA"
	echo
	if [[ -s $REGEX_TABLE ]]; then
		echo "## Log matching: banctl regex beside fail2ban-regex"
		echo
		echo "\`bash bench/regex.sh\`: the same generated logs (documentation addresses), the same filter and datepattern for both; wall time of the whole command, start-up included; \"counts\" compares the two reports' \`Lines:\` line."
		echo
		cat "$REGEX_TABLE"
		echo
	fi
	cat <<'EOF'
## How to read it

- **Rate** is replies received per second over the whole run, all clients
  together; refused connects and failed requests are not in it. Each cell
  is the round with the median rate (latencies and refusals are from that
  same round); servers take turns within a round, so load from elsewhere
  falls on all columns alike. Figures from a shared 2-core machine move
  by tens of percent between runs: compare ratios within one table.
- **Server CPU per request** is the server process's user and system time
  (from /proc) over the median round, warm-up included, divided by its
  requests: the work each server does per request, which contention from
  the load generator on the same cores does not inflate as it does rates.
- **floor** is `cmd/banfloor`: it frames each request and writes back a
  constant `(0, 1)`. It does no work, so its rate is what the Unix socket,
  the scheduler and the load generator itself allow on this machine. The
  load generator runs on the same cores as the server, so no server can
  beat the floor: **banserver/floor** near 1.0 means banserver's own work
  costs little next to the socket round trip; well below 1.0 means time
  spent in decode, jail bookkeeping or reply encoding.
- **banserver/fail2ban** compares the two daemons on identical requests.
  fail2ban-server runs fewer requests (it is slower), so its figure comes
  from a shorter run.
- **attempt x1** is latency-bound: one request in flight at a time; its
  rate is 1 / round-trip time.
- **attempt x64 connect** is what PHP-FPM workers do: connect, send one
  command, read the reply, send the close command, close. **refused**
  counts connects the server did not take (`ECONNREFUSED`, or `EAGAIN`
  when the listen backlog is full: fail2ban listens with a backlog of 1).
  A refused connect in PHP is a failed login check, so any non-zero count
  there matters more than the rate. "(+N err)" counts I/O failures and
  error replies, which should be zero.
- **p50 / p99** are latencies seen by the client, including connect for
  the connect workload, from a log-bucket histogram (within about 3%).
- All servers here run without persistence (`--db none`; fail2ban with no
  database configured) and without firewall actions, so the table measures
  the protocol and attempt path only; the later measures cover the rest.
EOF
} >"$OUT"
log "wrote $OUT"
