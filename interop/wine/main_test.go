// Package wine_test proves the Windows channel against real Windows Node.
//
// windows_test.go holds the tests; they run on Windows, against the
// node.exe named by NODEIPC_WIN_NODE. On Linux, wine_test.go builds this
// package, the nodeipc tests and the CLI for Windows and runs them under
// Wine, once per Node major of interop/testdata/windows/package.json
// (interop/wine/setup.sh installs Wine, node.exe and the Wine prefix).
package wine_test

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
