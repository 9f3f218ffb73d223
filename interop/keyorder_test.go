package interop_test

import (
	"context"
	"os"
	"testing"

	"nodeipc.dev/internal/nodetest"
)

// TestKeyOrderThroughGoPeer sends fixed and random values from real Node
// through a Go library peer that decodes every message into an any and
// sends it back (and one that forwards the *Message as it came), in both
// serializations, and checks that Node gets back what a Node echo child
// gives it: the same values with their keys, Map entries and Set values in
// the same order.
func TestKeyOrderThroughGoPeer(t *testing.T) {
	nodetest.ForEach(t, func(t *testing.T, node string) {
		for _, ser := range []string{"json", "advanced"} {
			t.Run(ser, func(t *testing.T) {
				t.Parallel()
				seed := nodetest.Seed(t, "NODEIPC_KEYORDER_SEED")
				nodetest.KeyOrder(t, node, nodetest.KeyOrderSpec{Serialization: ser, Seed: seed, Count: 300,
					Peers: []nodetest.Peer{{Name: "Go decoding into any", How: "spawn", File: os.Args[0]}},
					Env:   []string{"NODEIPC_TEST_HELPER=echo"}})
				nodetest.KeyOrder(t, node, nodetest.KeyOrderSpec{Serialization: ser, Seed: seed, Count: 100,
					Peers: []nodetest.Peer{{Name: "Go forwarding the message", How: "spawn", File: os.Args[0]}},
					Env:   []string{"NODEIPC_TEST_HELPER=echo-raw"}})
			})
		}
	})
}

// TestKeyOrderCheckSeesMaps is the control of the key order tests: a peer
// that decodes into map[string]any (Go's maps have no order) must be seen
// to change the values.
func TestKeyOrderCheckSeesMaps(t *testing.T) {
	node := nodetest.System(t)
	for _, ser := range []string{"json", "advanced"} {
		spec := nodetest.KeyOrderSpec{Serialization: ser, Seed: 1, Count: 20,
			Peers: []nodetest.Peer{{Name: "Go decoding into maps", How: "spawn", File: os.Args[0]}},
			Env:   []string{"NODEIPC_TEST_HELPER=echo-map"}}
		if m := nodetest.KeyOrderMismatches(t, node, spec); len(m) == 0 {
			t.Errorf("%s: a peer decoding into map[string]any changed no value; the check cannot see key order", ser)
		}
	}
}

var _ = registerHelper("echo-map", func() int {
	ch, code := adopt()
	if ch == nil {
		return code
	}
	ctx := context.Background()
	for {
		m, err := ch.Recv(ctx)
		if err != nil {
			ch.Close()
			return 0
		}
		var v any = m
		var obj map[string]any
		if m.Decode(&obj) == nil {
			v = obj
		}
		if err := ch.Send(ctx, v); err != nil {
			return 1
		}
	}
})
