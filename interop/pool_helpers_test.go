package interop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"nodeipc.dev/internal/nodetest"
	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/jsvalue"
	"nodeipc.dev/nodeipc/pool"
)

// poolGoWorker is the Go worker of the pool tests: the same program runs
// under a nodeipc Pool, workerpool, worker-farm, jest-worker and
// @nodeipc/node's fork() (js/). Its methods mirror
// testdata/pool/node-worker.js.
// With NODEIPC_POOL_TRACE set it writes <dir>/<pid> at start and appends
// "exit 0" when it ends cleanly.
func poolGoWorker() int {
	trace := os.Getenv("NODEIPC_POOL_TRACE")
	traceFile := ""
	if trace != "" {
		traceFile = filepath.Join(trace, strconv.Itoa(os.Getpid()))
		os.WriteFile(traceFile, []byte("started\n"), 0o600)
	}
	ch, err := nodeipc.FromEnv(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FromEnv:", err)
		return 3
	}
	err = pool.Serve(context.Background(), ch, goWorkerHandlers(), nil)
	if cerr := ch.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "Serve:", err)
		return 1
	}
	if traceFile != "" {
		f, err := os.OpenFile(traceFile, os.O_APPEND|os.O_WRONLY, 0)
		if err == nil {
			f.WriteString("exit 0\n")
			f.Close()
		}
	}
	return 0
}

func goWorkerHandlers() map[string]pool.Handler {
	return map[string]pool.Handler{
		"add": func(ctx context.Context, req *pool.Request) (any, error) {
			var a, b float64
			err := req.Params(&a, &b)
			return a + b, err
		},
		"echo": func(ctx context.Context, req *pool.Request) (any, error) {
			var v any
			err := req.Params(&v)
			return v, err
		},
		"pid":  func(context.Context, *pool.Request) (any, error) { return os.Getpid(), nil },
		"kind": func(context.Context, *pool.Request) (any, error) { return "go", nil },
		"sleep": func(ctx context.Context, req *pool.Request) (any, error) {
			var ms int
			var v json.RawMessage
			if err := req.Params(&ms, &v); err != nil {
				return nil, err
			}
			t := time.NewTimer(time.Duration(ms) * time.Millisecond)
			defer t.Stop()
			select {
			case <-t.C:
				return v, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
		"fail": func(ctx context.Context, req *pool.Request) (any, error) {
			var msg string
			req.Params(&msg)
			return nil, &pool.CallError{Name: "TypeError", Message: msg,
				Data: errorData("code", "E_BAD")}
		},
		"failWith": func(ctx context.Context, req *pool.Request) (any, error) {
			var code, details any
			if err := req.Params(&code, &details); err != nil {
				return nil, err
			}
			return nil, &pool.CallError{Name: "RangeError", Message: "with values", Data: errorData("code", code, "details", details)}
		},
		"progress": func(ctx context.Context, req *pool.Request) (any, error) {
			var n int
			req.Params(&n)
			for i := range n {
				if err := req.Emit(ctx, map[string]int{"step": i}); err != nil {
					return nil, err
				}
			}
			return "done", nil
		},
		// progressWith sends its parameter as the payload of an event.
		"progressWith": func(ctx context.Context, req *pool.Request) (any, error) {
			var v any
			if err := req.Params(&v); err != nil {
				return nil, err
			}
			return "done", req.Emit(ctx, v)
		},
		// block reports its pid, waits until the call is cancelled and
		// records that in the marker file.
		"block": func(ctx context.Context, req *pool.Request) (any, error) {
			var marker string
			req.Params(&marker)
			if err := req.Emit(ctx, map[string]any{"pid": os.Getpid(), "kind": "go"}); err != nil {
				return nil, err
			}
			<-ctx.Done()
			if marker != "" {
				os.WriteFile(marker, []byte("cancelled"), 0o600)
			}
			return nil, ctx.Err()
		},
		"crash": func(context.Context, *pool.Request) (any, error) {
			fmt.Fprintln(os.Stderr, "go worker crashing")
			os.Exit(3)
			return nil, nil
		},
		"default": func(ctx context.Context, req *pool.Request) (any, error) {
			return "default:" + strconv.Itoa(req.NumParams()), nil
		},
	}
}

// goWorkerEnv is the environment that makes the test binary a Go pool
// worker.
func goWorkerEnv(trace string) []string {
	env := append(os.Environ(), "NODEIPC_TEST_HELPER=pool-go-worker",
		// A race-enabled binary otherwise sleeps a second at exit.
		"GORACE=atexit_sleep_ms=0")
	if trace != "" {
		env = append(env, "NODEIPC_POOL_TRACE="+trace)
	}
	return env
}

func goWorkerCmd(trace string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = goWorkerEnv(trace)
	return cmd
}

// poolParent is a Go parent with a pool of one Node and one Go worker. It
// prints {"node":pid,"go":pid} once both run a call, then waits to be
// killed.
func poolParent() int {
	node := os.Getenv("NODEIPC_PARENT_NODE")
	p, err := pool.New(pool.Options{
		Size: 2,
		Command: func(slot int) *exec.Cmd {
			if slot == 0 {
				return nodeipc.NodeCommand(node, nil, nodetest.JS("pool/node-worker.js"))
			}
			return goWorkerCmd("")
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pids := map[string]int{}
	var mu sync.Mutex
	both := make(chan struct{})
	for range 2 {
		go p.Do(context.Background(), &pool.Call{Method: "block", Params: []any{""}, Progress: func(e pool.Event) {
			var v struct {
				Pid  int
				Kind string
			}
			e.Decode(&v)
			mu.Lock()
			defer mu.Unlock()
			pids[v.Kind] = v.Pid
			if len(pids) == 2 {
				close(both)
			}
		}})
	}
	<-both
	mu.Lock()
	b, _ := json.Marshal(pids)
	mu.Unlock()
	fmt.Println(string(b))
	select {}
}

var (
	_ = nodetest.RegisterHelper("pool-go-worker", poolGoWorker)
	_ = nodetest.RegisterHelper("pool-parent", poolParent)
)

// errorData makes a CallError's Data of keys and values.
func errorData(kv ...any) *jsvalue.Object {
	o := &jsvalue.Object{}
	for i := 0; i+1 < len(kv); i += 2 {
		o.Set(kv[i].(string), kv[i+1])
	}
	return o
}

// dataOf returns the property k of ce's Data.
func dataOf(ce *pool.CallError, k string) any {
	v, _ := ce.Data.Get(k)
	return v
}
