#!/bin/sh
# bench/pcap.sh: how fast `bot pcap summary` reads a large capture, against tshark doing the
# same decoding work on the same file and against `cat` (the physical floor), best of three
# runs each, with peak RSS. It also checks that our ike_messages and esp_packets equal what
# tshark's isakmp and esp filters count in the same file; a fast wrong answer fails the run.
#
#   bench/pcap.sh                      # 1,000,000 packets
#   PACKETS=2000000 bench/pcap.sh
#   BYTES=1073741824 bench/pcap.sh     # a 1 GiB capture (for the peak-RSS figure)
#
# Needs tshark and /usr/bin/time (GNU). Prints a markdown table on stdout.
set -eu
cd "$(dirname "$0")/.."
PACKETS=${PACKETS:-1000000}
BYTES=${BYTES:-0}
RUNS=${RUNS:-3}
DIR=${BENCH_DIR:-$(mktemp -d /tmp/pcapbench.XXXXXX)}
command -v tshark >/dev/null || { echo "bench/pcap.sh: tshark is not installed" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench/pcap.sh: GNU time is not installed at /usr/bin/time" >&2; exit 1; }

F=$DIR/bench.pcap
SMALL=$DIR/small.pcap
go build -o "$DIR/bot" ./cmd/bot
echo "bench: generating $F ($PACKETS packets, at least $BYTES bytes) ..." >&2
go run ./diag/ike/internal/gencap -o "$F" -packets "$PACKETS" -bytes "$BYTES"
go run ./diag/ike/internal/gencap -o "$SMALL" -packets $((PACKETS / 8))

FIELDS="-e frame.number -e isakmp.version -e isakmp.ispi -e isakmp.rspi -e isakmp.exchangetype -e isakmp.messageid -e isakmp.flags -e isakmp.notify.msgtype -e isakmp.frag.number -e esp.spi -e esp.sequence"

# best NAME OUT CMD...: runs CMD $RUNS times with stdout to OUT, keeps the shortest wall time
# and the largest peak RSS.
best() {
	name=$1 out=$2
	shift 2
	bw= brss=0
	i=0
	while [ $i -lt "$RUNS" ]; do
		/usr/bin/time -v -o "$DIR/time.$name" "$@" >"$out" 2>"$DIR/err.$name"
		w=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(k=1;k<=n;k++) s=s*60+a[k]; print s}' "$DIR/time.$name")
		r=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$DIR/time.$name")
		if [ -z "$bw" ] || awk "BEGIN{exit !($w < $bw)}"; then bw=$w; fi
		[ "$r" -gt "$brss" ] && brss=$r
		i=$((i + 1))
	done
	echo "$bw $brss"
}

set -- $(best bot "$DIR/out.bot" "$DIR/bot" pcap summary "$F" --json)
BOT_S=$1 BOT_RSS=$2
# shellcheck disable=SC2086
set -- $(best tshark "$DIR/out.tshark" tshark -n -r "$F" -Y 'isakmp or esp' -T fields -E separator=/t -E occurrence=a -E aggregator=, $FIELDS)
TS_S=$1 TS_RSS=$2
set -- $(best cat /dev/null cat "$F")
CAT_S=$1 CAT_RSS=$2
set -- $(RUNS=1 best small /dev/null "$DIR/bot" pcap summary "$SMALL" --json)
SMALL_RSS=$2

# Correctness: the counts must be tshark's.
ours_pkts=$(sed -n 's/^  "packets": \([0-9]*\),$/\1/p' "$DIR/out.bot")
ours_ike=$(sed -n 's/^  "ike_messages": \([0-9]*\),$/\1/p' "$DIR/out.bot")
ours_esp=$(sed -n 's/^  "esp_packets": \([0-9]*\),$/\1/p' "$DIR/out.bot")
ts_ike=$(awk -F'\t' '$2 != ""' "$DIR/out.tshark" | wc -l)
ts_esp=$(awk -F'\t' '$10 != ""' "$DIR/out.tshark" | wc -l)
if [ "$ours_ike" != "$ts_ike" ] || [ "$ours_esp" != "$ts_esp" ]; then
	echo "bench/pcap.sh: WRONG: ike_messages $ours_ike (tshark $ts_ike), esp_packets $ours_esp (tshark $ts_esp)" >&2
	exit 1
fi

SIZE=$(stat -c %s "$F")
SMALL_SIZE=$(stat -c %s "$SMALL")
awk -v pk="$ours_pkts" -v size="$SIZE" -v bs="$BOT_S" -v ts="$TS_S" -v cs="$CAT_S" \
	-v br="$BOT_RSS" -v tr="$TS_RSS" -v cr="$CAT_RSS" -v sr="$SMALL_RSS" -v ssize="$SMALL_SIZE" \
	-v ike="$ours_ike" -v esp="$ours_esp" -v runs="$RUNS" 'BEGIN {
	mib = 1024 * 1024
	printf "Capture: %d packets, %.0f MiB (%d IKE messages, %d ESP packets; both equal tshark'"'"'s counts). Best of %d runs.\n\n", pk, size / mib, ike, esp, runs
	printf "| reader | wall s | packets/s | MiB/s | peak RSS MiB | speed / tshark | speed / cat |\n|---|---:|---:|---:|---:|---:|---:|\n"
	printf "| `bot pcap summary --json` | %.2f | %.0f | %.0f | %.1f | %.1fx | %.2fx |\n", bs, pk / bs, size / mib / bs, br / 1024, ts / bs, cs / bs
	printf "| `tshark -Y '"'"'isakmp or esp'"'"' -T fields` | %.2f | %.0f | %.0f | %.1f | 1x | %.3fx |\n", ts, pk / ts, size / mib / ts, tr / 1024, cs / ts
	printf "| `cat > /dev/null` | %.2f | %.0f | %.0f | %.1f | | 1x |\n", cs, pk / cs, size / mib / cs, cr / 1024
	printf "\nPeak RSS of `bot pcap summary`: %.1f MiB on %.0f MiB, %.1f MiB on %.0f MiB.\n", sr / 1024, ssize / mib, br / 1024, size / mib
}'
[ -n "${BENCH_DIR:-}" ] || rm -rf "$DIR"
