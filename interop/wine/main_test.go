// Package wine_test proves the Windows channel against real Windows Node.
//
// windows_test.go holds the tests; they run on Windows, against the
// node.exe named by NODEIPC_WIN_NODE. On Linux, wine_test.go builds this
// package, the nodeipc tests and the CLI for Windows and runs them under
// Wine, once per Node major of interop/testdata/windows/package.json
// (interop/wine/setup.sh installs Wine, node.exe and the Wine prefix).
package wine_test

import (
	"testing"

	"go.uber.org/goleak"

	"nodeipc.dev/internal/nodetest"
)

func TestMain(m *testing.M) {
	nodetest.RunHelper()
	goleak.VerifyTestMain(m)
}
