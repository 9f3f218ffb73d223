package pool_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/jsvalue"
	"nodeipc.dev/nodeipc/pool"
)

// testHandlers are the methods of the Go test workers.
func testHandlers(state map[string]string) map[string]pool.Handler {
	return map[string]pool.Handler{
		"add": func(ctx context.Context, req *pool.Request) (any, error) {
			var a, b float64
			if err := req.Params(&a, &b); err != nil {
				return nil, err
			}
			return a + b, nil
		},
		"echo": func(ctx context.Context, req *pool.Request) (any, error) {
			var v any
			err := req.Params(&v)
			return v, err
		},
		"fail": func(ctx context.Context, req *pool.Request) (any, error) {
			var msg string
			req.Params(&msg)
			return nil, fmt.Errorf("wrapped: %w", &pool.CallError{
				Name: "TypeError", Message: msg,
				Data: codeData("E_BAD"),
			})
		},
		"plainfail": func(ctx context.Context, req *pool.Request) (any, error) {
			return nil, errors.New("plain failure")
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
		// wait blocks until cancelled and records that it was.
		"wait": func(ctx context.Context, req *pool.Request) (any, error) {
			var key string
			req.Params(&key)
			req.Emit(ctx, "started")
			<-ctx.Done()
			if state != nil {
				state[key] = "cancelled: " + ctx.Err().Error()
			}
			return nil, ctx.Err()
		},
		"state": func(ctx context.Context, req *pool.Request) (any, error) {
			var key string
			req.Params(&key)
			return state[key], nil
		},
		"default": func(ctx context.Context, req *pool.Request) (any, error) {
			return "default:" + fmt.Sprint(req.NumParams()), nil
		},
	}
}

// serveOnPipe runs Serve on one end of a Pipe and returns the other end,
// and a function that returns Serve's result.
func serveOnPipe(t *testing.T, opts *pool.ServeOptions, state map[string]string) (*nodeipc.Channel, func() error) {
	t.Helper()
	return serveHandlersOnPipe(t, opts, testHandlers(state))
}

// serveHandlersOnPipe is serveOnPipe with the given handlers.
func serveHandlersOnPipe(t *testing.T, opts *pool.ServeOptions, handlers map[string]pool.Handler) (*nodeipc.Channel, func() error) {
	t.Helper()
	parent, child, err := nodeipc.Pipe(nil)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		errc <- pool.Serve(context.Background(), child, handlers, opts)
		child.Close()
	}()
	wait := func() error {
		select {
		case err := <-errc:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return")
			return nil
		}
	}
	t.Cleanup(func() {
		parent.Close()
		select {
		case <-errc:
		default:
		}
	})
	return parent, wait
}

func send(t *testing.T, ch *nodeipc.Channel, raw string) {
	t.Helper()
	if err := ch.Send(context.Background(), json.RawMessage(raw)); err != nil {
		t.Fatalf("Send(%s) = %v", raw, err)
	}
}

func recv(t *testing.T, ch *nodeipc.Channel) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := ch.Recv(ctx)
	if err != nil {
		t.Fatalf("Recv() = %v", err)
	}
	return m.String()
}

func TestServeWorkerpool(t *testing.T) {
	state := map[string]string{}
	ch, wait := serveOnPipe(t, nil, state)
	if got := recv(t, ch); got != `"ready"` {
		t.Fatalf("first message = %s; want \"ready\"", got)
	}
	tests := []struct{ req, want string }{
		{`{"id":1,"method":"add","params":[2,3]}`, `{"id":1,"result":5,"error":null}`},
		{`{"id":2,"method":"echo","params":[{"a":[1,"x"]}]}`, `{"id":2,"result":{"a":[1,"x"]},"error":null}`},
		{`{"id":3,"method":"methods","params":[]}`, `{"id":3,"result":["add","default","echo","fail","plainfail","progress","state","wait"],"error":null}`},
		{`{"id":4,"method":"nope","params":[]}`, `{"id":4,"result":null,"error":{"name":"Error","message":"Unknown method \"nope\"","stack":"Error: Unknown method \"nope\"\n    at <go worker>"}}`},
		{`{"id":5,"method":"fail","params":["bad x"]}`, `{"id":5,"result":null,"error":{"name":"TypeError","message":"bad x","stack":"TypeError: bad x\n    at <go worker>","code":"E_BAD"}}`},
		{`{"id":6,"method":"plainfail"}`, `{"id":6,"result":null,"error":{"name":"Error","message":"plain failure","stack":"Error: plain failure\n    at <go worker>"}}`},
		{`{"id":"s7","method":"add","params":[1]}`, `{"id":"s7","result":1,"error":null}`},
	}
	for _, tt := range tests {
		send(t, ch, tt.req)
		if got := recv(t, ch); got != tt.want {
			t.Errorf("reply to %s =\n %s; want\n %s", tt.req, got, tt.want)
		}
	}
	// run (a JavaScript function) is refused with an error.
	send(t, ch, `{"id":8,"method":"run","params":["function(){}",[]]}`)
	if got := recv(t, ch); !strings.Contains(got, `"id":8`) || !strings.Contains(got, "cannot run JavaScript") {
		t.Errorf("reply to run = %s", got)
	}
	// Progress events precede the result, in order.
	send(t, ch, `{"id":9,"method":"progress","params":[3]}`)
	for i := range 3 {
		want := fmt.Sprintf(`{"id":9,"isEvent":true,"payload":{"step":%d}}`, i)
		if got := recv(t, ch); got != want {
			t.Errorf("event %d = %s; want %s", i, got, want)
		}
	}
	if got, want := recv(t, ch), `{"id":9,"result":"done","error":null}`; got != want {
		t.Errorf("result = %s; want %s", got, want)
	}
	// Cleanup cancels the call's context; the worker confirms once the
	// handler has returned and drops its result.
	send(t, ch, `{"id":10,"method":"wait","params":["k"]}`)
	if got, want := recv(t, ch), `{"id":10,"isEvent":true,"payload":"started"}`; got != want {
		t.Fatalf("event = %s; want %s", got, want)
	}
	send(t, ch, `{"id":10,"method":"__workerpool-cleanup__"}`)
	if got, want := recv(t, ch), `{"id":10,"method":"__workerpool-cleanup__","error":null}`; got != want {
		t.Fatalf("cleanup reply = %s; want %s", got, want)
	}
	send(t, ch, `{"id":11,"method":"state","params":["k"]}`)
	if got, want := recv(t, ch), `{"id":11,"result":"cancelled: context canceled","error":null}`; got != want {
		t.Errorf("state = %s; want %s", got, want)
	}
	// Cleanup of a call that already finished is confirmed at once.
	send(t, ch, `{"id":1,"method":"__workerpool-cleanup__"}`)
	if got, want := recv(t, ch), `{"id":1,"method":"__workerpool-cleanup__","error":null}`; got != want {
		t.Errorf("cleanup reply = %s; want %s", got, want)
	}
	send(t, ch, `"__workerpool-terminate__"`)
	if err := wait(); err != nil {
		t.Errorf("Serve() = %v; want nil after terminate", err)
	}
}

func TestServeJestWorker(t *testing.T) {
	ch, wait := serveOnPipe(t, nil, nil)
	recv(t, ch) // "ready", which jest-worker ignores
	send(t, ch, `[0,false,"/path/to/worker.js",[]]`)
	tests := []struct{ req, want string }{
		{`[1,false,"add",[20,22]]`, `[0,42]`},
		{`[1,false,"default",[1,2,3]]`, `[0,"default:3"]`},
		{`[1,false,"fail",["boom"]]`, `[1,"TypeError","boom","TypeError: boom\n    at <go worker>",{"code":"E_BAD"}]`},
		{`[1,false,"plainfail",[]]`, `[1,"Error","plain failure","Error: plain failure\n    at <go worker>",{}]`},
		{`[4]`, `[0,null]`},
	}
	for _, tt := range tests {
		send(t, ch, tt.req)
		if got := recv(t, ch); got != tt.want {
			t.Errorf("reply to %s = %s; want %s", tt.req, got, tt.want)
		}
	}
	send(t, ch, `[1,false,"progress",[2]]`)
	for _, want := range []string{`[3,{"step":0}]`, `[3,{"step":1}]`, `[0,"done"]`} {
		if got := recv(t, ch); got != want {
			t.Errorf("got %s; want %s", got, want)
		}
	}
	send(t, ch, `[3]`)
	if got := recv(t, ch); !strings.HasPrefix(got, "[4,") {
		t.Errorf("memory usage reply = %s", got)
	}
	send(t, ch, `[2,false]`)
	if err := wait(); err != nil {
		t.Errorf("Serve() = %v; want nil after END", err)
	}
}

func TestServeWorkerFarm(t *testing.T) {
	ch, wait := serveOnPipe(t, nil, nil)
	recv(t, ch) // "ready", which worker-farm ignores
	send(t, ch, `{"owner":"farm","module":"/path/to/child.js"}`)
	tests := []struct{ req, want string }{
		{`{"owner":"farm","idx":0,"child":1,"method":"add","args":[1,2]}`, `{"owner":"farm","idx":0,"child":1,"args":[null,3]}`},
		{`{"owner":"farm","idx":1,"child":1,"method":null,"args":["a"]}`, `{"owner":"farm","idx":1,"child":1,"args":[null,"default:1"]}`},
		{`{"owner":"farm","idx":2,"child":1,"method":"fail","args":["no"]}`, `{"owner":"farm","idx":2,"child":1,"args":[{"code":"E_BAD","$error":"$error","type":"TypeError","message":"no","stack":"TypeError: no\n    at <go worker>"}]}`},
		{`{"owner":"farm","idx":3,"child":1,"method":"progress","args":[1]}`, `{"owner":"farm","idx":3,"child":1,"args":[{"$error":"$error","type":"Error","message":"pool: worker-farm has no progress events: unsupported operation","stack":"Error: pool: worker-farm has no progress events: unsupported operation\n    at <go worker>"}]}`},
	}
	for _, tt := range tests {
		send(t, ch, tt.req)
		if got := recv(t, ch); got != tt.want {
			t.Errorf("reply to %s =\n %s; want\n %s", tt.req, got, tt.want)
		}
	}
	send(t, ch, `{"owner":"farm","event":"die"}`)
	if err := wait(); err != nil {
		t.Errorf("Serve() = %v; want nil after die", err)
	}
}

func TestServeExplicitDialectAndDisconnect(t *testing.T) {
	ch, wait := serveOnPipe(t, &pool.ServeOptions{Dialect: pool.DialectJestWorker}, nil)
	// No "ready" in an explicit jest-worker dialect: the first message is
	// the reply.
	send(t, ch, `[1,false,"add",[1,1]]`)
	if got := recv(t, ch); got != `[0,2]` {
		t.Errorf("reply = %s; want [0,2]", got)
	}
	// A call in progress is cancelled when the parent goes away, and Serve
	// returns nil: a Go worker exits with its channel.
	send(t, ch, `[1,false,"wait",["x"]]`)
	if got := recv(t, ch); got != `[3,"started"]` {
		t.Errorf("event = %s", got)
	}
	ch.Close()
	if err := wait(); err != nil {
		t.Errorf("Serve() = %v; want nil after disconnect", err)
	}
}

func TestServeContextAndBadDialect(t *testing.T) {
	_, child, err := nodeipc.Pipe(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer child.Close()
	if err := pool.Serve(context.Background(), child, nil, &pool.ServeOptions{Dialect: "cluster"}); err == nil {
		t.Error("Serve with an unknown dialect = nil; want an error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := pool.Serve(ctx, child, nil, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Serve(cancelled ctx) = %v; want context.Canceled", err)
	}
}

func TestServeConcurrencyLimit(t *testing.T) {
	ch, wait := serveOnPipe(t, &pool.ServeOptions{Concurrency: 1}, map[string]string{})
	recv(t, ch)
	// With one handler at a time, a second call waits behind a blocked one
	// and still runs after the first is cleaned up.
	send(t, ch, `{"id":1,"method":"wait","params":["a"]}`)
	if got := recv(t, ch); got != `{"id":1,"isEvent":true,"payload":"started"}` {
		t.Fatalf("got %s", got)
	}
	send(t, ch, `{"id":2,"method":"add","params":[1,2]}`)
	send(t, ch, `{"id":1,"method":"__workerpool-cleanup__"}`)
	got := []string{recv(t, ch), recv(t, ch)}
	want := []string{`{"id":1,"method":"__workerpool-cleanup__","error":null}`, `{"id":2,"result":3,"error":null}`}
	if strings.Join(got, " ") != strings.Join(want, " ") && strings.Join(got, " ") != want[1]+" "+want[0] {
		t.Errorf("got %v; want %v in some order", got, want)
	}
	send(t, ch, `"__workerpool-terminate__"`)
	if err := wait(); err != nil {
		t.Error(err)
	}
}

// meetHandlers has one method, meet(n): each call emits "arrived", waits
// until n calls are in progress at once (or its context ends), emits
// "leaving" and returns n.
func meetHandlers() map[string]pool.Handler {
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	return map[string]pool.Handler{
		"meet": func(ctx context.Context, req *pool.Request) (any, error) {
			var n int
			req.Params(&n)
			if err := req.Emit(ctx, "arrived"); err != nil {
				return nil, err
			}
			mu.Lock()
			arrived++
			if arrived == n {
				close(all)
				arrived, all = 0, make(chan struct{})
				mu.Unlock()
			} else {
				wait := all
				mu.Unlock()
				select {
				case <-wait:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			if err := req.Emit(ctx, "leaving"); err != nil {
				return nil, err
			}
			return n, nil
		},
	}
}

// TestServeBlockedCallsRunConcurrently sends calls that can only finish
// once all of them run at the same time: the first ones start on the
// receiving goroutine and block it, so this passes only if receiving moves
// on to other goroutines. The second round finds the method away (it
// blocked) and starts each call on a goroutine of its own. Every call's
// events come in order, before its result.
func TestServeBlockedCallsRunConcurrently(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ch, wait := serveHandlersOnPipe(t, nil, meetHandlers())
	recv(t, ch) // "ready"
	const n = 4
	for round := range 2 {
		for i := range n {
			send(t, ch, fmt.Sprintf(`{"id":%d,"method":"meet","params":[%d]}`, round*n+i, n))
		}
		got := map[float64][]string{}
		for range 3 * n {
			var msg struct {
				ID      float64         `json:"id"`
				IsEvent bool            `json:"isEvent"`
				Payload string          `json:"payload"`
				Result  json.RawMessage `json:"result"`
			}
			if err := json.Unmarshal([]byte(recv(t, ch)), &msg); err != nil {
				t.Fatal(err)
			}
			if msg.IsEvent {
				got[msg.ID] = append(got[msg.ID], msg.Payload)
			} else {
				got[msg.ID] = append(got[msg.ID], "result "+string(msg.Result))
			}
		}
		want := fmt.Sprintf("arrived leaving result %d", n)
		for i := range n {
			id := float64(round*n + i)
			if s := strings.Join(got[id], " "); s != want {
				t.Errorf("round %d: call %v sent %q; want %q", round, id, s, want)
			}
		}
	}
	send(t, ch, `"__workerpool-terminate__"`)
	if err := wait(); err != nil {
		t.Errorf("Serve() = %v; want nil", err)
	}
}

// TestServeEndCancelsBlockedCall ends serving (the parent disconnects)
// while a call blocks the goroutine that received it: Serve still sees
// the end, cancels the call and returns once it has.
func TestServeEndCancelsBlockedCall(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	returned := make(chan error, 1)
	ch, wait := serveHandlersOnPipe(t, nil, map[string]pool.Handler{
		"block": func(ctx context.Context, req *pool.Request) (any, error) {
			req.Emit(ctx, "blocking")
			<-ctx.Done()
			returned <- ctx.Err()
			return nil, ctx.Err()
		},
	})
	recv(t, ch) // "ready"
	send(t, ch, `{"id":1,"method":"block"}`)
	if got := recv(t, ch); got != `{"id":1,"isEvent":true,"payload":"blocking"}` {
		t.Fatalf("got %s", got)
	}
	ch.Close()
	if err := wait(); err != nil {
		t.Errorf("Serve() = %v; want nil after disconnect", err)
	}
	select {
	case err := <-returned:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("handler's ctx.Err() = %v; want context.Canceled", err)
		}
	default:
		t.Error("Serve returned before the blocked handler")
	}
}

func TestCallErrorJSON(t *testing.T) {
	var ce pool.CallError
	if err := json.Unmarshal([]byte(`{"name":"RangeError","message":"m","stack":"s","code":7}`), &ce); err != nil {
		t.Fatal(err)
	}
	if code, _ := ce.Data.Get("code"); ce.Name != "RangeError" || ce.Message != "m" || ce.Stack != "s" || code != 7.0 {
		t.Errorf("Unmarshal = %+v", ce)
	}
	if got := ce.Error(); got != "RangeError: m" {
		t.Errorf("Error() = %q", got)
	}
	b, err := json.Marshal(&ce)
	if err != nil || string(b) != `{"name":"RangeError","message":"m","stack":"s","code":7}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
	if err := json.Unmarshal([]byte(`"just text"`), &ce); err != nil || ce.Message != "just text" || ce.Name != "Error" {
		t.Errorf("Unmarshal(string) = %+v, %v", ce, err)
	}
}

func TestCallErrorNameFromStack(t *testing.T) {
	tests := []struct{ in, name string }{
		{`{"message":"boom","stack":"TypeError: boom\n    at x (a.js:1:1)"}`, "TypeError"},
		{`{"message":"","stack":"RangeError\n    at x"}`, "RangeError"},
		{`{"message":"boom","stack":"not an error line"}`, "Error"},
		{`{"message":"boom"}`, "Error"},
		{`{"name":"Custom","message":"boom","stack":"TypeError: boom"}`, "Custom"},
	}
	for _, tt := range tests {
		var ce pool.CallError
		if err := json.Unmarshal([]byte(tt.in), &ce); err != nil || ce.Name != tt.name {
			t.Errorf("Unmarshal(%s).Name = %q, %v; want %q", tt.in, ce.Name, err, tt.name)
		}
	}
}

// codeData is the Data of an error with a code property.
func codeData(code string) *jsvalue.Object {
	o := &jsvalue.Object{}
	o.Set("code", code)
	return o
}
