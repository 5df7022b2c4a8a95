#!/usr/bin/env bash
# README command 2: build, then run every test (unit, golden, and the
# end-to-end tests that record real Go programs with eBPF; those print
# "SKIPPED: <reason>" when not run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
# The end-to-end tests are marked RUN_SERIAL (they measure CPU share), so
# -j2 runs the unit tests in parallel and those one at a time.
ctest --test-dir build --output-on-failure -j2
