package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"nodeipc.dev/internal/nodetest"
)

// TestKeyOrderThroughCLI sends fixed and random values from real Node
// through `nodeipc echo` and through `nodeipc bridge` running cat (the
// values cross as JSON lines, in the JSON view with advanced
// serialization), in both serializations, and checks that Node gets back
// what a Node echo child gives it, key order included.
func TestKeyOrderThroughCLI(t *testing.T) {
	cat := nodetest.RequireProgram(t, "cat")
	nodetest.ForEachSerialization(t, func(t *testing.T, node, ser string) {
		seed := nodetest.Seed(t, "NODEIPC_KEYORDER_SEED")
		nodetest.KeyOrder(t, node, nodetest.KeyOrderSpec{Serialization: ser, Seed: seed, Count: 200,
			Peers: []nodetest.Peer{{Name: "nodeipc echo", How: "fork", File: "ignored.js", ExecPath: nodeipcPath(), ExecArgv: []string{"echo"}}}})
		// JSON text cannot say that an object is shared.
		nodetest.KeyOrder(t, node, nodetest.KeyOrderSpec{Serialization: ser, Seed: seed, Count: 200, NoSharing: true,
			Peers: []nodetest.Peer{{Name: "nodeipc bridge -- cat", How: "spawn", File: nodeipcPath(), Args: []string{"bridge", "--", cat}}}})
	})
}

// TestRunKeepsKeyOrder checks both directions of `nodeipc run`: a line
// read from stdin reaches the Node child with its keys in order (the child
// reports Object.keys of what it got), and the child's message is printed
// with its keys in order.
func TestRunKeepsKeyOrder(t *testing.T) {
	nodetest.ForEach(t, func(t *testing.T, node string) {
		for _, ser := range []string{"json", "advanced"} {
			t.Run(ser, func(t *testing.T) {
				t.Parallel()
				in := `{"op":"keys","value":{"b":1,"2":"two","a":{"y":[{"q":1,"p":2}],"x":2},"1":"one"}}` + "\n"
				want := []string{
					`{"keys":["1","2","b","a"],"inner":["y","x"],"deep":["q","p"]}`,
					`{"echo":{"1":"one","2":"two","b":1,"a":{"y":[{"q":1,"p":2}],"x":2}}}`,
				}
				if ser == "advanced" {
					in = `{"op":"keys","value":{"b":1,"2":"two","a":{"y":[{"q":1,"p":2}],"x":{"$js":"Map","entries":[[{"d":1,"c":2},{"f":1,"e":2}]]}},"1":"one"}}` + "\n"
					want[1] = `{"echo":{"1":"one","2":"two","b":1,"a":{"y":[{"q":1,"p":2}],"x":{"$js":"Map","entries":[[{"d":1,"c":2},{"f":1,"e":2}]]}}}}`
				}
				status, stdout, stderr := runCLI(t, node, in, "run", "--serialization", ser, testdata(t, "child.js"))
				if status != 0 {
					t.Fatalf("status %d\nstderr:\n%s", status, stderr)
				}
				lines := strings.Split(strings.TrimSpace(stdout), "\n")
				if len(lines) != 3 || lines[1] != want[0] || lines[2] != want[1] {
					t.Errorf("stdout:\n%s\nwant after the ready line:\n%s", stdout, strings.Join(want, "\n"))
				}
			})
		}
	})
}

// TestPoolCommandKeepsKeyOrder runs `nodeipc pool` on a Node worker and on
// a Go worker (pool.Serve) in both serializations: the parameters reach
// the worker with their keys in the order of the input line, and the
// result is printed in the order the worker sent it (with advanced
// serialization in the JSON view, so the Map stays a Map).
func TestPoolCommandKeepsKeyOrder(t *testing.T) {
	poolTestEnv(t)
	node := nodetest.System(t)
	script := filepath.Join(nodetest.Root(), "interop", "testdata", "pool", "node-worker.js")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	value := map[string]string{
		"json":     `{"b":1,"2":"two","a":{"y":[{"q":1,"p":2}],"x":2},"1":"one"}`,
		"advanced": `{"b":1,"2":"two","a":{"y":[{"q":1,"p":2}],"x":{"$js":"Map","entries":[[{"$js":"bigint","value":"1"},{"d":1,"c":2}]]}},"1":"one"}`,
	}
	want := map[string]string{
		"json":     `{"1":"one","2":"two","b":1,"a":{"y":[{"q":1,"p":2}],"x":2}}`,
		"advanced": `{"1":"one","2":"two","b":1,"a":{"y":[{"q":1,"p":2}],"x":{"$js":"Map","entries":[[{"$js":"bigint","value":"1"},{"d":1,"c":2}]]}}}`,
	}
	for _, ser := range []string{"json", "advanced"} {
		for _, worker := range [][]string{{node, script}, {self}} {
			var cfg poolConfig
			cfg.Workers, cfg.Concurrency, cfg.Args = 1, 1, worker
			if err := cfg.Serialization.UnmarshalText([]byte(ser)); err != nil {
				t.Fatal(err)
			}
			// The Go worker's sleep(ms, v) and the Node worker's return v.
			input := `{"id":1,"method":"sleep","params":[0,` + value[ser] + `]}` + "\n"
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			code := runPool(ctx, cfg, strings.NewReader(input), &stdout, &stderr)
			cancel()
			if line := `{"id":1,"result":` + want[ser] + "}\n"; code != poolExitOK || stdout.String() != line {
				t.Errorf("%s, %s worker: exit %d, stdout %q; want %q\nstderr:\n%s", ser, filepath.Base(worker[len(worker)-1]), code, stdout.String(), line, stderr.String())
			}
		}
	}
}
