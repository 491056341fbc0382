#!/usr/bin/env bash
# bench/ab.sh: one change's effect on the request path, A against B.
#
#   bash bench/ab.sh REV_A [REV_B]
#
# Builds banserver at two revisions (B defaults to the working tree) and
# banfloor and banbench from the working tree, starts the floor and both
# daemons on Unix sockets in a temp dir, and runs the same workload
# against the three in turn, round after round, so that a shared
# machine's swings fall on all three alike. Each line is one round:
# replies per second and the server's CPU time per request (user and
# system, from /proc, over the run). A change of a few tenths of a
# microsecond shows in the CPU column long before it shows in rates; read
# several rounds. Every process it starts is stopped on exit.
#
# Environment knobs:
#   CMD=attempt   banbench command (attempt, ping, banip)
#   CLIENTS=8     clients
#   MODE=persistent  or connect (a connection per request)
#   N=400000      requests per server and round
#   ROUNDS=5
#   POOL=50000    distinct addresses
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if (($# < 1 || $# > 2)); then
	echo "usage: bash bench/ab.sh REV_A [REV_B]  (REV_B: the working tree)" >&2
	exit 2
fi
REV_A=$1
REV_B=${2:-}
CMD=${CMD:-attempt}
CLIENTS=${CLIENTS:-8}
MODE=${MODE:-persistent}
N=${N:-400000}
ROUNDS=${ROUNDS:-5}
POOL=${POOL:-50000}
WARMUP=2000

TMP=$(mktemp -d "${TMPDIR:-/tmp}/banab.XXXXXX")
BIN=$TMP
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
PIDS=()
WORKTREES=()
cleanup() {
	local wt
	stop_pids
	for wt in "${WORKTREES[@]}"; do
		git -C "$ROOT" worktree remove --force "$wt" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

# build REV OUT: banserver at REV (the working tree when REV is empty).
build() {
	local rev=$1 out=$2 src=$ROOT
	if [[ -n $rev ]]; then
		src=$TMP/src-$(basename "$out")
		git -C "$ROOT" worktree add -q --detach "$src" "$rev"
		WORKTREES+=("$src")
	fi
	(cd "$src" && go build -o "$out" ./cmd/banserver)
}
build "$REV_A" "$BIN/banserver-a"
build "$REV_B" "$BIN/banserver-b"
(cd "$ROOT" && go build -o "$BIN/" ./cmd/banfloor ./cmd/banbench)

for side in a b; do
	attempt_config "$TMP/$side.sock" info >"$TMP/$side.yaml"
done
declare -A PID=()
"$BIN/banfloor" -socket "$TMP/floor.sock" 2>"$TMP/floor.log" &
PID[floor]=$!
PIDS+=("$!")
for side in a b; do
	"$BIN/banserver-$side" --config "$TMP/$side.yaml" --db none 2>"$TMP/$side.log" &
	PID[$side]=$!
	PIDS+=("$!")
done
for server in floor a b; do
	if ! ready "$TMP/$server.sock" "${PID[$server]}"; then
		echo "$server did not come up: $(tail -1 "$TMP/$server.log")" >&2
		exit 1
	fi
done

ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
echo "$CMD, $CLIENTS clients, $MODE; A=${REV_A} B=${REV_B:-working tree}; rate and server CPU per request"
for ((r = 1; r <= ROUNDS; r++)); do
	line="round $r:"
	for server in floor a b; do
		c0=$(ticks "${PID[$server]}")
		rate=$("$BIN/banbench" -socket "$TMP/$server.sock" -cmd "$CMD" -clients "$CLIENTS" -mode "$MODE" \
			-jail api -pool "$POOL" -n "$N" -warmup "$WARMUP" -json | grep -o '"rate":[0-9]*' | cut -d: -f2)
		c1=$(ticks "${PID[$server]}")
		line+=$(awk -v s="$server" -v r="${rate:-0}" -v t=$((c1 - c0)) -v hz="$hz" -v n=$((N + WARMUP)) \
			'BEGIN { printf "  %s %d/s %.2fµs", s, r, t / hz / n * 1e6 }')
	done
	echo "$line"
done
