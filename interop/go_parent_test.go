package interop_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"nodeipc.dev/internal/nodetest"
	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/jsvalue"
)

// startNode starts testdata/child.js in the given mode with a channel.
func startNode(t *testing.T, node string, opts *nodeipc.Options, args ...string) (*nodeipc.Channel, *exec.Cmd) {
	t.Helper()
	cmd := nodeipc.NodeCommand(node, nil, nodetest.JS("child.js"), args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	ch, err := nodeipc.Start(cmd, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ch.Close()
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return ch, cmd
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func wantExit(t *testing.T, cmd *exec.Cmd, code int) {
	t.Helper()
	err := cmd.Wait()
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if got != code {
		t.Fatalf("node child exited with %d; want %d", got, code)
	}
}

func TestGoParentNodeChild(t *testing.T) {
	nodetest.ForEach(t, func(t *testing.T, node string) {
		t.Run("order100k", func(t *testing.T) {
			ch, cmd := startNode(t, node, nil, "echo")
			ctx := ctxFor(t)
			const n = 100_000
			go func() {
				for i := range n {
					if ch.Send(ctx, map[string]any{"i": i, "s": fmt.Sprint("m", i)}) != nil {
						return
					}
				}
			}()
			for i := range n {
				m, err := ch.Recv(ctx)
				if err != nil {
					t.Fatalf("Recv #%d: %v", i, err)
				}
				var v struct {
					I int
					S string
				}
				if err := m.Decode(&v); err != nil || v.I != i || v.S != fmt.Sprint("m", i) {
					t.Fatalf("message #%d = %s (%v)", i, m.Raw(), err)
				}
			}
			if err := ch.Disconnect(ctx); err != nil {
				t.Fatal(err)
			}
			wantExit(t, cmd, 0)
		})

		t.Run("strings", func(t *testing.T) {
			ch, cmd := startNode(t, node, nil, "echo")
			ctx := ctxFor(t)
			values := []string{strings.Repeat("ß", 200_000), "line\u2028sep\u2029para", "€😀"}
			for _, v := range values {
				if err := ch.Send(ctx, v); err != nil {
					t.Fatal(err)
				}
			}
			// A lone surrogate, escaped as Node itself writes it, goes out raw
			// and must come back byte for byte (Node re-escapes it).
			lone := json.RawMessage(`["\ud800lone",{"k":"\udfff"}]`)
			if err := ch.Send(ctx, lone); err != nil {
				t.Fatal(err)
			}
			for _, want := range values {
				m, err := ch.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var got string
				if err := m.Decode(&got); err != nil || got != want {
					t.Fatalf("echo of %.20q... = %.20q... (%v)", want, got, err)
				}
			}
			m, err := ch.Recv(ctx)
			if err != nil || string(m.Raw()) != string(lone) {
				t.Fatalf("lone surrogates came back as %s (%v); want %s", m.Raw(), err, lone)
			}
			ch.Disconnect(ctx)
			wantExit(t, cmd, 0)
		})

		t.Run("big50MB", func(t *testing.T) {
			ch, cmd := startNode(t, node, nil, "echo")
			ctx := ctxFor(t)
			big := strings.Repeat("x", 25_000_000) + strings.Repeat("é", 12_500_000)
			if err := ch.Send(ctx, map[string]string{"big": big}); err != nil {
				t.Fatal(err)
			}
			m, err := ch.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var v struct{ Big string }
			if err := m.Decode(&v); err != nil || v.Big != big {
				t.Fatalf("50 MB echo: %d bytes back (%v)", len(v.Big), err)
			}
			ch.Disconnect(ctx)
			wantExit(t, cmd, 0)
		})

		t.Run("internalFiltered", func(t *testing.T) {
			ch, cmd := startNode(t, node, nil, "internal")
			ctx := ctxFor(t)
			var got []string
			for {
				m, err := ch.Recv(ctx)
				if errors.Is(err, nodeipc.ErrDisconnected) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(m.Raw()))
			}
			want := []string{`{"cmd":"NODE_"}`, `{"done":true}`}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("received %q; want %q", got, want)
			}
			wantExit(t, cmd, 0)
		})

		t.Run("childEnv", func(t *testing.T) {
			cmdEnv := append(os.Environ(), "NODE_UNIQUE_ID=3", "NODE_CHANNEL_FD=42")
			cmd := nodeipc.NodeCommand(node, nil, nodetest.JS("child.js"), "env")
			cmd.Env = cmdEnv
			cmd.Stderr = os.Stderr
			ch, err := nodeipc.Start(cmd, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer ch.Close()
			m, err := ch.Recv(ctxFor(t))
			if err != nil {
				t.Fatal(err)
			}
			// Node deletes both channel variables and sees fd 3; the
			// inherited NODE_UNIQUE_ID was dropped (it would make the child
			// a cluster worker).
			if want := `{"fd":null,"mode":null,"unique":null,"channelFd":3}`; string(m.Raw()) != want {
				t.Fatalf("child reported %s; want %s", m.Raw(), want)
			}
			wantExit(t, cmd, 0)
		})

		t.Run("childBurstThenExit", func(t *testing.T) {
			ch, cmd := startNode(t, node, nil, "burst", "50000")
			ctx := ctxFor(t)
			n := 0
			for {
				m, err := ch.Recv(ctx)
				if errors.Is(err, nodeipc.ErrDisconnected) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if string(m.Raw()) != fmt.Sprintf(`{"i":%d}`, n) {
					t.Fatalf("message #%d = %s", n, m.Raw())
				}
				n++
			}
			if n != 50000 {
				t.Fatalf("received %d messages before EOF; want 50000", n)
			}
			wantExit(t, cmd, 0)
		})

		t.Run("goDisconnects", func(t *testing.T) {
			ch, cmd := startNode(t, node, nil, "exit-on-disconnect")
			ctx := ctxFor(t)
			ch.Send(ctx, "ping")
			if m, err := ch.Recv(ctx); err != nil || string(m.Raw()) != `{"got":"ping"}` {
				t.Fatalf("Recv = %v, %v", m, err)
			}
			if err := ch.Disconnect(ctx); err != nil {
				t.Fatal(err)
			}
			wantExit(t, cmd, 42) // 42: the child saw 'disconnect'
		})

		t.Run("nodeDisconnects", func(t *testing.T) {
			ch, cmd := startNode(t, node, nil, "self-disconnect")
			ctx := ctxFor(t)
			ch.Send(ctx, 1)
			if m, err := ch.Recv(ctx); err != nil || string(m.Raw()) != `{"bye":1}` {
				t.Fatalf("Recv = %v, %v", m, err)
			}
			if _, err := ch.Recv(ctx); !errors.Is(err, nodeipc.ErrDisconnected) {
				t.Fatalf("Recv = %v; want ErrDisconnected", err)
			}
			if err := ch.Send(ctx, "late"); !errors.Is(err, nodeipc.ErrDisconnected) {
				t.Fatalf("Send after the peer left = %v; want ErrDisconnected", err)
			}
			wantExit(t, cmd, 0)
		})
	})
}

// A Go parent in advanced mode: Go values -> Node child -> back, checked
// through the JSON view against text written by hand.
func TestGoParentNodeChildAdvanced(t *testing.T) {
	nodetest.ForEach(t, func(t *testing.T, node string) {
		ch, cmd := startNode(t, node, &nodeipc.Options{Serialization: nodeipc.Advanced}, "echo")
		ctx := ctxFor(t)
		date := time.Date(2026, 11, 27, 10, 0, 0, 5e6, time.UTC)
		tests := []struct {
			v    any
			want string
		}{
			{map[string]any{"n": math.NaN(), "neg": math.Copysign(0, -1), "u": jsvalue.Undefined{}},
				`{"n":{"$js":"number","value":"NaN"},"neg":{"$js":"number","value":"-0"},"u":{"$js":"undefined"}}`},
			{map[string]any{"big": new(big.Int).Lsh(big.NewInt(1), 100)},
				`{"big":{"$js":"bigint","value":"1267650600228229401496703205376"}}`},
			{map[string]any{"d": date}, `{"d":{"$js":"Date","ms":1795773600005,"iso":"2026-11-27T10:00:00.005Z"}}`},
			{&jsvalue.Map{Entries: []jsvalue.MapEntry{{Key: 1, Value: "a"}, {Key: "k", Value: &jsvalue.Set{Values: []any{true}}}}},
				`{"$js":"Map","entries":[[1,"a"],["k",{"$js":"Set","values":[true]}]]}`},
			{[]any{[]byte("hi"), jsvalue.Uint8Array{1}, []float64{1.5}, []int64{-1}},
				`[{"$js":"Buffer","base64":"aGk="},{"$js":"Uint8Array","base64":"AQ=="},{"$js":"Float64Array","data":[1.5]},{"$js":"BigInt64Array","data":["-1"]}]`},
			{&jsvalue.Error{Name: "RangeError", Message: "too far", Stack: "RangeError: too far\n    at go"},
				`{"$js":"Error","name":"RangeError","message":"too far","stack":"RangeError: too far\n    at go"}`},
			{jsvalue.RegExp{Source: "a+b", Flags: "gi"}, `{"$js":"RegExp","source":"a+b","flags":"gi"}`},
			{"lone \xed\xa0\x80 surrogate", `"lone \ud800 surrogate"`},
		}
		for _, tt := range tests {
			if err := ch.Send(ctx, tt.v); err != nil {
				t.Fatalf("Send(%#v) = %v", tt.v, err)
			}
		}
		for _, tt := range tests {
			m, err := ch.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.AppendJSON(nil)
			if err != nil || string(got) != tt.want {
				t.Errorf("echo of %#v:\n got %s (%v)\nwant %s", tt.v, got, err, tt.want)
			}
		}
		ch.Disconnect(ctx)
		wantExit(t, cmd, 0)
	})
}
