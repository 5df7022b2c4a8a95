#!/usr/bin/env bash
# matrix.sh: the full Go version matrix of the end-to-end tests. Builds
# loophound, then records samples/goroutine_ids built with every toolchain
# in scripts/go-versions.sh (each also as a cgo and a PIE binary) and checks
# goroutine ids, creation sites and states against what the program printed
# (tests/e2e/version_matrix_test.cpp). CI runs only the smoke subset of
# that test; this runs all of it. Needs root (eBPF); toolchains missing from
# the module cache are fetched through the Go module proxy, and a version
# that cannot be had is reported as skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
# The test binary directly: ctest caches the test list it discovered, so it
# would not see the variable.
LOOPHOUND_GO_MATRIX=full build/tests/e2e_test --gtest_filter='Go/VersionMatrix.*' | grep -E '^(\[|go1|SKIPPED)'

