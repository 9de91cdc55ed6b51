#!/usr/bin/env bash
# The chaos test, longer: CHAOS_RUNS diagnoses (default 200) of the built bot against the lab
# with random faults on the Edge, the Manager and the peer and random SIGKILLs, then the
# invariants (no capture left, no incident left diagnosing, artifacts as recorded, the store's
# check clean, no secret leaked). CHAOS_SEED=N repeats a sequence. Prints one CHAOS line of
# figures at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export CHAOS_RUNS="${CHAOS_RUNS:-200}"
go test -tags chaos -run '^TestChaos$' -count 1 -v -timeout 3h ./cmd/bot | tee /dev/stderr | grep '^CHAOS ' || exit 1
