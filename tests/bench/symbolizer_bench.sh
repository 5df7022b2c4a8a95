#!/usr/bin/env bash
# symbolizer_bench.sh [--build-dir DIR] [--distinct N] [--samples N] [--seed N]
#
# Builds samples/spin_compute with the machine's Go (a plain build: it has
# DWARF for libdw and llvm-symbolizer, and .gopclntab) and runs
# symbolizer_bench on it: 100,000 trace-like addresses (5,000 distinct,
# Zipf-distributed) resolved by our DwarfSymbolizer and PclntabSymbolizer
# (cold and warm), llvm-symbolizer and go tool addr2line, in one run.
# Prints a Markdown table of addresses/second. Needs symbolizer_bench
# built: cmake --build DIR --target symbolizer_bench.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build=$2; shift ;;
    --distinct|--samples|--seed) args+=("$1" "$2"); shift ;;
    *) echo "ERROR: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
bench=$build/bin/symbolizer_bench
if [ ! -x "$bench" ]; then
  echo "ERROR: '$bench' not found; build it with: cmake --build $build --target symbolizer_bench" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go=$(command -v go || echo /usr/local/go/bin/go)
(cd samples && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false "$go" build -o "$work/spin_compute" ./spin_compute)
"$bench" "$work/spin_compute" "${args[@]}"
