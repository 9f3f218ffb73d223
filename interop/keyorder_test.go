package interop_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"nodeipc.dev/internal/nodetest"
	"nodeipc.dev/nodeipc"
)

// TestKeyOrderThroughGoPeer sends fixed and random values from real Node
// through a Go library peer that decodes every message into an any and
// sends it back (with Decode, and with Message.Value, whose memory the
// next messages reuse), and one that forwards the *Message as it came, in
// both serializations, and checks that Node gets back what a Node echo
// child gives it: the same values with their keys, Map entries and Set
// values in the same order.
func TestKeyOrderThroughGoPeer(t *testing.T) {
	nodetest.ForEachSerialization(t, func(t *testing.T, node, ser string) {
		seed := nodetest.Seed(t, "NODEIPC_KEYORDER_SEED")
		nodetest.KeyOrder(t, node, nodetest.KeyOrderSpec{Serialization: ser, Seed: seed, Count: 300,
			Peers: []nodetest.Peer{{Name: "Go decoding into any", How: "spawn", File: os.Args[0]}},
			Env:   []string{"NODEIPC_TEST_HELPER=echo"}})
		nodetest.KeyOrder(t, node, nodetest.KeyOrderSpec{Serialization: ser, Seed: seed, Count: 300,
			Peers: []nodetest.Peer{{Name: "Go decoding with Message.Value", How: "spawn", File: os.Args[0]}},
			Env:   []string{"NODEIPC_TEST_HELPER=echo-value"}})
		nodetest.KeyOrder(t, node, nodetest.KeyOrderSpec{Serialization: ser, Seed: seed, Count: 100,
			Peers: []nodetest.Peer{{Name: "Go forwarding the message", How: "spawn", File: os.Args[0]}},
			Env:   []string{"NODEIPC_TEST_HELPER=echo-raw"}})
	})
}

// TestKeyOrderAcrossSerializations sends values from a Node parent on a
// json channel through a Go relay to a Node echo child on an advanced
// channel and back: the relay forwards each *Message, so Send re-encodes
// it from JSON to V8 and from V8 to JSON.
func TestKeyOrderAcrossSerializations(t *testing.T) {
	nodetest.ForEach(t, func(t *testing.T, node string) {
		nodetest.KeyOrder(t, node, nodetest.KeyOrderSpec{Serialization: "json", Seed: nodetest.Seed(t, "NODEIPC_KEYORDER_SEED"), Count: 200,
			Peers: []nodetest.Peer{{Name: "Go relay to an advanced child", How: "spawn", File: os.Args[0]}},
			Env:   []string{"NODEIPC_TEST_HELPER=relay-advanced", "NODEIPC_RELAY_NODE=" + node}})
	})
}

// relay-advanced forwards each message of its json parent to a Node echo
// child on an advanced channel, and the reply back, as *Message values.
var _ = nodetest.RegisterHelper("relay-advanced", func() int {
	parent, code := adopt()
	if parent == nil {
		return code
	}
	defer parent.Close()
	script := nodetest.JS("keyorder.js")
	cmd := nodeipc.NodeCommand(os.Getenv("NODEIPC_RELAY_NODE"), nil, script, "--echo")
	cmd.Stderr = os.Stderr
	child, err := nodeipc.Start(cmd, &nodeipc.Options{Serialization: nodeipc.Advanced})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		return 1
	}
	defer func() {
		child.Close()
		cmd.Wait()
	}()
	ctx := context.Background()
	for {
		m, err := parent.Recv(ctx)
		if err != nil {
			return 0 // the parent disconnected
		}
		if err := child.Send(ctx, m); err != nil {
			fmt.Fprintln(os.Stderr, "to the child:", err)
			return 1
		}
		reply, err := child.Recv(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "from the child:", err)
			return 1
		}
		if err := parent.Send(ctx, reply); err != nil {
			fmt.Fprintln(os.Stderr, "to the parent:", err)
			return 1
		}
	}
})

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
