package nodeipc_test

import (
	"testing"

	"go.uber.org/goleak"

	"nodeipc.dev/internal/nodetest"
)

func TestMain(m *testing.M) {
	nodetest.RunHelper()
	// runtime.handleEvent is js/wasm's own goroutine for events from the
	// host, not one of ours.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("runtime.handleEvent"))
}
