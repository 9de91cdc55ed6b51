#!/bin/sh
# bench/watch.sh: the tunnel watcher and the syslog receiver at scale, with nothing but Go.
#
#   1. one sweep of EDGES lab edges x TUNNELS tunnels behind a simulated NSX Manager (a child
#      process, so its memory is not counted) answering with LATENCY each, CONCURRENCY edges
#      at once, against the ideal EDGES x LATENCY / CONCURRENCY; the watcher's peak RSS
#   2. the store's size after a simulated day of one sweep a minute (HOURS=24)
#   3. the highest syslog datagram rate received over loopback without loss, and the
#      receiver's peak RSS
#
# Prints markdown table rows on stdout (progress on stderr). The figures depend on the
# machine's load: the sweep's row says the load average it ran under.
#
#   bench/watch.sh
#   EDGES=1000 CONCURRENCY=64 bench/watch.sh
set -eu
cd "$(dirname "$0")/.."
EDGES=${EDGES:-500}
TUNNELS=${TUNNELS:-4}
LATENCY=${LATENCY:-50ms}
CONCURRENCY=${CONCURRENCY:-32}
HOURS=${HOURS:-24}
BIN=$(mktemp -d /tmp/watchbench.XXXXXX)
trap 'rm -rf "$BIN"' EXIT
go build -o "$BIN/watchbench" ./bench/watchbench
"$BIN/watchbench" sweep -edges "$EDGES" -tunnels "$TUNNELS" -latency "$LATENCY" -concurrency "$CONCURRENCY"
"$BIN/watchbench" day -edges "$EDGES" -tunnels "$TUNNELS" -hours "$HOURS"
"$BIN/watchbench" syslog
