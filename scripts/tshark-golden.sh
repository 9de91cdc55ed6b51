#!/bin/sh
# Writes tshark's view of every test capture of diag/ike as golden files, one
# <capture>.tshark.tsv beside each: per frame that tshark's 'isakmp or esp' filter matches,
# the frame number, IKE version, SPIs, exchange type, message ID, flags, notify types,
# SKF fragment number, ESP SPI and sequence (all occurrences, comma-joined).
# diag/ike's TestTsharkGolden compares our decoding with these files field by field, so CI
# needs no tshark. Run from the repository root after changing a capture:
#   scripts/tshark-golden.sh
set -eu
cd "$(dirname "$0")/.."
command -v tshark >/dev/null || { echo "tshark-golden: tshark is not installed" >&2; exit 1; }
go run ./diag/ike/internal/gencap -synthetic diag/ike/testdata/synthetic
find diag/ike/testdata/fixtures diag/ike/testdata/synthetic -name '*.pcap' | sort | while read -r f; do
	tshark -n -r "$f" -Y 'isakmp or esp' -T fields -E separator=/t -E occurrence=a -E aggregator=, \
		-e frame.number -e isakmp.version -e isakmp.ispi -e isakmp.rspi -e isakmp.exchangetype \
		-e isakmp.messageid -e isakmp.flags -e isakmp.notify.msgtype -e isakmp.frag.number \
		-e esp.spi -e esp.sequence 2>/dev/null >"$f.tshark.tsv"
done
echo "tshark-golden: wrote $(find diag/ike/testdata -name '*.tshark.tsv' | wc -l) golden files ($(tshark -v | head -1))"
