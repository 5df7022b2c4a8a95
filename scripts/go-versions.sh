# Go toolchains loophound is checked against, oldest supported to newest:
# one patch release per minor version. Sourced by the scripts that build
# with each (through the Go module proxy: GOTOOLCHAIN=goX.Y.Z go build).
LOOPHOUND_GO_VERSIONS=(go1.19.13 go1.20.14 go1.21.13 go1.22.12 go1.23.12 go1.24.13 go1.25.14 go1.26.8)
