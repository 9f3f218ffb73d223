package pool_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"time"

	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/pool"
)

// A Go worker: the same program runs in a Pool and under workerpool,
// worker-farm and jest-worker.
func ExampleServe() {
	ch, err := nodeipc.FromEnv(nil)
	if err != nil {
		log.Fatal(err)
	}
	err = pool.Serve(context.Background(), ch, map[string]pool.Handler{
		"add": func(ctx context.Context, req *pool.Request) (any, error) {
			var a, b float64
			if err := req.Params(&a, &b); err != nil {
				return nil, &pool.CallError{Name: "TypeError", Message: err.Error()}
			}
			return a + b, nil
		},
		"count": func(ctx context.Context, req *pool.Request) (any, error) {
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

// Serve on one end of an in-process pipe, with the other end playing the
// parent: the messages are workerpool's envelope (PROTOCOL.md §10).
func ExampleServe_pipe() {
	parent, worker, err := nodeipc.Pipe(nil)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		done <- pool.Serve(ctx, worker, map[string]pool.Handler{
			"greet": func(ctx context.Context, req *pool.Request) (any, error) {
				var name string
				if err := req.Params(&name); err != nil {
					return nil, err
				}
				return "hello, " + name, nil
			},
		}, nil)
		worker.Close()
	}()

	send := func(msg string) {
		if err := parent.Send(ctx, json.RawMessage(msg)); err != nil {
			log.Fatal(err)
		}
	}
	recv := func() {
		m, err := parent.Recv(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(m)
	}
	recv() // the worker says it is ready
	send(`{"id":1,"method":"greet","params":["ada"]}`)
	recv()
	send(`{"id":2,"method":"shout","params":[]}`)
	recv()
	send(`"__workerpool-terminate__"`)
	fmt.Println(<-done)
	parent.Close()
	// Output:
	// "ready"
	// {"id":1,"result":"hello, ada","error":null}
	// {"id":2,"result":null,"error":{"name":"Error","message":"Unknown method \"shout\"","stack":"Error: Unknown method \"shout\"\n    at <go worker>"}}
	// <nil>
}

// A pool of two Node workers and two Go workers.
func ExamplePool() {
	p, err := pool.New(pool.Options{
		Size: 4,
		Command: func(slot int) *exec.Cmd {
			if slot < 2 {
				return nodeipc.NodeCommand("", nil, "worker.js") // uses the npm package @nodeipc/node
			}
			return exec.Command("./goworker") // uses pool.Serve
		},
		Output: os.Stderr, // "[worker 2 pid 1234 stderr] ..."
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var sum float64
	err = p.Do(ctx, &pool.Call{Method: "add", Params: []any{1, 2}, Result: &sum})
	var callErr *pool.CallError
	var workerErr *pool.WorkerError
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
