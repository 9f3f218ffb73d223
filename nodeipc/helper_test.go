package nodeipc_test

import (
	"os"
)

// The test binary doubles as a Go child program: when NODEIPC_TEST_HELPER
// names a helper, TestMain runs it instead of the tests.
var helpers = map[string]func() int{}

func registerHelper(name string, f func() int) bool {
	helpers[name] = f
	return true
}

func runHelper() bool {
	name := os.Getenv("NODEIPC_TEST_HELPER")
	if name == "" {
		return false
	}
	f, ok := helpers[name]
	if !ok {
		os.Stderr.WriteString("unknown helper " + name + "\n")
		os.Exit(2)
	}
	os.Exit(f())
	return true
}
