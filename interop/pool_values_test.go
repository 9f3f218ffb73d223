package interop_test

import (
	"context"
	"errors"
	"math/big"
	"os/exec"
	"testing"
	"time"

	"nodeipc.dev/internal/nodetest"
	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/jsvalue"
	"nodeipc.dev/nodeipc/pool"
)

// advancedValue is a value JSON cannot carry: a Map with BigInt keys,
// objects in a key order of their own (in the Map, in arrays), a Date, a
// Set, typed arrays, a BigInt, undefined, a hole, and a cycle.
func advancedValue() any {
	obj := func(kv ...any) *jsvalue.Object {
		o := &jsvalue.Object{}
		for i := 0; i+1 < len(kv); i += 2 {
			o.Set(kv[i].(string), kv[i+1])
		}
		return o
	}
	m := &jsvalue.Map{}
	m.Set(new(big.Int).Lsh(big.NewInt(1), 70), obj("b", 1.0, "a", []any{obj("y", 1.0, "x", 2.0)}))
	m.Set(big.NewInt(-5), time.UnixMilli(1700000000123).UTC())
	m.Set(obj("k", 2.0, "j", 1.0), &jsvalue.Set{Values: []any{"s", 3.0}})
	self := obj("z", 1.0, "10", []int32{-1, 7}, "2", jsvalue.Buffer("hi"))
	self.Set("self", self)
	return obj("m", m, "cycle", self, "big", big.NewInt(7), "u", jsvalue.Undefined{}, "holes", []any{1.0, jsvalue.Hole{}, 3.0})
}

// TestPoolAdvancedValues runs calls with advanced serialization on a Go
// worker (Serve) and on a Node worker (@nodeipc/node): parameters,
// results, event payloads and error properties arrive as the JavaScript
// values they were, key order and cycles included.
func TestPoolAdvancedValues(t *testing.T) {
	nodetest.ForEach(t, func(t *testing.T, node string) {
		for _, kind := range []string{"go", "node"} {
			t.Run(kind, func(t *testing.T) {
				p, err := pool.New(pool.Options{
					Size:    1,
					Channel: &nodeipc.Options{Serialization: nodeipc.Advanced},
					Command: func(int) *exec.Cmd {
						if kind == "node" {
							return nodeipc.NodeCommand(node, nil, nodetest.JS("pool/node-worker.js"))
						}
						return goWorkerCmd("")
					},
				})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				sent := advancedValue()
				want, err := jsvalue.AppendJSON(nil, sent)
				if err != nil {
					t.Fatal(err)
				}
				same := func(what string, v any) {
					t.Helper()
					got, err := jsvalue.AppendJSON(nil, v)
					if err != nil || string(got) != string(want) {
						t.Errorf("%s:\n got  %s (%v)\n want %s", what, got, err, want)
					}
				}

				var result any
				if err := p.Do(ctx, &pool.Call{Method: "echo", Params: []any{sent}, Result: &result}); err != nil {
					t.Fatal(err)
				}
				same("echo result", result)
				o, _ := result.(*jsvalue.Object)
				m, _ := o.Get("m")
				if mm, ok := m.(*jsvalue.Map); !ok || mm.Len() != 3 {
					t.Fatalf("the Map came back as %T", m)
				} else if _, ok := mm.Entries[0].Key.(*big.Int); !ok {
					t.Errorf("the Map's first key came back as %T; want *big.Int", mm.Entries[0].Key)
				}
				c, _ := o.Get("cycle")
				if self, _ := c.(*jsvalue.Object).Get("self"); self != c {
					t.Errorf("the cycle came back broken")
				}

				var events []any
				err = p.Do(ctx, &pool.Call{Method: "progressWith", Params: []any{sent}, Progress: func(e pool.Event) {
					var v any
					if err := e.Decode(&v); err != nil {
						t.Error(err)
					}
					events = append(events, v)
				}})
				if err != nil || len(events) != 1 {
					t.Fatalf("progressWith: %v, %d events", err, len(events))
				}
				same("event payload", events[0])

				err = p.Do(ctx, &pool.Call{Method: "failWith", Params: []any{big.NewInt(42), sent}})
				var ce *pool.CallError
				if !errors.As(err, &ce) || ce.Name != "RangeError" {
					t.Fatalf("failWith = %v; want a RangeError CallError", err)
				}
				if code, _ := ce.Data.Get("code"); code == nil || code.(*big.Int).Cmp(big.NewInt(42)) != 0 {
					t.Errorf("error code = %#v; want 42n", code)
				}
				details, _ := ce.Data.Get("details")
				same("error details", details)
			})
		}
	})
}
