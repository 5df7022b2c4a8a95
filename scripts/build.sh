#!/usr/bin/env bash
# Installs what is missing (Debian packages), then configures and builds
# loophound into build/ (binaries in build/bin). Used by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
build_type=${LOOPHOUND_BUILD_TYPE:-RelWithDebInfo}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$build_type" ${LOOPHOUND_CMAKE_ARGS:-} >/dev/null
ninja -C build
