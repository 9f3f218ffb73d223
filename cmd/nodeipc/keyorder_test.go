package main

import (
	"strings"
	"testing"

	"nodeipc.dev/internal/nodetest"
)

// TestKeyOrderThroughCLI sends fixed and random values from real Node
// through `nodeipc echo` and through `nodeipc bridge` running cat (the
// values cross as JSON lines, in the JSON view with advanced
// serialization), in both serializations, and checks that Node gets back
// what a Node echo child gives it, key order included.
func TestKeyOrderThroughCLI(t *testing.T) {
	cat := nodetest.RequireProgram(t, "cat")
	nodetest.ForEach(t, func(t *testing.T, node string) {
		for _, ser := range []string{"json", "advanced"} {
			t.Run(ser, func(t *testing.T) {
				t.Parallel()
				seed := nodetest.Seed(t, "NODEIPC_KEYORDER_SEED")
				nodetest.KeyOrder(t, node, nodetest.KeyOrderSpec{Serialization: ser, Seed: seed, Count: 200,
					Peers: []nodetest.Peer{{Name: "nodeipc echo", How: "fork", File: "ignored.js", ExecPath: nodeipcPath(), ExecArgv: []string{"echo"}}}})
				// JSON text cannot say that an object is shared.
				nodetest.KeyOrder(t, node, nodetest.KeyOrderSpec{Serialization: ser, Seed: seed, Count: 200, NoSharing: true,
					Peers: []nodetest.Peer{{Name: "nodeipc bridge -- cat", How: "spawn", File: nodeipcPath(), Args: []string{"bridge", "--", cat}}}})
			})
		}
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
