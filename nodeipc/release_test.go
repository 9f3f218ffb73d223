package nodeipc_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/jsvalue"
)

// releaseBody is the i-th message of the release tests: its index, then
// filler up to a size drawn from a mix of small, medium and large (over
// the 256 KiB from which a read buffer is handed over whole).
func releaseBody(i int, r *rand.Rand) string {
	var size int
	switch k := r.IntN(40); {
	case k < 24:
		size = 8 + r.IntN(120)
	case k < 39:
		size = 500 + r.IntN(8000)
	default:
		size = 260<<10 + r.IntN(300<<10)
	}
	head := fmt.Sprintf("%d:", i)
	return head + strings.Repeat(string(rune('a'+i%26)), max(0, size-len(head)))
}

// TestReleaseRecyclesWithoutMixingMessages sends messages of mixed sizes
// and releases all but every seventh on receipt. Released memory is reused
// for later messages, so a recycling mistake shows as a message whose
// bytes changed: every received message is checked when it arrives, and
// every kept one again at the end. The large messages fill reads, so the
// reader also switches to its stream buffer and back (keeping the bytes of
// the message in progress) while the test runs.
func TestReleaseRecyclesWithoutMixingMessages(t *testing.T) {
	for _, mode := range []nodeipc.Serialization{nodeipc.JSON, nodeipc.Advanced} {
		t.Run(mode.String(), func(t *testing.T) {
			a, b := pipe(t, &nodeipc.Options{Serialization: mode})
			ctx := testCtx(t)
			const n = 2000
			sr := rand.New(rand.NewPCG(1, 2))
			sent := sendAll(ctx, a, n, func(i int) (any, error) { return releaseBody(i, sr), nil })
			r := rand.New(rand.NewPCG(1, 2))
			type kept struct {
				m    *nodeipc.Message
				want string
			}
			var keep []kept
			for i := range n {
				want := releaseBody(i, r)
				m, err := b.Recv(ctx)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				var got string
				if err := m.Decode(&got); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if got != want {
					t.Fatalf("message %d: got %d bytes starting %.20q; want %d bytes starting %.20q", i, len(got), got, len(want), want)
				}
				if i%7 == 0 {
					keep = append(keep, kept{m, want})
				} else {
					m.Release()
				}
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
			for _, k := range keep {
				var got string
				if err := k.m.Decode(&got); err != nil {
					t.Fatal(err)
				}
				if got != k.want {
					t.Fatalf("a kept message changed: got %.20q (%d bytes); want %.20q (%d bytes)", got, len(got), k.want, len(k.want))
				}
			}
		})
	}
}

func TestReleasedMessageIsEmpty(t *testing.T) {
	a, b := pipe(t, nil)
	ctx := testCtx(t)
	if err := a.Send(ctx, map[string]int{"x": 1}); err != nil {
		t.Fatal(err)
	}
	m, err := b.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Raw()) != `{"x":1}` {
		t.Fatalf("Raw = %s", m.Raw())
	}
	m.Release()
	m.Release() // idempotent
	if m.Raw() != nil {
		t.Fatalf("Raw after Release = %q; want nil", m.Raw())
	}
	var v map[string]int
	if err := m.Decode(&v); err == nil {
		t.Fatalf("Decode after Release succeeded with %v; want an error", v)
	}
	if b, err := m.AppendJSON(nil); err == nil {
		t.Fatalf("AppendJSON after Release = %q; want an error", b)
	}
	if v, err := m.Value(); err == nil {
		t.Fatalf("Value after Release = %v; want an error", v)
	}
	if s := m.String(); !strings.Contains(s, "released") {
		t.Fatalf("String after Release = %q; want it to say the message was released", s)
	}
}

// sendAll sends n messages, the i-th made by msg(i), from a goroutine of
// its own, then flushes; the channel it returns gives the first error, or
// nil once all of them are written.
func sendAll(ctx context.Context, a *nodeipc.Channel, n int, msg func(i int) (any, error)) <-chan error {
	sent := make(chan error, 1)
	go func() {
		for i := range n {
			v, err := msg(i)
			if err == nil {
				err = a.Send(ctx, v)
			}
			if err != nil {
				sent <- err
				return
			}
		}
		sent <- a.Flush(ctx)
	}()
	return sent
}

// valueBody is the i-th message of TestValueUntilRelease: an object of
// one of a few shapes, its keys out of sorted order (integer-like ones
// among them), with strings and numbers that differ from message to
// message.
func valueBody(i int) string {
	switch i % 3 {
	case 0:
		return fmt.Sprintf(`{"z":%d,"b":"s%d","10":[%d,"t%d",{"y":%d.5,"x":"u%d"}],"2":{}}`, i, i, i, i, i, i)
	case 1:
		return fmt.Sprintf(`[{"q":"v%d","p":%d},[],"w%d"]`, i, i, i)
	}
	return fmt.Sprintf(`{"only":"%s"}`, strings.Repeat(string(rune('a'+i%26)), 1+i%300))
}

// TestValueUntilRelease receives messages with Value and releases all but
// every fifth at once, so later messages reuse the memory of the released
// ones: each value must read as the message was sent, key order included,
// when it arrives, and the kept ones (never released) again at the end.
func TestValueUntilRelease(t *testing.T) {
	for _, mode := range []nodeipc.Serialization{nodeipc.JSON, nodeipc.Advanced} {
		t.Run(mode.String(), func(t *testing.T) {
			a, b := pipe(t, &nodeipc.Options{Serialization: mode})
			ctx := testCtx(t)
			const n = 600
			sent := sendAll(ctx, a, n, func(i int) (any, error) { return jsvalue.ParseJSON([]byte(valueBody(i))) })
			check := func(i int, v any) {
				t.Helper()
				want, _ := jsvalue.AppendStringify(nil, jsvalueMust(t, valueBody(i)))
				got, err := jsvalue.AppendStringify(nil, v)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("message %d: Value gave %s (%v); want %s", i, got, err, want)
				}
			}
			type kept struct {
				i int
				v any
			}
			var keep []kept
			for i := range n {
				m, err := b.Recv(ctx)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				v, err := m.Value()
				if err != nil {
					t.Fatalf("message %d: Value: %v", i, err)
				}
				check(i, v)
				if again, _ := m.Value(); fmt.Sprintf("%p", again) != fmt.Sprintf("%p", v) {
					t.Fatalf("message %d: a second Value call decoded again", i)
				}
				if i%5 == 0 {
					keep = append(keep, kept{i, v})
				} else {
					m.Release()
				}
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
			for _, k := range keep {
				check(k.i, k.v)
			}
		})
	}
}

func jsvalueMust(t *testing.T, text string) any {
	t.Helper()
	v, err := jsvalue.ParseJSON([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
