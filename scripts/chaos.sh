#!/usr/bin/env bash
# The chaos tests, longer. CHAOS_SEED=N repeats a sequence.
#
#   scripts/chaos.sh [diagnose]  CHAOS_RUNS diagnoses (default 200) of the built bot against the
#       lab with random faults on the Edge, the Manager and the peer and random SIGKILLs, then
#       the invariants (no capture left, no incident left diagnosing, artifacts as recorded, the
#       store's check clean, no secret leaked). Prints one CHAOS line of figures.
#   scripts/chaos.sh serve       CHAOS_SERVE_RUNS incidents (default 100) through `bot serve`:
#       /ipsec diagnose, escalate, commander, update, resolve, with random Slack faults (429
#       with Retry-After, 5xx, error codes, answers late or held after acting, outages longer
#       than the retries), the same lab faults and random SIGKILLs of the bot (started again on
#       the same store), then the invariants (no exit but ours, no panic, every incident asked
#       for in the store, every op done or failed with its reason, no capture left, the store's
#       check clean, no secret in Slack, the logs or the store). Prints a CHAOS-SERVE table.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-diagnose}" in
diagnose)
	export CHAOS_RUNS="${CHAOS_RUNS:-200}"
	test='^TestChaos$' prefix='^CHAOS ' ;;
serve)
	export CHAOS_SERVE_RUNS="${CHAOS_SERVE_RUNS:-100}"
	test='^TestChaosServe$' prefix='^CHAOS-SERVE ' ;;
*)
	echo "usage: $0 [diagnose|serve]" >&2
	exit 2 ;;
esac
go test -tags chaos -run "$test" -count 1 -v -timeout 3h ./cmd/bot | tee /dev/stderr | grep "$prefix" || exit 1
