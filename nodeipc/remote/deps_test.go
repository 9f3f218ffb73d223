package remote_test

import (
	"os/exec"
	"strings"
	"testing"

	"nodeipc.dev/internal/nodetest"
)

// The NATS dependencies stay in this package: the channel and the local
// pool build without them.
func TestCoreDoesNotImportNATS(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		nodetest.Missing(t, "no go command on PATH: %v", err)
	}
	// The check itself: this package does depend on NATS.
	out, err := exec.Command(gobin, "list", "-deps", "nodeipc.dev/nodeipc/remote").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "github.com/nats-io/nats.go\n") {
		t.Fatalf("go list -deps nodeipc.dev/nodeipc/remote does not list nats.go: %v\n%s", err, out)
	}
	for _, pkg := range []string{"nodeipc.dev/nodeipc", "nodeipc.dev/nodeipc/pool"} {
		out, err := exec.Command(gobin, "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.Contains(dep, "nats-io") || strings.HasPrefix(dep, "nodeipc.dev/nodeipc/remote") {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}
