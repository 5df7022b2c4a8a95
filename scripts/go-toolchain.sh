#!/usr/bin/env bash
# go-toolchain.sh VERSION: prints the path of a `go` command for VERSION
# (e.g. go1.22.12), fetching it through the Go module proxy on first use
# (GOTOOLCHAIN=VERSION). Exits 1 with a message when it cannot be had.
#
# Toolchains before Go 1.21 cannot build modules from where the proxy puts
# them (inside the module cache, `go build` fails with 'import "": import
# of unknown directory'), so those are copied once to ~/.cache/loophound-go.
set -euo pipefail
version=$1
# A user's go env file may set flags old toolchains do not know (GOFLAGS=
# -buildvcs=false breaks Go 1.16/1.17); toolchains run with a clean one.
export GOENV=off GOFLAGS=
go=$(command -v go || echo /usr/local/go/bin/go)
if [ "$("$go" env GOVERSION 2>/dev/null)" = "$version" ]; then
  echo "$go"
  exit 0
fi
if ! GOTOOLCHAIN=$version "$go" version >/dev/null 2>&1; then
  echo "cannot fetch $version through the Go module proxy" >&2
  exit 1
fi
root=$(GOTOOLCHAIN=$version "$go" env GOROOT)
minor=$(echo "$version" | sed -E 's/^go1\.([0-9]+).*/\1/')
if [ "$minor" -lt 21 ]; then
  copy=${XDG_CACHE_HOME:-$HOME/.cache}/loophound-go/$version
  if [ ! -x "$copy/bin/go" ]; then
    mkdir -p "$(dirname "$copy")"
    rm -rf "$copy.tmp"
    cp -r "$root" "$copy.tmp"
    chmod -R u+w "$copy.tmp"
    mv "$copy.tmp" "$copy"
  fi
  root=$copy
fi
echo "$root/bin/go"
