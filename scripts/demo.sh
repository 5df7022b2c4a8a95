#!/usr/bin/env bash
# README command 1: build, start the bundled sample samples/spin_flag (a
# goroutine spinning forever on a plain bool), record it for 5 s with
# loophound-record, analyze the trace and print the finding. Run as root:
# recording uses eBPF.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "ERROR: the demo records with eBPF and must run as root (sudo $0)" >&2
  exit 1
fi
echo "building loophound (the first time installs packages and takes about two minutes)..."
./scripts/build.sh | grep -E '^(installing|FAILED|ninja: error)' || true
test -x build/bin/loophound && test -x build/bin/loophound-record

out=build/demo
mkdir -p "$out"
go=$(command -v go || echo /usr/local/go/bin/go)
(cd samples && GOTOOLCHAIN=local "$go" build -o "../$out/spin_flag" ./spin_flag)

"$out/spin_flag" -exit-after 60s >"$out/spin_flag.log" 2>&1 &
sample=$!
trap 'kill $sample 2>/dev/null || true' EXIT
sleep 0.5

echo "\$ loophound-record -p $sample -d 5 -o $out/spin_flag.lhtrace"
build/bin/loophound-record -p "$sample" -d 5 -o "$out/spin_flag.lhtrace"
echo
echo "\$ loophound analyze $out/spin_flag.lhtrace"
build/bin/loophound analyze "$out/spin_flag.lhtrace"
