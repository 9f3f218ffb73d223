// Package interop_test runs real Node.js processes against nodeipc, in both
// directions: Node parents with Go children (this test binary, re-executed as
// a helper program) and Go parents with Node children.
package interop_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// helpers are Go child programs; the test binary runs one instead of the
// tests when NODEIPC_TEST_HELPER names it.
var helpers = map[string]func() int{}

func registerHelper(name string, f func() int) bool {
	helpers[name] = f
	return true
}

func TestMain(m *testing.M) {
	if name := os.Getenv("NODEIPC_TEST_HELPER"); name != "" {
		f, ok := helpers[name]
		if !ok {
			os.Stderr.WriteString("unknown helper " + name + "\n")
			os.Exit(2)
		}
		os.Exit(f())
	}
	goleak.VerifyTestMain(m)
}
