package interop_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"nodeipc.dev/internal/nodetest"
)

// runParent runs testdata/parent.js with a scenario against this test binary as
// the Go child, and checks that Node's own assertions passed.
func runParent(t *testing.T, node, scenario string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{nodetest.JS("parent.js"), scenario, os.Args[0]}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil || !strings.HasPrefix(stdout.String(), "ok ") {
		t.Fatalf("node parent.js %s: %v\nstdout: %s\nstderr: %s", scenario, err, stdout.String(), stderr.String())
	}
	t.Log(strings.TrimSpace(stdout.String()))
	return stdout.String()
}

func TestNodeParentGoChildAdvanced(t *testing.T) {
	nodetest.ForEach(t, func(t *testing.T, node string) {
		for _, scenario := range []string{"advEcho", "advLarge", "order", "internal", "burstExit"} {
			t.Run(scenario, func(t *testing.T) { runParent(t, node, scenario, "advanced") })
		}
	})
}

func TestNodeParentGoChild(t *testing.T) {
	nodetest.ForEach(t, func(t *testing.T, node string) {
		for _, scenario := range []string{"order", "strings", "big", "internal", "env", "goDisconnects", "burstExit", "stdio"} {
			t.Run(scenario, func(t *testing.T) { runParent(t, node, scenario) })
		}
	})
}
