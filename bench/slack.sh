#!/bin/sh
# bench/slack.sh: acknowledgement latency of 200 concurrent, correctly signed slash commands
# against the bot's real HTTP endpoint (real bbolt store, fake Slack API on loopback), and the
# goroutines left above the baseline once every diagnosis started by them has finished.
#
#   bench/slack.sh            # 5 rounds of 200 commands
#   ROUNDS=10 bench/slack.sh
#
# The command mix is diagnose on three edges (the first per edge opens an incident, the rest
# join it), status, incidents and help. "client" is what Slack would see (connect to reply),
# "handler" what the bot adds (signature check to reply written). Prints a markdown table.
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
out=$(go test ./handlers -run '^$' -bench 'BenchmarkAck_200ConcurrentCommands' -benchtime "${ROUNDS}x" -count 1)
echo "$out" >&2
echo "$out" | awk -v rounds="$ROUNDS" '
/^BenchmarkAck_200ConcurrentCommands/ {
	for (i = 3; i < NF; i += 2) v[$(i+1)] = $i
	printf "| commands | client p50 | client p99 | client max | handler p50 | handler p99 | goroutines left |\n"
	printf "|---|---|---|---|---|---|---|\n"
	printf "| %d x 200 | %s ms | %s ms | %s ms | %s ms | %s ms | %s |\n", rounds, v["p50-ms"], v["p99-ms"], v["max-ms"], v["handler-p50-ms"], v["handler-p99-ms"], v["goroutines-left"]
}'
