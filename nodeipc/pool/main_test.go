package pool_test

import (
	"testing"

	"go.uber.org/goleak"
	"nodeipc.dev/internal/nodetest"
)

func TestMain(m *testing.M) {
	nodetest.RunHelper()
	goleak.VerifyTestMain(m)
}
