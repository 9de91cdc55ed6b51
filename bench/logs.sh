#!/usr/bin/env bash
# bench/logs.sh: how fast `bot analyze --log` scans a large log, against `grep -c -E -f` with the
# same patterns (`bot analyze --print-patterns --format charon`) and `cat` as the floor.
#
# Builds a log of at least SIZE_MB MiB (default 1024) under /tmp from the strongSwan fixtures'
# logs sprinkled (about 1 line in 500) among realistic syslog noise, runs the three commands in
# turn RUNS times (default 5; bot, grep, cat, bot, grep, cat, ... so that a shared machine's
# load falls on all of them alike) under /usr/bin/time, checks that matched_lines equals
# grep -c, and prints a markdown table of medians: wall and CPU (user+sys) seconds, the ratios
# to grep, and the largest peak RSS of any run. The load average before and after is printed:
# quote it with the figures.
#
# Usage: bench/logs.sh [SIZE_MB]        env: RUNS=5 WORK=/tmp/ipsecbot-bench KEEP=1 (keep the log)
#                                            EVERY=500 (one fixture line in EVERY; 1 gives a dense
#                                            log of fixture lines only, one line in 26 matching)
set -euo pipefail

size_mb=${1:-1024}
runs=${RUNS:-5}
every=${EVERY:-500}
work=${WORK:-/tmp/ipsecbot-bench}
top=$(cd "$(dirname "$0")/.." && pwd)
fixtures=$top/diag/classify/testdata/fixtures
export LC_ALL=C # grep in bytes, as the scanner matches

mkdir -p "$work"
log=$work/big.log
bot=$work/bot
patterns=$work/patterns.txt

echo "building bot ..." >&2
(cd "$top" && go build -o "$bot" ./cmd/bot)
"$bot" analyze --print-patterns --format charon >"$patterns" # the bench logs are charon's

if [ ! -s "$log" ] || [ "$(cat "$work/made" 2>/dev/null)" != "$size_mb $every" ]; then
	rm -f "$log"
	echo "$size_mb $every" >"$work/made"
	echo "generating a ${size_mb} MiB log in $log ..." >&2
	block=$work/block.log
	# One 64 MiB block of noise with fixture lines, then copies of it (the page cache holds the
	# result either way; repetition does not help or hurt a single-pass scanner).
	cat "$fixtures"/*/*.log | awk -v target=$((64 << 20)) -v every="$every" '
	BEGIN { srand(7)
		n = split("sshd[1234]|CRON[4412]|kernel|systemd[1]|nginx[88]|dhclient[77]|ntpd[901]|postfix/smtpd[2231]", prog, "|")
		split("web01|db02|edge-01|fw-core|app3|vpn-gw|lb1|ns2", host, "|")
		msg[1] = "Accepted publickey for deploy from 10.0.%d.%d port %d ssh2: ED25519 SHA256:kq3Yd8rT0bPzW1x"
		msg[2] = "pam_unix(cron:session): session opened for user root(uid=0) by (uid=%d) tty%d pid %d"
		msg[3] = "[UFW BLOCK] IN=eth0 OUT= MAC=00:16:3e:aa:bb:cc SRC=198.51.100.%d DST=203.0.113.%d LEN=60 TOS=0x00 PROTO=TCP SPT=%d DPT=443"
		msg[4] = "Started Session %d of user admin (uid %d, seat %d)."
		msg[5] = "10.9.%d.%d - - \"GET /api/v1/status?id=%d HTTP/1.1\" 200 512 \"-\" \"curl/8.5.0\""
		msg[6] = "DHCPREQUEST for 10.1.%d.%d on eth1 to 10.1.0.1 port %d"
		msg[7] = "time sync status change: offset %d us, frequency %d ppm, stratum %d"
		msg[8] = "connect from unknown[192.0.2.%d] port %d helo %d"
		split("Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec", mon, "|")
	}
	{ fx[++nf] = $0 }
	END {
		while (bytes < target) {
			if (int(rand() * every) == 0) line = fx[1 + int(rand() * nf)]
			else line = sprintf("%s %2d %02d:%02d:%02d %s %s: " msg[1 + int(rand() * 8)], mon[1 + int(rand() * 12)], 1 + int(rand() * 28), int(rand() * 24), int(rand() * 60), int(rand() * 60), host[1 + int(rand() * 8)], prog[1 + int(rand() * n)], int(rand() * 250), int(rand() * 250), int(rand() * 65000))
			print line
			bytes += length(line) + 1
		}
	}' >"$block"
	: >"$log"
	while [ "$(stat -c %s "$log")" -lt $((size_mb << 20)) ]; do cat "$block" >>"$log"; done
	rm -f "$block"
fi
bytes=$(stat -c %s "$log")

# timed NAME CMD...: one run under /usr/bin/time; appends "wall cpu rss_kib" to $work/NAME.times.
# What cat prints goes to /dev/null, the others' output to $work/NAME.out.
timed() {
	local name=$1 out=$work/$1.out
	shift
	[ "$name" != cat ] || out=/dev/null
	/usr/bin/time -f '%e %U %S %M' -o "$work/time.txt" "$@" >"$out"
	awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$work/time.txt" >>"$work/$name.times"
}

names=(bot grep cat)
for n in "${names[@]}"; do : >"$work/$n.times"; done
cat "$log" >/dev/null # warm the page cache
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "scanning $bytes bytes, $runs rounds ..." >&2
for ((i = 0; i < runs; i++)); do
	timed bot "$bot" analyze --log "$log" --json
	timed grep grep -c -E -f "$patterns" "$log"
	timed cat cat "$log"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# median NAME FIELD: the median of one column of NAME's runs; peak NAME: the largest RSS in MiB.
median() { sort -g <(cut -d' ' -f"$2" "$work/$1.times") | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
peak() { cut -d' ' -f3 "$work/$1.times" | sort -g | tail -1 | awk '{ printf "%.1f", $1 / 1024 }'; }

grep_count=$(cat "$work/grep.out")
bot_count=$(sed -n 's/.*"matched_lines": *\([0-9]*\).*/\1/p' "$work/bot.out")
gw=$(median grep 1)
gc=$(median grep 2)

row() { # name command
	local w c
	w=$(median "$1" 1)
	c=$(median "$1" 2)
	awk -v n="$1" -v cmd="$2" -v w="$w" -v c="$c" -v gw="$gw" -v gc="$gc" -v m="$(peak "$1")" -v b="$bytes" \
		'BEGIN { printf "| %s | `%s` | %.2f | %.0f | %.2f | %.2f | %.2f | %s |\n", n, cmd, w, b / w / 1048576, w / gw, c, c / gc, m }'
}
echo
echo "Log: $(awk -v b="$bytes" 'BEGIN { printf "%.2f GiB", b / 1073741824 }'), $(wc -l <"$log") lines, $grep_count matching; $(nproc) cores; $(grep --version | head -1); median of $runs rounds; load average $load_before before, $load_after after."
echo
echo "| run | command | wall s | MiB/s | wall x grep | CPU s | CPU x grep | peak RSS MiB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
row bot "bot analyze --log F --json"
row grep "grep -c -E -f patterns.txt F"
row cat "cat F >/dev/null"
echo
if [ "$grep_count" = "$bot_count" ]; then
	echo "matched_lines = grep -c = $grep_count (equal)"
else
	echo "MISMATCH: matched_lines $bot_count, grep -c $grep_count"
	exit 1
fi
[ -n "${KEEP:-}" ] || rm -f "$log"
