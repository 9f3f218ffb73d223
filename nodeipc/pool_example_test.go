package nodeipc_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"time"

	"nodeipc.dev/nodeipc"
)

// A Go worker: the same program runs in a nodeipc Pool and under
// workerpool, worker-farm and jest-worker.
func ExampleServe() {
	ch, err := nodeipc.FromEnv(nil)
	if err != nil {
		log.Fatal(err)
	}
	err = nodeipc.Serve(context.Background(), ch, map[string]nodeipc.Handler{
		"add": func(ctx context.Context, req *nodeipc.Request) (any, error) {
			var a, b float64
			if err := req.Params(&a, &b); err != nil {
				return nil, &nodeipc.CallError{Name: "TypeError", Message: err.Error()}
			}
			return a + b, nil
		},
		"count": func(ctx context.Context, req *nodeipc.Request) (any, error) {
			for i := range 3 {
				if err := req.Emit(ctx, i); err != nil { // progress event
					return nil, err
				}
			}
			return "done", ctx.Err()
		},
	}, nil)
	ch.Close()
	if err != nil {
		os.Exit(1)
	}
}

// A pool of two Node workers and two Go workers.
func ExamplePool() {
	pool, err := nodeipc.NewPool(nodeipc.PoolOptions{
		Size: 4,
		Command: func(slot int) *exec.Cmd {
			if slot < 2 {
				return nodeipc.NodeCommand("", nil, "worker.js") // uses js/nodeipc-worker.js
			}
			return exec.Command("./goworker") // uses nodeipc.Serve
		},
		Output: os.Stderr, // "[worker 2 pid 1234 stderr] ..."
	})
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var sum float64
	err = pool.Do(ctx, &nodeipc.Call{Method: "add", Params: []any{1, 2}, Result: &sum})
	var callErr *nodeipc.CallError
	var workerErr *nodeipc.WorkerError
	switch {
	case errors.As(err, &callErr): // the method failed
		fmt.Println(callErr.Name, callErr.Message)
	case errors.As(err, &workerErr): // the worker died: which, why, its last stderr lines
		fmt.Println(workerErr.Worker, workerErr.Reason, workerErr.Stderr)
	case err != nil: // ctx.Err(), or net.ErrClosed after Close
		fmt.Println(err)
	default:
		fmt.Println(sum)
	}
}
