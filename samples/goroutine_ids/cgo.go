//go:build cgo_probe

// Built only with `-tags cgo_probe` (and CGO_ENABLED=1): one C function
// makes the binary a cgo one, externally linked by the system linker, whose
// TLS layout puts g at a different offset from fsbase than a pure-Go
// binary's. The recorder must find g there too.
package main

/*
static int loophound_cgo_probe(int x) { return x + 1; }
*/
import "C"

import "fmt"

func init() {
	fmt.Println("cgo=" + fmt.Sprint(int(C.loophound_cgo_probe(41))))
}
