// Command goworker is the Go worker of the npm package's tests (js/test):
// pool.Serve with a few methods that exercise results, errors, progress
// events, cancellation and crashes. The tests build it with
// `go build ./interop/testdata/goworker` and start it with the package's
// fork(), in either serialization.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/jsvalue"
	"nodeipc.dev/nodeipc/pool"
)

// cancelled counts the block calls whose context ended.
var cancelled atomic.Int64

// handlers are the worker's methods.
var handlers = map[string]pool.Handler{
	// add(a, b) returns a + b.
	"add": func(ctx context.Context, req *pool.Request) (any, error) {
		var a, b float64
		if err := req.Params(&a, &b); err != nil {
			return nil, &pool.CallError{Name: "TypeError", Message: err.Error()}
		}
		return a + b, nil
	},
	// echo(v) returns v as it arrived, decoded into the JavaScript value
	// model: key order in both serializations; Maps, BigInts, Dates, typed
	// arrays, holes and cycles with advanced serialization.
	"echo": func(ctx context.Context, req *pool.Request) (any, error) {
		var v any
		err := req.Params(&v)
		return v, err
	},
	// fail(message, code) throws a TypeError with a code property.
	"fail": func(ctx context.Context, req *pool.Request) (any, error) {
		var msg, code string
		if err := req.Params(&msg, &code); err != nil {
			return nil, err
		}
		data := &jsvalue.Object{}
		data.Set("code", code)
		return nil, &pool.CallError{Name: "TypeError", Message: msg, Data: data}
	},
	// failPlain(message) returns a plain Go error.
	"failPlain": func(ctx context.Context, req *pool.Request) (any, error) {
		var msg string
		if err := req.Params(&msg); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%s", msg)
	},
	// progress(n) emits {step: i} for i < n, then returns "done".
	"progress": func(ctx context.Context, req *pool.Request) (any, error) {
		var n int
		if err := req.Params(&n); err != nil {
			return nil, err
		}
		for i := 0; i < n; i++ {
			if err := req.Emit(ctx, map[string]int{"step": i}); err != nil {
				return nil, err
			}
		}
		return "done", nil
	},
	// block emits {blocked: true}, then waits until the call is cancelled
	// and counts it.
	"block": func(ctx context.Context, req *pool.Request) (any, error) {
		if err := req.Emit(ctx, map[string]bool{"blocked": true}); err != nil {
			return nil, err
		}
		<-ctx.Done()
		cancelled.Add(1)
		return nil, ctx.Err()
	},
	// cancelled returns how many block calls were cancelled so far.
	"cancelled": func(ctx context.Context, req *pool.Request) (any, error) {
		return cancelled.Load(), nil
	},
	// sleep(ms, v) returns v after ms milliseconds, unless cancelled.
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
	// crash(code) writes a line to stderr and exits with code.
	"crash": func(ctx context.Context, req *pool.Request) (any, error) {
		var code int
		if err := req.Params(&code); err != nil {
			return nil, err
		}
		fmt.Fprintln(os.Stderr, "goworker: crashing")
		os.Exit(code)
		return nil, nil
	},
	// pid returns the worker's process id.
	"pid": func(ctx context.Context, req *pool.Request) (any, error) {
		return os.Getpid(), nil
	},
}

func main() {
	ch, err := nodeipc.FromEnv(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "goworker:", err)
		os.Exit(1)
	}
	// serialization returns the channel's serialization, as Node names it.
	handlers["serialization"] = func(ctx context.Context, req *pool.Request) (any, error) {
		return ch.Serialization().String(), nil
	}
	err = pool.Serve(context.Background(), ch, handlers, nil)
	if cerr := ch.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "goworker:", err)
		os.Exit(1)
	}
}
