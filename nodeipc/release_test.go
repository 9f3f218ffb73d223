package nodeipc_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"nodeipc.dev/nodeipc"
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
			sent := make(chan error, 1)
			go func() {
				r := rand.New(rand.NewPCG(1, 2))
				for i := range n {
					if err := a.Send(ctx, releaseBody(i, r)); err != nil {
						sent <- err
						return
					}
				}
				sent <- a.Flush(ctx)
			}()
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
	if s := m.String(); !strings.Contains(s, "released") {
		t.Fatalf("String after Release = %q; want it to say the message was released", s)
	}
}
