package nodetest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Peer is a program interop/testdata/keyorder.js puts in the middle of a
// channel: started with fork (File is the script, ExecPath and ExecArgv
// as fork's options) or spawn (File is the program), with 'ipc' on fd 3.
type Peer struct {
	Name     string   `json:"name"`
	How      string   `json:"how"`
	File     string   `json:"file"`
	Args     []string `json:"args,omitempty"`
	ExecPath string   `json:"execPath,omitempty"`
	ExecArgv []string `json:"execArgv,omitempty"`
}

// ForEachSerialization runs f as a parallel subtest for every binary of
// All and each of Node's serializations, "json" and "advanced".
func ForEachSerialization(t *testing.T, f func(t *testing.T, node, serialization string)) {
	ForEach(t, func(t *testing.T, node string) {
		for _, ser := range []string{"json", "advanced"} {
			t.Run(ser, func(t *testing.T) {
				t.Parallel()
				f(t, node, ser)
			})
		}
	})
}

// Seed returns the seed of a randomized test: the value of the
// environment variable env, to replay a failure, or else a new one every
// run, logged with how to replay it.
func Seed(t testing.TB, env string) uint32 {
	t.Helper()
	if s := os.Getenv(env); s != "" {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			t.Fatalf("%s: %v", env, err)
		}
		return uint32(n)
	}
	seed := uint32(time.Now().UnixNano())
	t.Logf("random values from seed %d (%s=%d replays them)", seed, env, seed)
	return seed
}

// KeyOrderSpec says what interop/testdata/keyorder.js does.
type KeyOrderSpec struct {
	// Serialization is the channels': "json" or "advanced".
	Serialization string
	// Seed makes the random values (see Seed); Count is how many.
	Seed  uint32
	Count int
	// Peers are the programs the values go through.
	Peers []Peer
	// NoSharing leaves out the values that hold an object twice, or
	// themselves, for peers that carry values as JSON text, which cannot
	// say so.
	NoSharing bool
	// Env is added to the environment of Node, and so of its children.
	Env []string
}

// KeyOrder runs interop/testdata/keyorder.js with node: a fixed set of
// values chosen for key order, and spec.Count random ones made from
// spec.Seed, go through a Node echo child and through each peer, and every
// reply must be the same to JavaScript as Node's, key order included
// (Object.keys, Map and Set order, holes, shared objects).
func KeyOrder(t testing.TB, node string, spec KeyOrderSpec) {
	t.Helper()
	for _, m := range KeyOrderMismatches(t, node, spec) {
		t.Errorf("%s changed value %d:\n got  %s\n want %s", m.Peer, m.Index, m.Got, m.Want)
	}
}

// Mismatch is a reply of a peer that differs from Node's reply: each is
// the JSON of keyorder.js's description of the value.
type Mismatch struct {
	Peer      string `json:"peer"`
	Index     int    `json:"index"`
	Got, Want string
}

// KeyOrderMismatches runs keyorder.js (see KeyOrder) and returns the
// replies that differ.
func KeyOrderMismatches(t testing.TB, node string, spec KeyOrderSpec) []Mismatch {
	t.Helper()
	specJSON, err := json.Marshal(map[string]any{"serialization": spec.Serialization, "seed": spec.Seed,
		"count": spec.Count, "peers": spec.Peers, "noSharing": spec.NoSharing})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	script := JS("keyorder.js")
	cmd := exec.CommandContext(ctx, node, script, string(specJSON))
	cmd.Env = append(os.Environ(), spec.Env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("keyorder.js: %v\nstdout: %s\nstderr: %s", err, &stdout, &stderr)
	}
	var res struct {
		Compared   int        `json:"compared"`
		Mismatches []Mismatch `json:"mismatches"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("keyorder.js printed %q: %v\nstderr: %s", &stdout, err, &stderr)
	}
	if res.Compared < len(spec.Peers)*spec.Count {
		t.Fatalf("keyorder.js compared %d replies; want at least %d", res.Compared, len(spec.Peers)*spec.Count)
	}
	return res.Mismatches
}
