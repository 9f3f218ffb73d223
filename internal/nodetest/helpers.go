package nodetest

import "os"

// The test binary doubles as a Go child program: a test starts it again
// with NODEIPC_TEST_HELPER naming a helper, and TestMain calls RunHelper,
// which runs that helper instead of the tests.

// helpers are the registered helper programs, by name.
var helpers = map[string]func() int{}

// RegisterHelper registers f as the helper program name, whose result is
// the process's exit status. It returns true, so that a test file can
// register with a package-level var _ = RegisterHelper(...).
func RegisterHelper(name string, f func() int) bool {
	helpers[name] = f
	return true
}

// RunHelper runs the helper that NODEIPC_TEST_HELPER names and exits with
// its status; it returns if the variable is not set, and exits with status
// 2 if it names no registered helper.
func RunHelper() {
	name := os.Getenv("NODEIPC_TEST_HELPER")
	if name == "" {
		return
	}
	f, ok := helpers[name]
	if !ok {
		os.Stderr.WriteString("unknown helper " + name + "\n")
		os.Exit(2)
	}
	os.Exit(f())
}
