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
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"

	"nodeipc.dev/interop/bench/poolbench/internal/hashwork"
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
	// hash is the CPU-heavy method (see hashwork).
	"hash": func(ctx context.Context, req *pool.Request) (any, error) {
		var i int
		if err := req.Params(&i); err != nil {
			return nil, err
		}
		return hashwork.Hash(i), nil
	},
}

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
