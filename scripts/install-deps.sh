#!/usr/bin/env bash
# Installs, from Debian packages, whatever loophound needs to build and test
# and is not on this machine yet. Safe to run again: it only installs what is
# missing, and runs `apt-get update` only when something is.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  clang llvm llvm-dev            # BPF compilation (clang -target bpf) and the MC disassembler
  libbpf-dev bpftool             # BPF loading and skeleton generation
  libelf-dev libdw-dev zlib1g-dev libzstd-dev
  libboost-program-options-dev
  libsqlite3-dev sqlite3
  nlohmann-json3-dev libfmt-dev
  googletest libgtest-dev
  binutils                       # readelf/objdump, used by tests to cross-check
  jq                             # samples/evaluate.sh reads the analyzer's JSON
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# A Go toolchain only if none is on PATH (the samples are Go programs).
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
  missing+=(golang-go)
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ERROR: missing packages (${missing[*]}) and not root: run as root or install them" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
