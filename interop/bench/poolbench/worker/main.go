// Command worker is the Go worker of the pool benchmark
// (interop/bench/poolbench): pool.Serve with the methods of
// interop/testdata/bench/pool/wp-worker.js: add, echo and hash. It runs
// unmodified under a Pool and under workerpool (forkOpts.execPath), and
// ignores its arguments.
// With POOLBENCH_CPUPROFILE=DIR in its environment it writes a CPU profile
// to DIR/worker-PID.pprof when it exits cleanly.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"

	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/pool"
)

// payload is the echo call's parameter and result:
// {"id":N,"op":"echo","payload":"xxxxxxxxxxxxxxxxxxxx"}.
type payload struct {
	ID      int    `json:"id"`
	Op      string `json:"op"`
	Payload string `json:"payload"`
}

// handlers are the worker's methods. echo decodes into a typed struct and
// encodes it again, as a real Go worker would.
var handlers = map[string]pool.Handler{
	"add": func(ctx context.Context, req *pool.Request) (any, error) {
		var a, b float64
		err := req.Params(&a, &b)
		return a + b, err
	},
	"echo": func(ctx context.Context, req *pool.Request) (any, error) {
		var v payload
		err := req.Params(&v)
		return v, err
	},
	// hash is the CPU-heavy method: the SHA-256, in hex, of the byte
	// i % 256 followed by block.
	"hash": func(ctx context.Context, req *pool.Request) (any, error) {
		var i int
		if err := req.Params(&i); err != nil {
			return nil, err
		}
		h := sha256.New()
		h.Write([]byte{byte(i)})
		h.Write(block)
		return hex.EncodeToString(h.Sum(nil)), nil
	},
}

// block is hash's fixed 4 KiB: byte k is (31k + 7) % 256.
var block = func() []byte {
	b := make([]byte, 4096)
	for k := range b {
		b[k] = byte(31*k + 7)
	}
	return b
}()

func main() {
	if dir := os.Getenv("POOLBENCH_CPUPROFILE"); dir != "" {
		f, err := os.Create(filepath.Join(dir, "worker-"+strconv.Itoa(os.Getpid())+".pprof"))
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() {
				pprof.StopCPUProfile()
				f.Close()
			}()
		}
	}
	if err := serve(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// serve answers calls until the parent stops the worker or goes away.
func serve() error {
	ch, err := nodeipc.FromEnv(nil)
	if err != nil {
		return err
	}
	err = pool.Serve(context.Background(), ch, handlers, nil)
	if cerr := ch.Close(); err == nil {
		err = cerr
	}
	return err
}
