#!/usr/bin/env bash
# bench/regex.sh: log matching, banctl regex (banserver's filter engine)
# beside fail2ban-regex 1.0.2, on the same generated logs.
#
# Writes three logs of LINES lines (documentation addresses only:
# 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) into a temp dir:
#   seed 10%   the seed's application log, one line in ten a failure;
#              both tools get -d '^{DATE}' and the seed's failregex
#   sshd 100%  sshd "Failed password" lines, Debian's sshd filter
#   sshd 10%   one line in ten such a failure, the others session lines
# then runs fail2ban-regex and banctl regex on each, one after the other
# (same file, same filter, same datepattern, output to /dev/null but for
# the summary), checks that both report the same "Lines:" counts, and
# prints lines/s and the ratio as a markdown table on stdout.
#
# fail2ban-regex reads 6,000-70,000 lines/s: on 1,000,000 lines the whole
# run takes a few minutes.
#
# Environment knobs:
#   LINES=1000000   lines per log
#   BANCTL=         a built banctl to use (default: built into the temp dir)
#   F2B=fail2ban-regex
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LINES=${LINES:-1000000}
F2B=${F2B:-fail2ban-regex}
SEED_RE='^\s*<ADDR>\s+\S+\s+Incorrect token used\.'

TMP=$(mktemp -d "${TMPDIR:-/tmp}/banregex.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
log() { printf '%s\n' "$*" >&2; }

BANCTL=${BANCTL:-}
if [[ -z $BANCTL ]]; then
	log "building banctl into $TMP"
	(cd "$ROOT" && go build -o "$TMP/banctl" ./cmd/banctl)
	BANCTL=$TMP/banctl
fi
HAVE_F2B=1
if ! command -v "$F2B" >/dev/null; then
	HAVE_F2B=0
	log "$F2B not installed: its columns will read n/a"
fi

# gen KIND EVERY FILE: LINES lines, one in EVERY a failure. Addresses
# cycle through the three documentation /24s.
gen() {
	awk -v n="$LINES" -v every="$2" -v kind="$1" 'BEGIN {
		split("192.0.2. 198.51.100. 203.0.113.", nets, " ")
		for (i = 0; i < n; i++) {
			ip = nets[i % 3 + 1] (int(i / 3) % 254 + 1)
			hit = (i % every == 0)
			if (kind == "seed") {
				ts = sprintf("2024-01-%02d %02d:%02d:%02d", 1 + i % 28, i % 24, i % 60, (i * 7) % 60)
				if (hit) printf "%s %s api Incorrect token used.\n", ts, ip
				else     printf "%s %s api Token accepted.\n", ts, ip
			} else {
				ts = sprintf("Jun 11 %02d:%02d:%02d", i % 24, i % 60, (i * 7) % 60)
				if (hit) printf "%s host sshd[1234]: Failed password for invalid user admin from %s port 22 ssh2\n", ts, ip
				else     printf "%s host sshd[1234]: pam_unix(sshd:session): session opened for user root(uid=%d) by (uid=0)\n", ts, i % 1000
			}
		}
	}' >"$3"
}

log "generating 3 logs of $LINES lines in $TMP"
gen seed 10 "$TMP/seed10.log"
gen sshd 1 "$TMP/sshd100.log"
gen sshd 10 "$TMP/sshd10.log"

now_ns() { date +%s%N; }

# timed OUT CMD...: run CMD, stdout to OUT; print the seconds it took.
timed() {
	local out=$1 t0 t1
	shift
	t0=$(now_ns)
	"$@" >"$out" 2>&1 || true
	t1=$(now_ns)
	awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f", d / 1e9 }'
}

# counts FILE: the report's "Lines:" line.
counts() { grep -m1 '^Lines:' "$1" || echo "(no report)"; }

rate() { awk -v n="$LINES" -v s="$1" 'BEGIN { if (s > 0) printf "%.0f", n / s; else printf "n/a" }'; }

echo "| log ($LINES lines) | fail2ban-regex | banctl regex | banctl/fail2ban | counts |"
echo "|---|---:|---:|---:|---|"
# name|log|arguments after LOG (the filter) and before it (options)
for spec in "seed, 10% failures, -d '^{DATE}'|seed10.log|seed" \
	"sshd, 100% failures, Debian's sshd filter|sshd100.log|sshd" \
	"sshd, 10% failures, Debian's sshd filter|sshd10.log|sshd"; do
	IFS='|' read -r name file kind <<<"$spec"
	if [[ $kind == seed ]]; then
		args=(-d '^{DATE}' "$TMP/$file" "$SEED_RE")
	else
		args=("$TMP/$file" sshd)
	fi
	f2b_s="" f2b_rate="n/a"
	if ((HAVE_F2B)); then
		log "$name: fail2ban-regex"
		f2b_s=$(timed "$TMP/f2b.out" "$F2B" "${args[@]}")
		f2b_rate=$(rate "$f2b_s")
	fi
	log "$name: banctl regex"
	ban_s=$(timed "$TMP/ban.out" "$BANCTL" regex "${args[@]}")
	ban_rate=$(rate "$ban_s")
	ratio="n/a" same="n/a"
	if ((HAVE_F2B)); then
		ratio=$(awk -v a="$f2b_s" -v b="$ban_s" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else printf "n/a" }')
		if [[ $(counts "$TMP/f2b.out") == "$(counts "$TMP/ban.out")" ]]; then
			same="same: $(counts "$TMP/ban.out" | sed 's/^Lines: //')"
		else
			same="DIFFER: fail2ban $(counts "$TMP/f2b.out"); banctl $(counts "$TMP/ban.out")"
		fi
	fi
	printf '| %s | %s lines/s (%ss) | %s lines/s (%ss) | %s | %s |\n' "$name" \
		"$f2b_rate" "${f2b_s:-n/a}" "$ban_rate" "$ban_s" "$ratio" "$same"
done
