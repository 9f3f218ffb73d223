// Package interop_test runs real Node.js processes against nodeipc, in both
// directions: Node parents with Go children (this test binary, re-executed as
// a helper program) and Go parents with Node children.
package interop_test

import (
	"testing"

	"go.uber.org/goleak"

	"nodeipc.dev/internal/nodetest"
)

func TestMain(m *testing.M) {
	nodetest.RunHelper()
	goleak.VerifyTestMain(m)
}
