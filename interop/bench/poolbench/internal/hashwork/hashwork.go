// Package hashwork is the pool benchmark's CPU-heavy method, hash(i), for
// its Go workers (interop/bench/poolbench/worker and floorworker); the
// Node worker computes the same with node:crypto
// (interop/testdata/bench/pool/wp-worker.js), and the callers check the
// answers with code of their own.
package hashwork

import (
	"crypto/sha256"
	"encoding/hex"
)

// block is the fixed 4 KiB: byte k is (31k + 7) % 256.
var block = func() []byte {
	b := make([]byte, 4096)
	for k := range b {
		b[k] = byte(31*k + 7)
	}
	return b
}()

// Hash returns the SHA-256, in hex, of the byte i % 256 followed by the
// fixed 4 KiB block.
func Hash(i int) string {
	h := sha256.New()
	h.Write([]byte{byte(i)})
	h.Write(block)
	return hex.EncodeToString(h.Sum(nil))
}
